"""Statistics over the months of a stack, NaN-aware and lazy: the index statistics, the
GLCM composite and the reference preset's annual composite are taken with these."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from hrlc.config.feature_names import STATISTICS

__all__ = ["STATISTICS", "nan_median", "reduce_time"]


def nan_median(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """``np.nanmedian(values, axis=-1)``, bit for bit, by one sort along the last axis
    (``axis`` must be -1; it is there to match the other reducers' signature).

    NaN sorts last, so the valid values of a pixel are the first ``count`` of its sorted
    row: the median is the middle one (odd count) or the mean of the two middle ones,
    computed in the input's precision as numpy does. All-NaN rows give NaN. numpy's own
    ``nanmedian`` goes through masked arrays for short axes (a few months), which is 3-6x
    slower on feature chunks.
    """
    if axis not in (-1, np.ndim(values) - 1):
        raise ValueError("nan_median reduces the last axis only")
    values = np.asarray(values)
    if values.shape[-1] > _NETWORK_MAX:
        ordered = np.sort(values, axis=-1)
        count = np.count_nonzero(~np.isnan(ordered), axis=-1)
    else:
        ordered, count = _network_sort(values)
    lower = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[..., None], -1)
    upper = np.take_along_axis(ordered, np.minimum(count // 2, ordered.shape[-1] - 1)[..., None],
                               -1)
    half = np.asarray(2, dtype=ordered.dtype)
    return np.where(count % 2 == 1, lower[..., 0], (lower[..., 0] + upper[..., 0]) / half)


#: Longest axis sorted by a compare-exchange network instead of ``np.sort``.
_NETWORK_MAX = 4


def _network_sort(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The last axis (a few months) sorted by compare-exchanges over whole arrays, with NaN
    last, and the count of non-NaN values. ``np.sort`` pays a call per pixel on rows this
    short. NaN becomes +inf for the sort, which puts it last without changing the order of
    the valid values (a valid +inf sorts with them, and equal values are interchangeable);
    positions past ``count`` are never read as values."""
    missing = np.isnan(values)
    count = values.shape[-1] - np.count_nonzero(missing, axis=-1)
    rows = [np.where(missing[..., k], np.inf, values[..., k]).astype(values.dtype, copy=False)
            for k in range(values.shape[-1])]
    for last in range(len(rows) - 1, 0, -1):  # bubble network: the largest sinks each pass
        for k in range(last):
            rows[k], rows[k + 1] = np.minimum(rows[k], rows[k + 1]), np.maximum(rows[k],
                                                                               rows[k + 1])
    ordered = np.stack(rows, axis=-1)
    ordered[count == 0] = np.nan  # no valid value: the median is NaN
    return ordered, count


_REDUCERS = {"median": nan_median, "mean": np.nanmean, "min": np.nanmin, "max": np.nanmax,
             "std": np.nanstd}


def _nan_reduce(values: np.ndarray, *, statistic: str) -> np.ndarray:
    # All-NaN pixels (no clear observation in any month) give NaN without a warning.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return _REDUCERS[statistic](values, axis=-1).astype(np.float32)


def reduce_time(stack: xr.DataArray, statistic: str) -> xr.DataArray:
    """NaN-aware statistic over ``time`` of a (time, ..., y, x) array, lazily, float32."""
    stack = stack.chunk({"time": -1}) if stack.chunks else stack
    return xr.apply_ufunc(_nan_reduce, stack, input_core_dims=[["time"]],
                          kwargs={"statistic": statistic}, dask="parallelized",
                          output_dtypes=[np.float32], keep_attrs=True)
