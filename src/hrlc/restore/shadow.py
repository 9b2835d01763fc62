r"""Terrain shadow from a DEM: self-shadow from ``cos i`` and cast shadow by ray-marching.

A pixel gets no direct sunlight when its own slope faces away from the sun
(**self-shadow**: ``cos i <= shadow_cos_i`` on a slope, the rule of
:func:`hrlc.restore.correct_topography`) or when terrain between it and the sun rises
above the ray towards the sun (**cast shadow**: a ridge shading the valley behind it).

Cast shadows are found by ray-marching: from each pixel the ray towards the sun
(azimuth ``phi``, elevation ``e = 90 - zenith``) is followed in steps of one pixel along
the dominant axis, the DEM interpolated linearly across it, and the pixel is in shadow
when a sample rises above the ray. An obstacle at horizontal distance ``d`` hides the
sun when it stands more than ``d tan e`` above the pixel, so no shadow is longer than::

    reach = relief / tan(e_min)        relief = max(DEM) - min(DEM) over the whole grid

with ``e_min`` the lowest sun of the months. ``reach`` is both the length of every ray
and the halo of the dask blocks (``map_overlap``-style, no boundary padding), computed on
the whole grid before the graph is built, so every chunking gives the same result.
Outside the DEM nothing is known: rays stop at its edge.
"""

from __future__ import annotations

from functools import partial

import dask.array as da
import numpy as np
import xarray as xr
from dask.array.overlap import ensure_minimum_chunksize, overlap, trim_internal

from hrlc.composite.validate import check_same_grid, require_dims
from hrlc.errors import ConfigError
from hrlc.kernels import kernel_array
from hrlc.restore._shadow_kernels import march
from hrlc.restore.topographic import illumination

#: Codes of the terrain-shadow layer.
LIT, SELF_SHADOW, CAST_SHADOW = 0, 1, 2
SHADOW_NAMES: dict[int, str] = {LIT: "lit", SELF_SHADOW: "self_shadow", CAST_SHADOW: "cast_shadow"}


def shadow_reach(relief: float, sun_zenith) -> float:
    """Longest shadow terrain of ``relief`` metres can cast, metres.

    Parameters
    ----------
    relief : float, metres
        Highest minus lowest elevation.
    sun_zenith : float or array-like, degrees
        Solar zenith(s); NaN and zeniths >= 90 (sun down, no march needed) are ignored.

    Returns
    -------
    float
        ``relief / tan(e_min)``, 0 when no zenith is usable or the relief is 0.
    """
    zenith = np.asarray(sun_zenith, np.float64).ravel()
    zenith = zenith[np.isfinite(zenith) & (zenith < 90)]
    if zenith.size == 0 or not relief > 0:
        return 0.0
    return float(relief * np.tan(np.deg2rad(zenith.max())))  # 1 / tan(e) = tan(zenith)


def dem_relief(dem: xr.DataArray) -> float:
    """Highest minus lowest elevation of a DEM, metres (0 for an empty one); computed now.

    The reach of cast shadows (:func:`shadow_reach`) and so the halo of
    :func:`cast_shadow` depend on it: compute it once per tile and pass it on
    (``relief=``, or in :class:`~hrlc.restore.RestorationFit`) to keep those lazy.
    """
    return float((dem.max() - dem.min()).compute()) if dem.size else 0.0


def cast_shadow_array(dem: np.ndarray, *, east_step: float, north_step: float,
                      sun_zenith: float, sun_azimuth: float, max_distance: float) -> np.ndarray:
    """Cast shadow on an in-memory DEM (the kernel of :func:`cast_shadow`).

    Parameters
    ----------
    dem : ndarray (rows, cols), metres
        Elevation; NaN neither casts nor receives shadow.
    east_step, north_step : float, metres
        Signed ground distance of one column step east and one row step north
        (``north_step`` is negative for north-up grids).
    sun_zenith, sun_azimuth : float, degrees
        Azimuth clockwise from north.
    max_distance : float, metres
        Longest ray (see :func:`shadow_reach`).

    Returns
    -------
    ndarray (rows, cols), bool
        True where terrain of ``dem`` hides the sun; rays stop at the array edge.
    """
    return march(kernel_array(dem, np.float64), float(east_step), float(north_step),
                 float(sun_zenith), float(sun_azimuth), float(max_distance))


def _cast_block(block: np.ndarray, *, zenith: np.ndarray, azimuth: np.ndarray, east: float,
                north: float, max_distance: float) -> np.ndarray:
    return np.stack([cast_shadow_array(block, east_step=east, north_step=north, sun_zenith=z,
                                       sun_azimuth=a, max_distance=max_distance)
                     for z, a in zip(zenith, azimuth)])


def _pixel_steps(dem: xr.DataArray) -> tuple[float, float]:
    from hrlc.features.terrain import metres_per_pixel

    # a geographic grid's east step varies with latitude: its mean stands for the tile
    return tuple(float(np.mean(np.asarray(step))) for step in metres_per_pixel(dem))


def _as_time(angle, name: str) -> xr.DataArray:
    angle = angle if isinstance(angle, xr.DataArray) else xr.DataArray(np.float64(angle))
    if angle.ndim > 1 or (angle.ndim == 1 and angle.dims != ("time",)):
        raise ConfigError(f"{name} must be a number or a DataArray along 'time', got dims "
                          f"{angle.dims}")
    return angle


