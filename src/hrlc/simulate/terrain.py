"""The landscape layout and its relief: mountains, plains, rivers, lakes and towns.

A tile is a miniature of one landscape whatever its size: the macro layout (mountain
side, river courses, towns, relief wavelengths) is laid out in units of the tile side
``M`` pixels, and relief amplitudes scale with ``M`` so that slopes keep the same
distribution at every size (a 256 px tile has the slopes of a 10980 px one). Fields,
buildings, river widths and texture keep their physical size.

Everything is evaluated per window from global pixel coordinates (see
:mod:`hrlc.simulate.noise`), so any chunk can be generated on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrlc.simulate.noise import derive_seed, fbm, octaves_for

PIXEL_SIZE = 10.0  # metres
FULL_TILE = 10980  # pixels: a full Sentinel-2 tile at 10 m
MOUNTAIN_RELIEF = 2000.0  # metres of relief of a full-tile mountain range


@dataclass(frozen=True)
class Meander:
    """A river centre line ``across = base + sum(amp * sin(2 pi freq along + phase))``.

    Positions are in units of the tile side (0-1); ``transpose`` makes the river run
    north-south (``along`` = rows) instead of west-east (``along`` = columns).
    """

    base: float
    amplitudes: tuple[float, ...]
    frequencies: tuple[float, ...]
    phases: tuple[float, ...]
    transpose: bool = False

    def centre(self, along: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Across position of the centre line and its derivative d(across)/d(along)."""
        across = np.full_like(along, self.base)
        slope = np.zeros_like(along)
        for a, f, p in zip(self.amplitudes, self.frequencies, self.phases):
            angle = 2 * np.pi * f * along + p
            across = across + a * np.sin(angle)
            slope = slope + a * 2 * np.pi * f * np.cos(angle)
        return across, slope

    def distance(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Approximate distance to the line of the grid points ``u`` (cols, a row vector
        (1, ncols)) x ``v`` (rows, a column vector (nrows, 1)), in tile units."""
        along, across = (v, u) if self.transpose else (u, v)
        centre, slope = self.centre(along)
        return np.abs(across - centre) / np.sqrt(1.0 + slope * slope)


@dataclass(frozen=True)
class Landscape:
    """Layout of the simulated landscape, drawn once from the seed.

    Attributes
    ----------
    size : int
        Tile side in 10 m pixels.
    seed : int
        Seed of every random field of the landscape.
    mountain_direction : (float, float)
        Unit vector (d_col, d_row) pointing towards the mountain side of the tile.
    river, tributary : Meander
        The main river (west to east) and a tributary (north to south into it).
    towns : tuple of (row, col, radius)
        Town and village centres and radii, in pixels.
    """

    size: int
    seed: int
    mountain_direction: tuple[float, float]
    river: Meander
    tributary: Meander
    towns: tuple[tuple[float, float, float], ...]

    @property
    def macro(self) -> float:
        """Length in pixels that macro features are laid out on (the tile side)."""
        return float(max(self.size, 128))

    @property
    def relief_scale(self) -> float:
        """Factor on relief amplitudes (1 for a full tile), which keeps slopes size-free."""
        return self.macro / FULL_TILE

    @classmethod
    def create(cls, *, size: int, seed: int) -> Landscape:
        """Draw a landscape layout for a tile of ``size`` pixels from ``seed``."""
        rng = np.random.default_rng(derive_seed(seed, "landscape"))
        angle = rng.uniform(0, 2 * np.pi)
        river = Meander(
            base=rng.uniform(0.4, 0.6),
            amplitudes=(rng.uniform(0.04, 0.08), rng.uniform(0.015, 0.03), 0.008),
            frequencies=(rng.uniform(0.8, 1.4), rng.uniform(2.5, 3.5), rng.uniform(6, 8)),
            phases=tuple(rng.uniform(0, 2 * np.pi, 3)),
        )
        tributary = Meander(
            base=rng.uniform(0.2, 0.35),
            amplitudes=(rng.uniform(0.03, 0.06), 0.012),
            frequencies=(rng.uniform(1.0, 1.8), rng.uniform(4, 6)),
            phases=tuple(rng.uniform(0, 2 * np.pi, 2)),
            transpose=True,
        )
        macro = float(max(size, 128))
        town_u = rng.uniform(0.5, 0.75)
        town_v = float(river.centre(np.array([town_u]))[0][0])
        towns = [(town_v * macro, town_u * macro, max(0.05 * macro, 16.0))]
        direction = (float(np.cos(angle)), float(np.sin(angle)))
        while len(towns) < 4:  # villages on the plain side, away from the town
            u, v = rng.uniform(0.08, 0.92, 2)
            plain = (u - 0.5) * direction[0] + (v - 0.5) * direction[1] < 0.0
            far = all(np.hypot(v * macro - r, u * macro - c) > 3 * rad for r, c, rad in towns)
            if plain and far or rng.uniform() < 0.02:
                towns.append((v * macro, u * macro, max(0.016 * macro, 7.0)))
        return cls(size=size, seed=seed, mountain_direction=direction, river=river,
                   tributary=tributary, towns=tuple(towns))


def _coords(window: tuple[int, int, int, int], macro: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres in tile units: u as a row vector (1, ncols), v as a column (nrows, 1)."""
    row0, col0, nrows, ncols = window
    v = (row0 + np.arange(nrows, dtype=np.float64) + 0.5)[:, None] / macro
    u = (col0 + np.arange(ncols, dtype=np.float64) + 0.5)[None, :] / macro
    return u, v


@dataclass(frozen=True)
class Terrain:
    """Terrain fields of one window (all arrays (rows, cols)).

    Attributes
    ----------
    dem : float64, metres above sea level
    base : float64, metres: the elevation of the plain beneath (rivers flow on it)
    mountain : float32, 0-1: how much of a mountain range the pixel is in
    river_distance : float64, pixels to the nearest river centre line
    river_halfwidth : float64, pixels: half the river width there
    lake : bool
    relief_scale : float, the landscape's factor on relief amplitudes
    """

    dem: np.ndarray
    base: np.ndarray
    mountain: np.ndarray
    river_distance: np.ndarray
    river_halfwidth: np.ndarray
    lake: np.ndarray
    relief_scale: float

    @property
    def water(self) -> np.ndarray:
        """Open water: rivers and lakes."""
        return (self.river_distance <= self.river_halfwidth) | self.lake

    @property
    def relative_height(self) -> np.ndarray:
        """Height above the plain as a fraction of a mountain range's relief (about 0-1)."""
        return (self.dem - self.base) / (MOUNTAIN_RELIEF * self.relief_scale)


def terrain(landscape: Landscape, window: tuple[int, int, int, int]) -> Terrain:
    """Evaluate the relief, rivers and lakes of ``landscape`` on ``window``.

    The DEM is the plain (a gentle slope down the main river, west to east) plus a
    mountain range on one side (ridged multifractal relief), low hills on the plain,
    river valleys carved into both (flat flood plains) and flat lakes on the plain.
    """
    macro, k, seed = landscape.macro, landscape.relief_scale, landscape.seed
    u, v = _coords(window, macro)
    du, dv = landscape.mountain_direction
    side = (u - 0.5) * du + (v - 0.5) * dv
    wobble = fbm(window, wavelength=0.5 * macro, seed=derive_seed(seed, "mountain"), octaves=3)
    mountain = _smoothstep(-0.05, 0.3, 0.9 * side + 0.5 * wobble).astype(np.float32)

    base = 150.0 + 200.0 * k * (1.0 - u) + 60.0 * k * fbm(
        window, wavelength=0.7 * macro, seed=derive_seed(seed, "base"), octaves=2)
    ridge_wavelength = 0.05 * macro
    ridges = fbm(window, wavelength=ridge_wavelength, seed=derive_seed(seed, "ridges"),
                 octaves=octaves_for(ridge_wavelength, 4.0), gain=0.47, ridged=True)
    hill_wavelength = 0.08 * macro
    hills = fbm(window, wavelength=hill_wavelength, seed=derive_seed(seed, "hills"),
                octaves=octaves_for(hill_wavelength, 4.0), gain=0.5)
    relief = MOUNTAIN_RELIEF * k * mountain * (0.25 + 0.75 * (ridges + 1.0) / 2.0)
    dem = base + relief + 45.0 * k * (1.0 - 0.6 * mountain) * (hills + 0.5)

    main = landscape.river.distance(u, v) * macro
    trib = landscape.tributary.distance(u, v) * macro
    # the tributary ends where it meets the main river (north of it only)
    trib_centre_u, _ = landscape.tributary.centre(v)
    main_at_trib, _ = landscape.river.centre(trib_centre_u)
    trib = np.where(v <= main_at_trib, trib, np.inf)
    river_distance = np.minimum(main, trib)
    halfwidth = np.where(main <= trib, 1.2 + 2.5 * np.clip(u, 0, 1), 1.0)

    floodplain = 0.012 * macro + 8.0
    valley = 0.07 * macro
    carve = _smoothstep(floodplain, floodplain + valley, river_distance)
    river_level = base - 3.0 * k
    dem = river_level + (dem - river_level) * (0.01 + 0.99 * carve)

    lake_field = fbm(window, wavelength=0.09 * macro, seed=derive_seed(seed, "lakes"),
                     octaves=3)
    lake = (lake_field > 0.38) & (mountain < 0.05) & (river_distance > floodplain)
    dem = np.where(lake, base - 2.0 * k, dem)
    return Terrain(dem=dem, base=base, mountain=mountain, river_distance=river_distance,
                   river_halfwidth=halfwidth, lake=lake, relief_scale=k)


def surface_normal(dem_with_halo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit surface normal (east, north, up) from a DEM with a one-pixel halo.

    Central differences over 2 pixels (the interior of :func:`numpy.gradient`), so a
    stage computing slopes from the simulated ``dem`` finds the same values.

    Returns
    -------
    east, north, up : ndarray (rows - 2, cols - 2)
    """
    dz_dcol = (dem_with_halo[1:-1, 2:] - dem_with_halo[1:-1, :-2]) / (2 * PIXEL_SIZE)
    dz_drow = (dem_with_halo[2:, 1:-1] - dem_with_halo[:-2, 1:-1]) / (2 * PIXEL_SIZE)
    # rows run south, so d/d(north) = -d/d(row)
    east, north = -dz_dcol, dz_drow
    norm = np.sqrt(east * east + north * north + 1.0)
    return east / norm, north / norm, 1.0 / norm


def cos_incidence(normal: tuple[np.ndarray, np.ndarray, np.ndarray], *, sun_zenith: float,
                  sun_azimuth: float) -> np.ndarray:
    """Cosine of the solar incidence angle on the terrain, ``cos(i)``.

    ``cos(i) = cos(sz) cos(slope) + sin(sz) sin(slope) cos(sa - aspect)``, written as the dot
    product of the surface normal and the unit vector towards the sun.

    Parameters
    ----------
    normal : (east, north, up) arrays from :func:`surface_normal`
    sun_zenith, sun_azimuth : float
        Degrees; azimuth clockwise from north.
    """
    zen, azi = np.radians(sun_zenith), np.radians(sun_azimuth)
    east, north, up = normal
    return (east * np.sin(zen) * np.sin(azi) + north * np.sin(zen) * np.cos(azi)
            + up * np.cos(zen))


def _smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)
