"""The restoration of monthly composites as one function: gaps, terrain, terrain shadow.

``order`` says whether the terrain is corrected before the gaps are filled (each month
with its own sun, so a filled value comes from corrected neighbours) or after (the
reference chain's order: interpolate, then correct the filled months as if observed
under their own sun). Terrain steps run when ``slope`` and ``aspect`` are given:

1. terrain-shadow codes from the DEM (``terrain_shadow``: self and cast shadow), or
   self-shadow only without a DEM;
2. C-correction of the lit slopes (``correct_topography``);
3. with ``shadow_correction="statistical"``, shadowed pixels get the statistics of lit
   pixels of their stratum and slope (``correct_terrain_shadow``).

The fits (C factors, shadow statistics) are reductions over the whole tile: compute them
first with :func:`fit_restoration` and pass them in, so the tile is not held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import xarray as xr

from hrlc.errors import ConfigError, InputError
from hrlc.restore.interpolate import fill_gaps
from hrlc.restore.shadow import dem_relief, terrain_shadow
from hrlc.restore.shadow_correction import correct_terrain_shadow, fit_shadow_correction
from hrlc.restore.sun import require_sun_angles
from hrlc.restore.topographic import correct_topography, fit_c_factors

#: Values of ``order``: the first is the default (the better one on the simulator, see
#: docs/restore.md).
ORDERS = ("correct_then_fill", "fill_then_correct")
SHADOW_CORRECTIONS = ("statistical", "none")


@dataclass(frozen=True)
class RestorationFit:
    """What :func:`restore_composites` fits on the whole tile (small, in memory).

    Attributes
    ----------
    c : DataArray (time, band) or None
        C-correction factors (``fit_c_factors``).
    shadow : Dataset or None
        Shadow-correction statistics (``fit_shadow_correction``).
    relief : float or None
        Highest minus lowest elevation of the DEM, metres (``dem_relief``): the reach of
        cast shadows; None without a DEM.
    """

    c: xr.DataArray | None = None
    shadow: xr.Dataset | None = None
    relief: float | None = None


def _options(order, shadow_correction, interpolate, topographic, shadow):
    if order not in ORDERS:
        raise ConfigError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    if shadow_correction not in SHADOW_CORRECTIONS:
        raise ConfigError(f"shadow_correction must be one of {', '.join(SHADOW_CORRECTIONS)}, "
                          f"got {shadow_correction!r}")
    return dict(interpolate or {}), dict(topographic or {}), dict(shadow or {})


def _terrain(reflectance, slope, aspect, dem, strata, fitted: RestorationFit | None, *,
             shadow_correction: str, topographic: dict, shadow: dict, compute: bool):
    """(corrected reflectance, terrain_shadow, RestorationFit) for ``reflectance``."""
    codes = relief = None
    if dem is not None:
        zenith, azimuth = require_sun_angles(reflectance)
        grid = {"y": reflectance.y, "x": reflectance.x}
        relief = fitted.relief if fitted is not None and fitted.relief is not None else \
            dem_relief(dem)
        limits = {k: topographic[k] for k in ("min_slope", "shadow_cos_i") if k in topographic}
        codes = terrain_shadow(dem.assign_coords(grid), slope.assign_coords(grid),
                               aspect.assign_coords(grid), sun_zenith=zenith,
                               sun_azimuth=azimuth, relief=relief, **limits)
    c = fitted.c if fitted is not None and fitted.c is not None else \
        fit_c_factors(reflectance, slope, aspect, codes, **topographic)
    if compute:
        c = c.compute()
    topo = correct_topography(reflectance, slope, aspect, c, codes, **topographic)
    out, flag, stats = topo["reflectance"], topo["terrain_shadow"], None
    if shadow_correction == "statistical":
        stats = fitted.shadow if fitted is not None and fitted.shadow is not None else \
            fit_shadow_correction(out, flag, slope, strata, **shadow)
        out = correct_terrain_shadow(out, flag, slope, stats, strata)
    out.attrs["terrain_shadow_correction"] = shadow_correction
    return out, flag, RestorationFit(c=c, shadow=stats, relief=relief)


def fit_restoration(reflectance: xr.DataArray, slope: xr.DataArray, aspect: xr.DataArray,
                    dem: xr.DataArray | None = None, strata: xr.DataArray | None = None, *,
                    order: str = ORDERS[0], shadow_correction: str = "statistical",
                    interpolate: dict[str, Any] | None = None,
                    topographic: dict[str, Any] | None = None,
                    shadow: dict[str, Any] | None = None) -> RestorationFit:
    """Fit the C factors, then the shadow statistics, on the whole tile (computed now).

    Parameters and options as in :func:`restore_composites`. Streams the composites a
    few times (C sums; the shadow layer and a strided sample; the shadow sums) with
    memory of a few blocks; with a DEM, also its relief (which sets the cast-shadow
    halo), so that :func:`restore_composites` given this fit computes nothing.

    Returns
    -------
    RestorationFit
    """
    interpolate, topographic, shadow = _options(order, shadow_correction, interpolate,
                                                topographic, shadow)
    if order == "fill_then_correct":
        reflectance = fill_gaps(reflectance, **interpolate)["reflectance"]
    return _terrain(reflectance, slope, aspect, dem, strata, None,
                    shadow_correction=shadow_correction, topographic=topographic,
                    shadow=shadow, compute=True)[2]


def restore_composites(reflectance: xr.DataArray, slope: xr.DataArray | None = None,
                       aspect: xr.DataArray | None = None, dem: xr.DataArray | None = None,
                       strata: xr.DataArray | None = None,
                       fitted: RestorationFit | None = None, *, order: str = ORDERS[0],
                       shadow_correction: str = "statistical",
                       interpolate: dict[str, Any] | None = None,
                       topographic: dict[str, Any] | None = None,
                       shadow: dict[str, Any] | None = None) -> xr.Dataset:
    """Fill gaps and correct terrain illumination and shadow, in the order asked.

    ``restore_composites(refl, slope, aspect, dem, **RestoreConfig().model_dump())``.

    Parameters
    ----------
    reflectance : DataArray (time, band, y, x), float32, 0-1
        Monthly composites with ``sun_zenith``/``sun_azimuth`` coordinates (degrees).
    slope, aspect : DataArray (y, x), degrees, optional
        Terrain on the composites' grid; without them only the gaps are filled.
    dem : DataArray (y, x), metres, optional
        Elevation on the same grid, for cast shadows; without it only self-shadow.
    strata : DataArray (y, x), integer, optional
        Land-cover map for the shadow statistics (else clusters of the lit spectra).
    fitted : RestorationFit, optional
        From :func:`fit_restoration` with the same inputs and options; fitted here when
        omitted (the shadow statistics are then computed now: fine for small arrays).
    order : {"correct_then_fill", "fill_then_correct"}
        Terrain correction before or after the gap filling.
    shadow_correction : {"statistical", "none"}
        Correct shadowed pixels from lit pixels of their stratum, or leave them.
    interpolate, topographic, shadow : dict
        Keyword options of ``fill_gaps``, ``correct_topography`` and
        ``fit_shadow_correction`` (``RestoreConfig``'s blocks).

    Returns
    -------
    Dataset
        ``reflectance`` (time, band, y, x) float32 (attrs ``restore_order`` and, with
        terrain, ``terrain_shadow_correction``); ``gap_flag`` (time, y, x) uint8; with
        terrain ``terrain_shadow`` (time, y, x) uint8 (0 lit, 1 self, 2 cast shadow) and
        ``c_factor`` (time, band). Lazy when ``fitted`` is given (it carries the DEM's
        relief too); without it the fits and the DEM's relief (which sets the
        cast-shadow halo) are computed now.
    """
    interpolate, topographic, shadow = _options(order, shadow_correction, interpolate,
                                                topographic, shadow)
    if (slope is None) != (aspect is None) or (dem is not None and slope is None):
        raise InputError("the terrain steps need slope and aspect (and a DEM for cast "
                         "shadows); give both slope and aspect, or none of them")
    layers: dict[str, xr.DataArray] = {}
    refl = reflectance
    if order == "fill_then_correct" or slope is None:
        filled = fill_gaps(refl, **interpolate)
        refl, layers["gap_flag"] = filled["reflectance"], filled["gap_flag"]
    if slope is not None:
        refl, layers["terrain_shadow"], fit = _terrain(
            refl, slope, aspect, dem, strata, fitted, shadow_correction=shadow_correction,
            topographic=topographic, shadow=shadow, compute=False)
        layers["c_factor"] = fit.c.astype("float32")
    if "gap_flag" not in layers:
        filled = fill_gaps(refl, **interpolate)
        refl, layers["gap_flag"] = filled["reflectance"], filled["gap_flag"]
    refl = refl.assign_attrs(restore_order=order)
    return xr.Dataset({"reflectance": refl, **layers})
