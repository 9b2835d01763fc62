r"""Topographic correction of monthly composites: illumination and the C-correction.

On a slope the sun's rays hit the ground at the local incidence angle ``i``, not at the
solar zenith angle, so sunlit slopes look brighter and slopes facing away darker than
the same cover on flat ground. With slope ``s`` and aspect ``a`` of the terrain and
solar zenith ``z`` and azimuth ``phi`` (all angles in degrees, azimuths clockwise from
north)::

    cos i = cos z * cos s + sin z * sin s * cos(phi - a)

The **C-correction** (Teillet, Guindon & Goodenough 1982) models the observed
reflectance as linear in ``cos i`` over the scene, ``rho = m * cos i + b`` (fitted per
month and band on the scene itself by least squares), and corrects with ``c = b / m``::

    rho_corrected = rho * (cos z + c) / (cos i + c)

``c`` stands for the diffuse light that still reaches slopes facing away from the sun, so
the correction is milder than the plain cosine correction (``c = 0``), which
over-brightens weakly lit slopes. Safeguards:

- flat pixels (slope ``< min_slope``) and water (NDWI ``(green - nir) / (green + nir) >
  water_ndwi``) are never changed: the factor is exactly 1 there;
- terrain in shadow (``cos i <= shadow_cos_i`` on a slope, or any pixel not lit in a
  given terrain-shadow layer with cast shadows, :func:`hrlc.restore.terrain_shadow`) is
  flagged and left unchanged, since it receives diffuse light only and the linear model
  does not hold (:func:`hrlc.restore.correct_terrain_shadow` corrects it);
- ``c < 0`` (a negative intercept) is raised to 0; a band whose fit has ``m <= 0`` or
  fewer than ``min_pixels`` usable pixels is left uncorrected.
"""

from __future__ import annotations

from functools import partial

import dask.array as da
import numpy as np
import xarray as xr

from hrlc.composite.validate import check_same_grid, require_dims
from hrlc.errors import ConfigError, InputError, MissingBandError
from hrlc.restore import _topo_kernels as _kernels
from hrlc.restore.sun import require_sun_angles


def illumination(slope: xr.DataArray, aspect: xr.DataArray, *, sun_zenith, sun_azimuth
                 ) -> xr.DataArray:
    """Cosine of the local solar incidence angle, ``cos i``.

    Parameters
    ----------
    slope, aspect : DataArray (y, x), degrees
        Terrain slope (0 flat) and aspect (clockwise from north, the direction the
        slope faces). NaN aspect (flat) is treated as north; it has no effect where
        the slope is 0.
    sun_zenith, sun_azimuth : float or DataArray (time), degrees
        Solar zenith and azimuth (clockwise from north).

    Returns
    -------
    DataArray (y, x) or (time, y, x), float32
        ``cos z cos s + sin z sin s cos(phi - a)``, -1 to 1; lazy if the inputs are.
    """
    cos_i = xr.apply_ufunc(_kernels.cos_incidence, slope, aspect, sun_zenith, sun_azimuth,
                           dask="parallelized", output_dtypes=[np.float32])
    return cos_i.rename("cos_i").assign_attrs(
        long_name="cosine of the local solar incidence angle", units="1")


def _prepare(reflectance: xr.DataArray, slope: xr.DataArray, aspect: xr.DataArray, *,
             min_slope: float, shadow_cos_i: float, water_ndwi: float | None, green: str,
             nir: str):
    """Validate; dask arrays of composites (time and band in one chunk) and terrain."""
    require_dims(reflectance, ("time", "band", "y", "x"), what="composites")
    for name, layer in (("slope", slope), ("aspect", aspect)):
        require_dims(layer, ("y", "x"), what=name)
        check_same_grid(layer, reflectance, what=f"the {name} layer",
                        reference_name="the composites")
    if not 0 <= min_slope < 90:
        raise ConfigError(f"min_slope must lie in [0, 90) degrees, got {min_slope}")
    zenith, azimuth = require_sun_angles(reflectance)
    bands = [str(b) for b in reflectance["band"].values]
    if water_ndwi is not None:
        absent = [b for b in (green, nir) if b not in bands]
        if absent:
            raise MissingBandError(
                f"water detection needs band(s) {', '.join(absent)} (green/nir); the "
                f"composites have {', '.join(bands)}; set green/nir, or water_ndwi: null "
                "to switch water detection off"
            )
    rules = _kernels.Rules(
        zenith=np.asarray(zenith.values, np.float64), azimuth=np.asarray(azimuth.values,
                                                                         np.float64),
        min_slope=float(min_slope), shadow_cos_i=float(shadow_cos_i), water_ndwi=water_ndwi,
        green=bands.index(green) if water_ndwi is not None else None,
        nir=bands.index(nir) if water_ndwi is not None else None)
    data = da.asarray(reflectance.data, chunks=(-1, -1, -1, -1))
    data = data.astype(np.float32).rechunk({0: -1, 1: -1})
    spatial = data.chunks[2:]
    terrain = [da.asarray(layer.data, chunks=spatial).astype(np.float32).rechunk(spatial)
               for layer in (slope, aspect)]
    return data, terrain, rules


