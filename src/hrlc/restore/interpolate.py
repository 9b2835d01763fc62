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
from numba import njit

from hrlc.composite.validate import require_dims, require_monthly
from hrlc.errors import ConfigError
from hrlc.kernels import kernel_array

#: Flag codes of the gap-flag layer, per pixel and month.
OBSERVED, ONE_SIDE, BOTH_SIDES, MISSING = 0, 1, 2, 3
FLAG_NAMES: dict[int, str] = {OBSERVED: "observed", ONE_SIDE: "one_side",
                              BOTH_SIDES: "both_sides", MISSING: "missing"}


@njit(nogil=True, cache=True)
def _plan(observed, months, reach, before, after, weight, flag):
    """Per (month, pixel): which months fill it, with what weight, and its flag.

    ``before``/``after`` get the index of the nearest observed month on each side
    within ``reach`` months (-1 if none), ``weight`` the weight of ``before`` (linear in
    time: its share is the distance to ``after``), ``flag`` the gap-flag code.
    """
    n_time, ny, nx = observed.shape
    for y in range(ny):
        for x in range(nx):
            last = -1
            for t in range(n_time):
                before[t, y, x] = last if last >= 0 and months[t] - months[last] <= reach else -1
                if observed[t, y, x]:
                    last = t
            last = -1
            for t in range(n_time - 1, -1, -1):
                after[t, y, x] = last if last >= 0 and months[last] - months[t] <= reach else -1
                if observed[t, y, x]:
                    last = t
            for t in range(n_time):
                b, a = before[t, y, x], after[t, y, x]
                weight[t, y, x] = 0.0
                if observed[t, y, x]:
                    flag[t, y, x] = OBSERVED
                elif b >= 0 and a >= 0:
                    flag[t, y, x] = BOTH_SIDES
                    weight[t, y, x] = (months[a] - months[t]) / (months[a] - months[b])
                elif b >= 0 or a >= 0:
                    flag[t, y, x] = ONE_SIDE
                else:
                    flag[t, y, x] = MISSING


@njit(nogil=True, cache=True)
def _gather(block, flag, before, after, weight, out):
    """``out``: observed values kept, gaps from the planned months (memory-order loops)."""
    n_time, n_bands, ny, nx = block.shape
    for t in range(n_time):
        for b in range(n_bands):
            for y in range(ny):
                for x in range(nx):
                    code = flag[t, y, x]
                    if code == OBSERVED:
                        out[t, b, y, x] = block[t, b, y, x]
                    elif code == BOTH_SIDES:
                        w = weight[t, y, x]
                        out[t, b, y, x] = (w * block[before[t, y, x], b, y, x]
                                           + (1 - w) * block[after[t, y, x], b, y, x])
                    elif code == ONE_SIDE:
                        source = max(before[t, y, x], after[t, y, x])
                        out[t, b, y, x] = block[source, b, y, x]
                    else:
                        out[t, b, y, x] = np.nan


def _plan_block(block: np.ndarray, months: np.ndarray, reach: int):
    observed = np.isfinite(block).all(axis=1)
    shape = observed.shape
    before, after = np.empty(shape, np.int32), np.empty(shape, np.int32)
    weight, flag = np.empty(shape, np.float32), np.empty(shape, np.uint8)
    _plan(observed, months, reach, before, after, weight, flag)
    return flag, before, after, weight


def _fill_block(block: np.ndarray, *, months: np.ndarray, reach: int) -> np.ndarray:
    """(time, band, y, x) filled values of one spatial chunk."""
    block = kernel_array(block, np.float32)
    out = np.empty_like(block)
    _gather(block, *_plan_block(block, months, reach), out)
    return out


def _flag_block(block: np.ndarray, *, months: np.ndarray, reach: int) -> np.ndarray:
    """(time, y, x) uint8 gap flags of one spatial chunk."""
    return _plan_block(block, months, reach)[0]


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
