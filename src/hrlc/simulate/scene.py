"""Rendering one window of one acquisition: every layer of the simulation at once.

The window is first widened to whole 60 m cells (so that 20 m and 60 m bands can be
averaged over their native pixels whatever the chunking) and by one pixel of DEM halo
(for slopes); then, per pixel:

1. terrain, land cover and the cloud-free surface reflectance of the day;
2. illumination: ``E = d + (1 - d) * max(cos i, 0) / cos(sun_zenith) * (1 - shadow)``
   per band, with ``d`` the diffuse fraction (:data:`~hrlc.simulate.spectra.DIFFUSE_FRACTION`);
   with ``cast_shadows`` the direct term is 0 where terrain hides the sun (ray-marched
   over the DEM by :func:`hrlc.restore.shadow.cast_shadow_array`, on a window widened by
   the longest shadow, so chunks agree); clear-sky reflectance is ``rho * E`` without
   cloud shadow, and the flat-illumination truth ``rho`` itself (``E = 1``);
3. clouds over it: ``(1 - a) * rho E + a * cloud``, then cirrus likewise;
4. each band averaged over its native pixel (10, 20 or 60 m), sensor noise added per
   native pixel, quantised to DN like Sen2Cor (``round(rho * 10000) - BOA_ADD_OFFSET``,
   DN 1-65534) and back to reflectance, so that the products read back exactly;
5. truth mask (10 m) and Sen2Cor-like SCL (20 m); no data outside the swath.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from hrlc.io.bands import L2A_BANDS, NATIVE_RESOLUTION
from hrlc.masks.scl import CLEAR, NODATA, SHADOW, THICK_CLOUD, THIN_CLOUD
from hrlc.simulate import atmosphere, spectra
from hrlc.simulate.acquisitions import Acquisition
from hrlc.simulate.landcover import Surface, classify
from hrlc.simulate.noise import derive_seed, fbm, hash_gaussian
from hrlc.simulate.sen2cor import SclErrors, sen2cor_scl
from hrlc.simulate.terrain import (PIXEL_SIZE, Landscape, Terrain, cos_incidence,
                                   surface_normal, terrain)

#: Top-of-cloud reflectance of an opaque low cloud, per band (ice and water absorb in SWIR).
CLOUD_SPECTRUM = np.array(
    [.50, .49, .49, .49, .49, .49, .48, .48, .48, .40, .34, .22], dtype=np.float32)
#: Reflectance of an opaque cirrus layer (never reached: cirrus opacity is at most 0.3).
CIRRUS_SPECTRUM = np.array(
    [.36, .35, .35, .35, .35, .35, .35, .35, .35, .31, .26, .18], dtype=np.float32)
#: Sensor noise relative to ``noise_std`` per native resolution (coarser pixels average).
NOISE_FACTOR = {10: 1.0, 20: 0.7, 60: 0.5}
QUANTIFICATION = 10000.0
ALIGN = 6  # 60 m cells, in 10 m pixels
_BANDS_BY_FACTOR = {f: [b for b, band in enumerate(L2A_BANDS) if NATIVE_RESOLUTION[band] == 10 * f]
                    for f in (1, 2, 6)}
_RED, _NIR = L2A_BANDS.index("B04"), L2A_BANDS.index("B08")


@dataclass(frozen=True)
class SceneContext:
    """Everything a window render needs (small and picklable; one per series)."""

    landscape: Landscape
    acquisitions: tuple[Acquisition, ...]
    skies: tuple[atmosphere.Sky, ...]
    noise_std: float
    thick_cloud_opacity: float
    thin_cloud_opacity: float
    shadow_threshold: float
    scl_errors: SclErrors
    cast_shadows: bool = False
    shadow_reach: float = 0.0  # metres: the longest terrain shadow (cast_shadows only)

    @property
    def size(self) -> int:
        return self.landscape.size

    @property
    def seed(self) -> int:
        return self.landscape.seed


def _aligned(window: tuple[int, int, int, int], size: int) -> tuple[int, int, int, int]:
    row0, col0, nrows, ncols = window
    r0, c0 = row0 - row0 % ALIGN, col0 - col0 % ALIGN
    r1 = min(-(-(row0 + nrows) // ALIGN) * ALIGN, size)
    c1 = min(-(-(col0 + ncols) // ALIGN) * ALIGN, size)
    return r0, c0, r1 - r0, c1 - c0


@dataclass(frozen=True)
class Ground:
    """What does not change between acquisitions, on a window aligned on 60 m cells.

    Attributes
    ----------
    window : (row0, col0, nrows, ncols), the aligned window
    dem : float32 (rows, cols), metres
    normal : (east, north, up) float32 arrays, unit surface normal
    surface : Surface, land cover
    texture, vigour : float32 (rows, cols), fine-scale brightness and canopy noise (-1 to 1)
    horizon : float64 (rows + 2 h, cols + 2 h) or None
        With cast shadows: the DEM on the window widened by ``h`` pixels on every side,
        ``h`` the longest shadow (:attr:`horizon_halo`).
    """

    window: tuple[int, int, int, int]
    dem: np.ndarray
    normal: tuple[np.ndarray, np.ndarray, np.ndarray]
    surface: Surface
    texture: np.ndarray
    vigour: np.ndarray
    horizon: np.ndarray | None = None

    @property
    def horizon_halo(self) -> int:
        """Pixels of the ``horizon`` DEM beyond the window on each side (0 without)."""
        return 0 if self.horizon is None else (self.horizon.shape[0] - self.window[2]) // 2

    def crop(self, array: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
        """The part of a (..., rows, cols) array of this ground that covers ``window``."""
        r, c = window[0] - self.window[0], window[1] - self.window[1]
        return np.ascontiguousarray(array[..., r: r + window[2], c: c + window[3]])


def ground(ctx: SceneContext, window: tuple[int, int, int, int]) -> Ground:
    """Terrain, land cover and texture of the 60 m-aligned window around ``window``."""
    ext = _aligned(window, ctx.size)
    row0, col0, nrows, ncols = ext
    h = int(np.ceil(ctx.shadow_reach / PIXEL_SIZE)) + 1 if ctx.cast_shadows else 1
    wide = terrain(ctx.landscape, (row0 - h, col0 - h, nrows + 2 * h, ncols + 2 * h))
    cut = h - 1  # the one-pixel slope halo within the widened window
    halo = wide if cut == 0 else Terrain(**{
        name: getattr(wide, name)[cut:-cut, cut:-cut]
        if isinstance(getattr(wide, name), np.ndarray) else getattr(wide, name)
        for name in Terrain.__dataclass_fields__})
    inner = Terrain(**{
        name: getattr(halo, name)[1:-1, 1:-1] if isinstance(getattr(halo, name), np.ndarray)
        else getattr(halo, name) for name in Terrain.__dataclass_fields__})
    normal = surface_normal(halo.dem)
    slope = np.degrees(np.arccos(np.clip(normal[2], -1, 1)))
    seed = ctx.seed
    vigour = fbm(ext, wavelength=6.0, seed=derive_seed(seed, "vigour"), octaves=2) / 0.3
    return Ground(
        window=ext, dem=inner.dem.astype(np.float32),
        normal=tuple(n.astype(np.float32) for n in normal),
        surface=classify(ctx.landscape, ext, inner, slope),
        texture=fbm(ext, wavelength=3.0, seed=derive_seed(seed, "texture"), octaves=2),
        vigour=np.clip(vigour, -1, 1), horizon=wide.dem if ctx.cast_shadows else None)


def static_layers(land: Ground, window: tuple[int, int, int, int]) -> dict[str, np.ndarray]:
    """Land cover (uint8 codes) and DEM (float32 metres) of ``window``."""
    return {"landcover": land.crop(land.surface.code, window), "dem": land.crop(land.dem, window)}


def render_static(ctx: SceneContext, window: tuple[int, int, int, int]) -> dict[str, np.ndarray]:
    """Land cover and DEM of a window (see :func:`static_layers`)."""
    return static_layers(ground(ctx, window), window)


def render(ctx: SceneContext, index: int, window: tuple[int, int, int, int],
           land: Ground | None = None) -> dict[str, np.ndarray]:
    """All layers of acquisition ``index`` on ``window`` (row0, col0, nrows, ncols).

    ``land`` is the window's :class:`Ground` if already made (shared between dates).

    Returns
    -------
    dict of ndarray
        ``reflectance``, ``clear_reflectance`` and ``flat_reflectance`` (1, 12, rows,
        cols) float32, ``scl`` and ``cloud_mask`` (1, rows, cols) uint8.
    """
    acq, sky, seed = ctx.acquisitions[index], ctx.skies[index], ctx.seed
    land = land if land is not None else ground(ctx, window)
    ext = land.window
    rho = spectra.surface_reflectance(land.surface, land.texture, land.vigour,
                                      day_of_year=acq.day_of_year)

    cos_i = cos_incidence(land.normal, sun_zenith=acq.sun_zenith, sun_azimuth=acq.sun_azimuth)
    direct = (np.maximum(cos_i, 0.0) / np.cos(np.radians(acq.sun_zenith))).astype(np.float32)
    if land.horizon is not None:
        direct[_terrain_cast_shadow(ctx, acq, land)] = 0.0
    macro = ctx.landscape.macro
    cloud = atmosphere.cloud_opacity(sky, ext, seed=seed, index=index, macro=macro)
    shadow = atmosphere.cloud_opacity(sky, ext, seed=seed, index=index, macro=macro,
                                      shift=sky.shadow_shift)
    cirrus = atmosphere.cirrus_opacity(sky, ext, seed=seed, index=index, macro=macro)
    cloud_texture = np.ones_like(cloud)
    if cloud.any():
        cloud_texture += 0.1 * fbm(ext, wavelength=12.0, seed=derive_seed(seed, "tops", index),
                                   octaves=3)
    clear, observed = _compose(rho, direct, shadow, cloud, cirrus, cloud_texture,
                               spectra.DIFFUSE_FRACTION, CLOUD_SPECTRUM, CIRRUS_SPECTRUM)
    flat = rho  # the flat-illumination truth: E = 1
    low = 1.0 if acq.boa_add_offset == 0 else 1.0 + acq.boa_add_offset
    noise_seed = derive_seed(seed, "sensor", index)
    for factor, bands in _BANDS_BY_FACTOR.items():
        noise = np.stack([_native_noise(ext, factor, ctx.noise_std * NOISE_FACTOR[factor * 10],
                                        derive_seed(noise_seed, b)) for b in bands])
        for layer in (clear, observed, flat):
            layer[bands] = _quantise(_native_mean(layer[bands], factor) + noise, low)

    nodata = atmosphere.swath_nodata(sky, ext)
    observed[:, nodata] = np.nan
    truth = np.full(nodata.shape, CLEAR, np.uint8)
    truth[shadow >= ctx.shadow_threshold] = SHADOW
    haze = 1.0 - (1.0 - cloud) * (1.0 - cirrus)
    truth[haze >= ctx.thin_cloud_opacity] = THIN_CLOUD
    truth[cloud >= ctx.thick_cloud_opacity] = THICK_CLOUD
    truth[nodata] = NODATA

    cells = np.s_[::2, ::2]  # top-left 10 m pixel of each 20 m pixel (ext is aligned)
    scl = sen2cor_scl(
        truth=truth[cells], opacity=cloud[cells], cirrus=cirrus[cells],
        landcover=land.surface.code[cells], red=clear[_RED][cells], nir=clear[_NIR][cells],
        cell_window=(ext[0] // 2, ext[1] // 2, -(-ext[2] // 2), -(-ext[3] // 2)),
        errors=ctx.scl_errors, seed=seed, index=index)
    scl = np.repeat(np.repeat(scl, 2, axis=0), 2, axis=1)[:ext[2], :ext[3]]

    return {
        "reflectance": land.crop(observed, window)[None],
        "clear_reflectance": land.crop(clear, window)[None],
        "flat_reflectance": land.crop(flat, window)[None],
        "scl": land.crop(scl, window)[None],
        "cloud_mask": land.crop(truth, window)[None],
    }


def _terrain_cast_shadow(ctx: SceneContext, acq: Acquisition, land: Ground) -> np.ndarray:
    """(rows, cols) bool of the ground's window: terrain hides the sun of ``acq``."""
    from hrlc.restore.shadow import cast_shadow_array

    h = land.horizon_halo
    cast = cast_shadow_array(land.horizon, east_step=PIXEL_SIZE, north_step=-PIXEL_SIZE,
                             sun_zenith=acq.sun_zenith, sun_azimuth=acq.sun_azimuth,
                             max_distance=ctx.shadow_reach)
    return cast[h:-h, h:-h]