def _shadow_blocks(shadow: xr.DataArray | None, reflectance: xr.DataArray, data: da.Array
                   ) -> list:
    """[] or [dask array (time, y, x) uint8 on the composites' blocks, "tyx"]."""
    if shadow is None:
        return []
    require_dims(shadow, ("time", "y", "x"), what="terrain shadow")
    check_same_grid(shadow, reflectance, what="the terrain-shadow layer",
                    reference_name="the composites")
    if shadow.sizes["time"] != reflectance.sizes["time"]:
        raise InputError(
            f"the terrain-shadow layer has {shadow.sizes['time']} months, the composites "
            f"{reflectance.sizes['time']}; compute it with the composites' sun angles")
    blocks = da.asarray(shadow.transpose("time", "y", "x").data).astype(np.uint8)
    return [blocks.rechunk((-1, *data.chunks[2:])), "tyx"]


def _check_factors(c: xr.DataArray, reflectance: xr.DataArray) -> None:
    for dim in ("time", "band"):
        if dim not in c.dims or not np.array_equal(c[dim].values, reflectance[dim].values):
            raise InputError(
                f"the C factors do not match the composites along '{dim}'; fit them on "
                "the same composites with fit_c_factors(...)"
            )


def fit_c_factors(reflectance: xr.DataArray, slope: xr.DataArray, aspect: xr.DataArray,
                  shadow: xr.DataArray | None = None, *, min_slope: float = 2.0,
                  shadow_cos_i: float = 0.1,
                  water_ndwi: float | None = 0.0, green: str = "B03", nir: str = "B08",
                  min_pixels: int = 100) -> xr.DataArray:
    """Fit the C-correction's ``c = b / m`` per month and band on the scene itself.

    Least squares of ``rho = m cos i + b`` over the pixels where the correction applies
    (finite, on a slope, lit, not water); see the module docstring for the model.

    Parameters
    ----------
    reflectance : DataArray (time, band, y, x), float32, 0-1
        Monthly composites with per-month ``sun_zenith``/``sun_azimuth`` coordinates
        (degrees).
    slope, aspect : DataArray (y, x), degrees
        Terrain on the composites' grid (aspect clockwise from north).
    shadow : DataArray (time, y, x), uint8, optional
        As in :func:`correct_topography`.
    min_slope, shadow_cos_i, water_ndwi, green, nir, min_pixels
        As in :func:`correct_topography`.

    Returns
    -------
    DataArray (time, band), float64
        ``c`` (>= 0), NaN where the band is left uncorrected (``m <= 0`` or fewer than
        ``min_pixels`` usable pixels). Lazy: one task per spatial block sums what the
        fit needs for all months (time and band in one chunk), then the sums are added;
        compute it first (small) and pass it to :func:`correct_topography`, so the
        composites are not held in memory between fitting and correcting.
    """
    data, (s, a), rules = _prepare(reflectance, slope, aspect, min_slope=min_slope,
                                   shadow_cos_i=shadow_cos_i, water_ndwi=water_ndwi,
                                   green=green, nir=nir)
    sums = da.blockwise(partial(_kernels.sums_block, rules=rules), "tbkyx", data, "tbyx",
                        s, "yx", a, "yx", *_shadow_blocks(shadow, reflectance, data),
                        new_axes={"k": 5}, adjust_chunks={"y": 1, "x": 1},
                        dtype=np.float64, meta=np.empty((0,) * 5, np.float64))
    n, sx, sy, sxx, sxy = (sums[:, :, k].sum(axis=(-2, -1)) for k in range(5))
    spread = n * sxx - sx * sx
    # zero denominators become NaN before dividing (dask divides later, outside errstate)
    m = (n * sxy - sx * sy) / da.where(spread > 0, spread, np.nan)
    b = (sy - m * sx) / da.where(n > 0, n, np.nan)
    c = da.maximum(b / da.where(m > 0, m, np.nan), 0)
    c = da.where(n >= max(min_pixels, 2), c, np.nan)
    coords = {k: v for k, v in reflectance.coords.items()
              if set(v.dims) <= {"time", "band"}}
    return xr.DataArray(c, dims=("time", "band"), coords=coords, name="c_factor",
                        attrs={"long_name": "C-correction factor c = b / m", "units": "1"})


