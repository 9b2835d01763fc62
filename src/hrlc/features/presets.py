"""Feature presets: the reference chain's 167 features, or hrlc's extended set.

``build_features(composites, dem=dem, preset=...)``:

- ``extended`` (the default): the options choose the features; by default every band
  per month, every index per month, the GLCM textures and elevation, slope, northness
  and eastness.
- ``reference``: exactly the features of the ESA CCI HRLC reference chain, 167 of them:

  - 144 spectral: the 12 L2A bands of :data:`REFERENCE_BANDS` x the 12 calendar months
    (``B01_m01`` ... ``B12_m12``, ordered by calendar month whatever the year the stack
    starts in);
  - 14 of one annual composite: the 13 band-math indices and SOBEL (``NDVI``,
    ``GNDVI``, ... ``SOBEL``), computed on the per-pixel NaN-aware median of each band
    over the 12 months (:data:`ANNUAL_COMPOSITE`). The median, not the mean, because it
    is the composite least moved by a month's residual cloud, shadow or snow; it is also
    the composite the GLCM textures are taken from by default (``glcm_composite``);
  - 6 GLCM textures (:data:`~hrlc.features.glcm.DEFAULT_TEXTURES` of ``glcm_band``);
  - 3 terrain: ``elevation`` (m), ``slope`` (degrees) and ``aspect`` (degrees clockwise
    from north, downhill), with :data:`~hrlc.features.terrain.FLAT_ASPECT` (-1) on flat
    ground, as ArcGIS and RichDEM write it, so that flat pixels (water, plains) keep a
    full feature vector.

  The options that choose features (:data:`CHOOSING`) must keep their defaults; the
  options that say how a feature is computed (``sobel_band``, ``glcm_*``,
  ``dem_resampling``) apply to both presets. The composites must hold the 12 bands and
  one composite for each calendar month, and a DEM must be given; otherwise
  :func:`reference_stack` raises an error naming everything that is missing.

:data:`PRESETS`, :data:`CHOOSING` and :func:`check_options` are defined in
:mod:`hrlc.config.feature_names` (so that a configuration is checked without this stage)
and re-exported here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from hrlc.config.feature_names import CHOOSING, PRESETS, check_options
from hrlc.errors import ConfigError, MissingBandError

#: Spectral bands of the reference preset: the L2A bands B01-B12 without B10 (cirrus,
#: not delivered at L2A), in band order.
REFERENCE_BANDS: tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08",
                                    "B8A", "B09", "B11", "B12")
#: Calendar months of the reference preset.
REFERENCE_MONTHS: tuple[int, ...] = tuple(range(1, 13))
#: Statistic over the months that makes the reference preset's annual composite.
ANNUAL_COMPOSITE = "median"

__all__ = ["ANNUAL_COMPOSITE", "CHOOSING", "PRESETS", "REFERENCE_BANDS", "REFERENCE_MONTHS",
           "check_options", "reference_stack"]


def _month_span(times: pd.DatetimeIndex) -> str:
    return f"{times.min():%Y-%m} to {times.max():%Y-%m}" if len(times) else "no composites"


def reference_stack(composites: xr.DataArray, dem: xr.DataArray | None) -> xr.DataArray:
    """The composites ordered by calendar month, after checking they make the reference set.

    Parameters
    ----------
    composites : DataArray (time, band, y, x), float32, reflectance 0-1
        Monthly composites.
    dem : DataArray (y, x) or None
        The DEM given to ``build_features``.

    Returns
    -------
    DataArray (time, band, y, x): ``composites`` with ``time`` sorted by calendar month
    (January first), lazily.

    Raises
    ------
    MissingBandError
        A band of :data:`REFERENCE_BANDS` is missing (the message also names any other
        problem below).
    ConfigError
        A calendar month is missing or repeated, or no DEM was given.
    """
    have = [str(b) for b in composites["band"].values]
    times = pd.DatetimeIndex(np.asarray(composites.time.values))
    months = list(times.month)
    problems = []
    missing_bands = [b for b in REFERENCE_BANDS if b not in have]
    if missing_bands:
        problems.append(f"bands {', '.join(missing_bands)} are missing (bands present: "
                        f"{', '.join(have)})")
    missing_months = [m for m in REFERENCE_MONTHS if m not in months]
    if missing_months:
        problems.append(f"months {missing_months} are missing (composites of "
                        f"{_month_span(times)})")
    repeated = sorted({m for m in months if months.count(m) > 1})
    if repeated:
        problems.append(f"months {repeated} appear more than once (composites of "
                        f"{_month_span(times)}); select one year, e.g. "
                        "composites.sel(time=slice('2021-01', '2021-12'))")
    if dem is None:
        problems.append("no DEM was given (elevation, slope and aspect are reference "
                        "features); pass dem=")
    if problems:
        error = MissingBandError if missing_bands else ConfigError
        raise error("preset 'reference' needs the 12 bands " + ", ".join(REFERENCE_BANDS)
                    + " for each of the 12 calendar months, and a DEM: "
                    + "; ".join(problems) + ". Or use preset 'extended'")
    return composites.isel(time=np.argsort(np.asarray(months), kind="stable"))