def _native_mean(values: np.ndarray, factor: int) -> np.ndarray:
    """Mean over aligned ``factor`` x ``factor`` cells (partial at the tile edge), replicated.

    ``values`` is (bands, rows, cols) on a window whose origin is aligned on the cells.
    """
    if factor == 1:
        return values
    bands, rows, cols = values.shape
    pad_r, pad_c = -rows % factor, -cols % factor
    padded = np.pad(values, ((0, 0), (0, pad_r), (0, pad_c)))
    shape = (bands, padded.shape[1] // factor, factor, padded.shape[2] // factor, factor)
    sums = padded.reshape(shape).sum(axis=(2, 4))
    counts = np.pad(np.ones((rows, cols), np.float32), ((0, pad_r), (0, pad_c)))
    counts = counts.reshape(shape[1:]).sum(axis=(1, 3))
    mean = sums / counts
    return np.repeat(np.repeat(mean, factor, axis=1), factor, axis=2)[:, :rows, :cols]


def _native_noise(ext: tuple[int, int, int, int], factor: int, std: float, seed: int) -> np.ndarray:
    """Sensor noise drawn per native pixel of the band, replicated to 10 m."""
    row0, col0, nrows, ncols = ext
    native = (row0 // factor, col0 // factor, -(-nrows // factor), -(-ncols // factor))
    noise = hash_gaussian(native, seed=seed) * np.float32(std)
    return np.repeat(np.repeat(noise, factor, axis=0), factor, axis=1)[:nrows, :ncols]


def _quantise(values: np.ndarray, low_dn: float) -> np.ndarray:
    """Reflectance as written in a product: whole DN steps, within the DN range."""
    counts = np.clip(np.round(values * QUANTIFICATION), low_dn, 65534.0 - 1000.0)
    return counts.astype(np.float32) / np.float32(QUANTIFICATION)


@nb.njit(cache=True, nogil=True)
def _compose(rho, direct, shadow, cloud, cirrus, cloud_texture, diffuse, cloud_spectrum,
             cirrus_spectrum):
    bands, rows, cols = rho.shape
    clear = np.empty_like(rho)
    observed = np.empty_like(rho)
    for r in range(rows):
        for c in range(cols):
            sun = direct[r, c]
            lit = 1.0 - shadow[r, c]
            a = cloud[r, c]
            ci = cirrus[r, c]
            tops = cloud_texture[r, c] * (0.75 + 0.35 * a)
            for b in range(bands):
                d = diffuse[b]
                surface = rho[b, r, c]
                clear[b, r, c] = surface * (d + (1.0 - d) * sun)
                seen = surface * (d + (1.0 - d) * sun * lit)
                seen = (1.0 - a) * seen + a * cloud_spectrum[b] * tops
                observed[b, r, c] = (1.0 - ci) * seen + ci * cirrus_spectrum[b]
    return clear, observed