def correct_topography(reflectance: xr.DataArray, slope: xr.DataArray,
                       aspect: xr.DataArray, c: xr.DataArray | None = None,
                       shadow: xr.DataArray | None = None, *,
                       min_slope: float = 2.0, shadow_cos_i: float = 0.1,
                       water_ndwi: float | None = 0.0, green: str = "B03",
                       nir: str = "B08", min_pixels: int = 100) -> xr.Dataset:
    """C-correction of monthly composites for terrain illumination.

    ``rho_corrected = rho * (cos z + c) / (cos i + c)`` where the terrain is sloped,
    lit and not water; unchanged elsewhere (see the module docstring).

    Parameters
    ----------
    reflectance : DataArray (time, band, y, x), float32, 0-1
        Monthly composites with per-month ``sun_zenith``/``sun_azimuth`` coordinates
        (degrees); NaN where missing.
    slope, aspect : DataArray (y, x), degrees
        Terrain on the composites' grid: slope 0-90, aspect clockwise from north
        (the direction the slope faces).
    c : DataArray (time, band), optional
        Fitted factors from :func:`fit_c_factors` for the same months and bands (a
        month whose sun angles are NaN is left unchanged); fitted here (lazily, in the
        same graph) when omitted, which is fine for small arrays. For a full tile
        compute them first, otherwise the whole scene stays in memory until the fit is
        done.
    shadow : DataArray (time, y, x), uint8, optional
        Terrain-shadow codes from :func:`hrlc.restore.terrain_shadow` (0 lit, 1 self,
        2 cast shadow): every pixel not 0 is left unchanged and out of the fit, and the
        layer is returned as ``terrain_shadow``. Without it only self-shadow is found
        (``shadow_cos_i``).
    min_slope : float, degrees
        Slopes below this are flat and never changed.
    shadow_cos_i : float
        Sloped pixels with ``cos i`` at or below this are terrain shadow: flagged,
        unchanged and not used in the fit.
    water_ndwi : float or None
        Pixels with NDWI ``(green - nir) / (green + nir)`` above this are water, never
        changed nor used in the fit; None switches water detection off.
    green, nir : str
        Band names for the NDWI.
    min_pixels : int
        Fewest usable pixels per month and band for a fit.

    Returns
    -------
    Dataset
        ``reflectance`` (time, band, y, x) float32, corrected; ``terrain_shadow``
        (time, y, x) uint8, 1 where the terrain is in (self-)shadow, or ``shadow``
        when given; ``cos_i`` (time, y, x)
        float32. Coords and attrs carried over; lazy, one task per spatial block with
        time and band in one chunk.
    """
    options = dict(min_slope=min_slope, shadow_cos_i=shadow_cos_i, water_ndwi=water_ndwi,
                   green=green, nir=nir)
    data, (s, a), rules = _prepare(reflectance, slope, aspect, **options)
    if c is None:
        c = fit_c_factors(reflectance, slope, aspect, shadow, min_pixels=min_pixels, **options)
    _check_factors(c, reflectance)
    factors = da.asarray(c.transpose("time", "band").data).rechunk(-1)
    given = _shadow_blocks(shadow, reflectance, data)
    corrected = da.blockwise(
        partial(_kernels.correct_block, rules=rules), "tbyx", data, "tbyx", s, "yx", a, "yx",
        factors, "tb", *given, dtype=np.float32, meta=np.empty((0,) * 4, np.float32))
    out = reflectance.copy(data=corrected).rename("reflectance")
    out.attrs = {**reflectance.attrs, "topographic_correction": "C-correction"}
    flag_coords = {k: v for k, v in reflectance.coords.items() if "band" not in v.dims}
    if shadow is None:
        own = da.blockwise(partial(_kernels.shadow_block, rules=rules), "tyx", s, "yx", a, "yx",
                           new_axes={"t": len(rules.zenith)}, dtype=bool,
                           meta=np.empty((0,) * 3, bool)).astype(np.uint8)
        flag = xr.DataArray(own, dims=("time", "y", "x"), coords=flag_coords,
                            name="terrain_shadow", attrs={
                                "long_name": f"terrain in shadow (cos i <= {shadow_cos_i:g} "
                                             "on a slope)", "flag_values": [0, 1]})
    else:
        flag = xr.DataArray(given[0], dims=("time", "y", "x"), coords=flag_coords,
                            name="terrain_shadow", attrs=dict(shadow.attrs))
    zenith, azimuth = require_sun_angles(reflectance)
    cos_i = illumination(slope.assign_coords(y=reflectance.y, x=reflectance.x),
                         aspect.assign_coords(y=reflectance.y, x=reflectance.x),
                         sun_zenith=zenith, sun_azimuth=azimuth)
    return xr.Dataset({"reflectance": out, "terrain_shadow": flag,
                       "cos_i": cos_i.transpose("time", "y", "x")})