def cast_shadow(dem: xr.DataArray, *, sun_zenith, sun_azimuth,
                relief: float | None = None) -> xr.DataArray:
    """Terrain cast shadow for each sun position, by ray-marching over the DEM.

    Parameters
    ----------
    dem : DataArray (y, x), float, metres
        Elevation on a regular grid with a CRS or metre coordinates (pixel sizes from
        :func:`hrlc.features.terrain.metres_per_pixel`); any chunking.
    sun_zenith, sun_azimuth : float or DataArray (time), degrees
        Sun position per month (azimuth clockwise from north), e.g. the composites'
        ``sun_zenith``/``sun_azimuth`` coordinates. A NaN month gets no shadow; a
        zenith >= 90 is shadow everywhere.
    relief : float, metres, optional
        Highest minus lowest elevation, which sets the reach of the rays and the halo
        of the blocks; computed from the DEM when omitted (:func:`dem_relief`, a small
        reduction computed now, as the halo must be known to build the graph).

    Returns
    -------
    DataArray (time, y, x) or (y, x), bool
        True where the terrain towards the sun hides it. Lazy, the chunks of ``dem``
        (enlarged to the halo if smaller); the same values for every chunking.
    """
    require_dims(dem, ("y", "x"), what="DEM")
    zenith, azimuth = _as_time(sun_zenith, "sun_zenith"), _as_time(sun_azimuth, "sun_azimuth")
    if relief is None:
        relief = dem_relief(dem)
    east, north = _pixel_steps(dem)
    reach = shadow_reach(relief, zenith.values)
    halo = int(np.ceil(reach / min(abs(east), abs(north)))) + 1
    hy, hx = min(halo, dem.shape[0]), min(halo, dem.shape[1])
    data = da.asarray(dem.data).astype(np.float64)
    data = data.rechunk(tuple(ensure_minimum_chunksize(h, c) for h, c in zip((hy, hx),
                                                                              data.chunks)))
    z, a = np.atleast_1d(zenith.values), np.atleast_1d(azimuth.values)
    kernel = partial(_cast_block, zenith=z.astype(np.float64), azimuth=a.astype(np.float64),
                     east=east, north=north, max_distance=reach)
    ext = overlap(data, depth={0: hy, 1: hx}, boundary={0: "none", 1: "none"})
    marched = ext.map_blocks(kernel, new_axis=0, chunks=((len(z),), *ext.chunks), dtype=bool,
                             meta=np.empty((0, 0, 0), bool))
    shadow = trim_internal(marched, {0: 0, 1: hy, 2: hx},
                           boundary={0: "none", 1: "none", 2: "none"})
    shadow = shadow.rechunk(((len(z),), *dem.chunks) if dem.chunks else shadow.chunks)
    coords = {k: v for k, v in dem.coords.items() if set(v.dims) <= {"y", "x"}}
    if zenith.ndim:
        coords |= {k: v for k, v in zenith.coords.items() if v.dims == ("time",)}
    out = xr.DataArray(shadow if zenith.ndim else shadow[0],
                       dims=(("time",) if zenith.ndim else ()) + ("y", "x"), coords=coords,
                       name="cast_shadow",
                       attrs={"long_name": "terrain cast shadow", "shadow_reach_m": reach})
    return out


def terrain_shadow(dem: xr.DataArray, slope: xr.DataArray, aspect: xr.DataArray, *,
                   sun_zenith, sun_azimuth, min_slope: float = 2.0, shadow_cos_i: float = 0.1,
                   relief: float | None = None) -> xr.DataArray:
    """Terrain-shadow codes per month: 0 lit, 1 self-shadow, 2 cast shadow.

    Parameters
    ----------
    dem, slope, aspect : DataArray (y, x)
        Elevation (metres), slope and aspect (degrees, aspect clockwise from north) on
        one grid, e.g. the composites'.
    sun_zenith, sun_azimuth : float or DataArray (time), degrees
        As in :func:`cast_shadow`.
    min_slope : float, degrees
        Slopes below this are never self-shadowed (as in ``correct_topography``).
    shadow_cos_i : float
        A slope with ``cos i`` at or below this is self-shadowed.
    relief : float, metres, optional
        See :func:`cast_shadow`.

    Returns
    -------
    DataArray (time, y, x), uint8
        1 where self-shadowed (whether or not also behind terrain), 2 where only the
        terrain towards the sun hides it, 0 elsewhere; the coords and CRS of ``dem``; lazy.
    """
    for name, layer in (("slope", slope), ("aspect", aspect)):
        require_dims(layer, ("y", "x"), what=name)
        check_same_grid(layer, dem, what=f"the {name} layer", reference_name="the DEM")
    grid = {"y": dem.y, "x": dem.x}
    cos_i = illumination(slope.assign_coords(grid), aspect.assign_coords(grid),
                         sun_zenith=sun_zenith, sun_azimuth=sun_azimuth)
    cast = cast_shadow(dem, sun_zenith=sun_zenith, sun_azimuth=sun_azimuth, relief=relief)
    own = (slope.assign_coords(grid) >= min_slope) & (cos_i <= shadow_cos_i)
    codes = xr.where(own, SELF_SHADOW, xr.where(cast, CAST_SHADOW, LIT)).astype(np.uint8)
    dims = [d for d in ("time", "y", "x") if d in codes.dims]
    if dem.rio.crs is not None:  # xr.where drops the grid mapping's attrs
        codes = codes.rio.write_crs(dem.rio.crs)
    return codes.transpose(*dims).rename("terrain_shadow").assign_attrs(
        long_name=f"terrain shadow (self: cos i <= {shadow_cos_i:g} on a slope; cast: "
                  "terrain towards the sun above the ray)",
        flag_values=list(SHADOW_NAMES), flag_meanings=" ".join(SHADOW_NAMES.values()),
        shadow_reach_m=cast.attrs["shadow_reach_m"])
