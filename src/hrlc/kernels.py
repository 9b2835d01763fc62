r"""Compiled kernels shared by several stages (numpy in, numpy out; below the stages).

:func:`nan_quantile` is the one per-pixel quantile over time of hrlc: the monthly
composites (``method="median"`` / ``"quantile"``) and the seasonal background of the
cloud masks both take it. Its definition is :func:`numpy.nanquantile` with
``method="linear"`` evaluated in float64 and rounded once to float32::

    nan_quantile(values, q, valid=valid)
        == np.nanquantile(np.where(valid, values, nan).astype(np.float64), q,
                          axis=0).astype(np.float32)        # bit for bit

i.e. the valid values ``v_(0) <= ... <= v_(k-1)`` of a pixel are interpolated at
``h = (k - 1) q`` as ``v_(j) + (h - j) (v_(j+1) - v_(j))`` (``j = floor(h)``, numpy's
two-sided lerp). numpy itself, given float32 data, interpolates in float32 and so
differs from this by up to one float32 ulp.

Which observations count (a month, a season window, a clear mask) is the caller's
business: it passes the dates it wants and a ``valid`` mask. The kernel is compiled
with numba and releases the GIL, so dask threads run it in parallel.

:func:`kernel_array` is how every stage hands an array to a numba kernel: C-contiguous,
aligned and writable, so that a kernel is compiled once per dtype and not once more per
layout of each argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from hrlc.errors import ConfigError, InputError


def kernel_array(array, dtype=None) -> np.ndarray:
    """``array`` as a C-contiguous, aligned, writable ndarray; a copy only if it is not.

    numba compiles a kernel once per tuple of argument types, and an array's type holds
    its layout ('C', or 'A' for a strided view) and whether it is read-only besides its
    dtype and rank. dask hands a block function views (a spatial chunk of a numpy-backed
    array is strided, a ``full_like`` is a read-only broadcast), so without this each
    mix of layouts of a kernel's arguments was compiled in its own variant (up to 6 per
    kernel, each paid in CPU time by every process that needs it before numba's cache
    holds it). Only a view is copied, in one pass over it: on a strided block of the
    shadow correction that is about a tenth of its kernels' time, against a compile.
    """
    return np.require(array, dtype, ("C", "A", "W"))


@njit(nogil=True, cache=True)
def _quantile_rows(values, valid, q, out):  # pragma: no cover - compiled
    """``out[b, p]``: the ``q[b]`` quantile of ``values[b, p, :]`` where ``valid[p, :]``
    and not NaN (NaN when none). values (B, P, T) float, valid (P, T) bool, q (B,)
    float64, out (B, P) float32; time is the last, contiguous axis."""
    n_band, n_pix, n_time = values.shape
    buf = np.empty(n_time, np.float64)
    for p in range(n_pix):
        for b in range(n_band):
            k = 0
            for t in range(n_time):
                v = values[b, p, t]
                if valid[p, t] and v == v:
                    # insertion sort while gathering: a pixel has tens of dates at most
                    i = k
                    while i > 0 and buf[i - 1] > v:
                        buf[i] = buf[i - 1]
                        i -= 1
                    buf[i] = v
                    k += 1
            if k == 0:
                out[b, p] = np.nan
                continue
            h = (k - 1) * q[b]
            j = int(np.floor(h))
            gamma = h - j
            lo = buf[j]
            hi = buf[min(j + 1, k - 1)]
            diff = hi - lo
            # numpy's _lerp: from the nearer end, so q=1 gives the maximum exactly
            if gamma >= 0.5:
                out[b, p] = hi - diff * (1.0 - gamma)
            else:
                out[b, p] = lo + diff * gamma


def nan_quantile(values: np.ndarray, q: float | Sequence[float], *,
                 valid: np.ndarray | None = None) -> np.ndarray:
    """Per pixel and band, the quantile over time of the valid, non-NaN observations.

    Parameters
    ----------
    values : ndarray (time, band, ...), float32 or float64
        Observations, e.g. reflectance 0-1; NaN never counts. Any number of trailing
        (spatial) dims, e.g. (time, band, y, x) or (time, band, pixel).
    q : float or sequence of float (band,)
        Quantile(s) in [0, 1] (0.5 = median); one per band, or one for all.
    valid : ndarray (time, ...), bool, optional
        Observations that count (the same for every band), e.g. the clear dates;
        default all of them.

    Returns
    -------
    ndarray (band, ...), float32
        ``numpy.nanquantile(..., method="linear")`` in float64, rounded to float32 (see
        the module notes); NaN where a pixel has no valid observation.

    Raises
    ------
    InputError
        ``values`` without a band axis, or ``valid`` of another shape than
        ``values`` without its band axis.
    ConfigError
        A quantile outside [0, 1], or not one per band.
    """
    values = np.asarray(values)
    if values.ndim < 2:
        raise InputError(f"nan_quantile needs values (time, band, ...); got shape "
                         f"{values.shape}; add a band axis, e.g. values[:, None]")
    n_time, n_band = values.shape[:2]
    space = values.shape[2:]
    if valid is None:
        valid = np.ones((n_time, *space), dtype=bool)
    valid = np.asarray(valid, dtype=bool)
    if valid.shape != (n_time, *space):
        raise InputError(f"valid has shape {valid.shape}, the values {values.shape}; "
                         f"give one flag per date and pixel: {(n_time, *space)}")
    quantiles = np.asarray(q, dtype=np.float64).ravel()
    if quantiles.size == 1:
        quantiles = np.full(n_band, quantiles[0])
    elif quantiles.size != n_band:
        raise ConfigError(f"give one quantile, or one per band ({n_band}); got "
                          f"{quantiles.size}")
    if not ((quantiles >= 0) & (quantiles <= 1)).all():
        raise ConfigError(f"quantiles must lie in [0, 1], got {np.asarray(q).tolist()}")
    if values.dtype not in (np.float32, np.float64):
        values = values.astype(np.float64)
    # (band, pixel, time) with time contiguous: one pixel's dates are read in a row
    laid = kernel_array(np.moveaxis(values.reshape(n_time, n_band, -1), 0, -1))
    flags = kernel_array(valid.reshape(n_time, -1).T)
    out = np.empty((n_band, laid.shape[1]), np.float32)
    _quantile_rows(laid, flags, kernel_array(quantiles), out)
    return out.reshape(n_band, *space)
