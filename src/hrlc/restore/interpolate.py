"""Temporal gap filling of monthly composites from the adjacent months.

The reference logic of the HRLC chain: a pixel missing in month m takes the value of
the neighbouring months; when both m-1 and m+1 have one, their mean. With a longer
``reach`` the nearest observed month on each side within ``reach`` months is used and
the two are weighted linearly by distance in time (which is the mean at equal
distances).
"""

from __future__ import annotations

from functools import partial

import dask.array as da
import numpy as np
import xarray as xr

from hrlc.composite.validate import require_dims, require_monthly
from hrlc.errors import ConfigError

#: Flag codes of the gap-flag layer, per pixel and month.
OBSERVED, ONE_SIDE, BOTH_SIDES, MISSING = 0, 1, 2, 3
FLAG_NAMES: dict[int, str] = {OBSERVED: "observed", ONE_SIDE: "one_side",
                              BOTH_SIDES: "both_sides", MISSING: "missing"}


def _neighbours(observed: np.ndarray, months: np.ndarray, reach: int):
    """Nearest observed month before/after each (month, pixel), within ``reach``.

    Returns the time indices (clipped to valid positions), their distances in months
    and whether each side exists within reach; all (time, y, x).
    """
    n = observed.shape[0]
    t = np.arange(n).reshape((-1,) + (1,) * (observed.ndim - 1))
    last = np.maximum.accumulate(np.where(observed, t, -1), axis=0)
    first = np.minimum.accumulate(np.where(observed, t, n)[::-1], axis=0)[::-1]
    edge = np.ones((1,) + observed.shape[1:], dtype=last.dtype)
    before = np.concatenate([-edge, last[:-1]])  # strictly earlier month
    after = np.concatenate([first[1:], n * edge])  # strictly later month
    month = months.reshape(t.shape)
    i_before, i_after = np.clip(before, 0, n - 1), np.clip(after, 0, n - 1)
    d_before, d_after = month - months[i_before], months[i_after] - month
    has_before = (before >= 0) & (d_before <= reach)
    has_after = (after < n) & (d_after <= reach)
    return i_before, i_after, d_before, d_after, has_before, has_after


def _observed(block: np.ndarray) -> np.ndarray:
    return np.isfinite(block).all(axis=1)


def _fill_block(block: np.ndarray, *, months: np.ndarray, reach: int) -> np.ndarray:
    """(time, band, y, x) filled values of one spatial chunk."""
    observed = _observed(block)
    i_b, i_a, d_b, d_a, has_b, has_a = _neighbours(observed, months, reach)
    out = np.empty_like(block)
    both = has_b & has_a
    with np.errstate(invalid="ignore"):
        w_b = np.where(both, d_a / np.maximum(d_a + d_b, 1), 0).astype(np.float32)
    for band in range(block.shape[1]):  # one band at a time keeps memory at (time, y, x)
        series = block[:, band]
        v_b = np.take_along_axis(series, i_b, axis=0)
        v_a = np.take_along_axis(series, i_a, axis=0)
        value = np.where(both, w_b * v_b + (1 - w_b) * v_a,
                         np.where(has_b, v_b, np.where(has_a, v_a, np.float32(np.nan))))
        out[:, band] = np.where(observed, series, value)
    return out


def _flag_block(block: np.ndarray, *, months: np.ndarray, reach: int) -> np.ndarray:
    """(time, y, x) uint8 gap flags of one spatial chunk."""
    observed = _observed(block)
    *_, has_b, has_a = _neighbours(observed, months, reach)
    flag = np.where(has_b & has_a, BOTH_SIDES, np.where(has_b | has_a, ONE_SIDE, MISSING))
    return np.where(observed, OBSERVED, flag).astype(np.uint8)


def fill_gaps(reflectance: xr.DataArray, *, reach: int = 1) -> xr.Dataset:
    """Fill gaps of monthly composites from the adjacent months.

    A pixel-month is *observed* when every band has a value; otherwise all its bands
    are replaced (so a filled spectrum never mixes months). With ``p`` the nearest
    observed month before and ``n`` the nearest after, at distances ``d_p`` and
    ``d_n`` months (each counted only if ``<= reach``)::

        both sides:  v = (d_n * v_p + d_p * v_n) / (d_p + d_n)   (the mean if d_p == d_n)
        one side:    v = v_p  or  v_n
        neither:     v = NaN

    Distances are calendar months from the ``time`` coordinate, so a stack with a
    month left out is handled correctly.

    Parameters
    ----------
    reflectance : DataArray (time, band, y, x), float32
        Monthly composites (one layer per month, increasing), NaN where missing, e.g.
        ``monthly_composite(...)["reflectance"]``.
    reach : int, >= 1
        How many months away a neighbour may be (1: only m-1 and m+1, the reference).

    Returns
    -------
    Dataset
        ``reflectance`` (time, band, y, x) float32: observed values unchanged, gaps
        filled where a neighbour exists; ``gap_flag`` (time, y, x) uint8:
        0 observed, 1 filled from one side, 2 from both sides, 3 still missing.
        Coords and attrs carried over; lazy, with time and band in one chunk (memory
        per task about 3 x time x bands x chunk pixels x 4 bytes).
    """
    if int(reach) != reach or reach < 1:
        raise ConfigError(f"reach must be a whole number of months >= 1, got {reach}")
    require_dims(reflectance, ("time", "band", "y", "x"), what="composites")
    months = require_monthly(reflectance, what="composites")
    data = da.asarray(reflectance.data, chunks=(-1, -1, -1, -1))
    data = data.astype(np.float32).rechunk({0: -1, 1: -1})
    options = dict(months=months, reach=int(reach))
    values = da.map_blocks(partial(_fill_block, **options), data, dtype=np.float32,
                           meta=np.empty((0, 0, 0, 0), np.float32))
    flags = da.map_blocks(partial(_flag_block, **options), data, drop_axis=1,
                          dtype=np.uint8, meta=np.empty((0, 0, 0), np.uint8))
    filled = reflectance.copy(data=values)
    filled.attrs = {**reflectance.attrs, "gap_fill_reach_months": int(reach)}
    flag_coords = {k: v for k, v in reflectance.coords.items() if "band" not in v.dims}
    flag = xr.DataArray(flags, dims=("time", "y", "x"), coords=flag_coords, name="gap_flag",
                        attrs={"long_name": "gap flag", "flag_values": list(FLAG_NAMES),
                               "flag_meanings": " ".join(FLAG_NAMES.values())})
    return xr.Dataset({"reflectance": filled.rename("reflectance"), "gap_flag": flag})


def gap_fractions(gap_flag: xr.DataArray) -> xr.DataArray:
    """Fraction of pixels in each flag state, per month.

    Parameters
    ----------
    gap_flag : DataArray (time, y, x), uint8
        Flags from :func:`fill_gaps`.

    Returns
    -------
    DataArray (time, state), float64, 0-1
        ``state`` = observed, one_side, both_sides, missing. The gap fraction before
        restoration is ``1 - observed``, after it ``missing``. Lazy (a reduction).
    """
    fractions = [(gap_flag == code).mean(("y", "x")) for code in FLAG_NAMES]
    out = xr.concat(fractions, dim="state").assign_coords(state=list(FLAG_NAMES.values()))
    return out.transpose("time", "state").rename("fraction")
