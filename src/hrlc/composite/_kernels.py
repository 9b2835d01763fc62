"""NumPy kernels of monthly compositing, applied to one month x one spatial chunk.

The median and quantile composites are :func:`hrlc.kernels.nan_quantile` (numpy's
``nanquantile``, method "linear", in float64), shared with the seasonal background.

Each kernel receives ``data`` (n, band, y, x) float32, the scenes of one month, and
``valid`` (n, y, x) bool, which of them enter the composite, and returns (band, y, x)
float32 with NaN where no observation is valid.
Every pixel is computed independently, so results do not depend on the chunking.
"""

from __future__ import annotations

import numpy as np

from hrlc.kernels import nan_quantile


def _pick(data: np.ndarray, index: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """All bands of observation ``index`` (y, x) of each pixel; NaN without observations."""
    chosen = np.take_along_axis(data, index[np.newaxis, np.newaxis], axis=0)[0]
    return np.where(valid.any(axis=0), chosen, np.float32(np.nan)).astype(np.float32)


def max_ndvi(data: np.ndarray, valid: np.ndarray, *, red: int, nir: int) -> np.ndarray:
    """All bands of the valid observation with the highest NDVI (first one on ties)."""
    r, n = data[:, red], data[:, nir]
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (n - r) / (n + r)
    ndvi = np.where(valid & np.isfinite(ndvi), ndvi, -np.inf)
    return _pick(data, np.argmax(ndvi, axis=0), valid)


def medoid(data: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """All bands of the valid observation closest to the others (first one on ties).

    The medoid minimises the sum of Euclidean distances (over bands) to the other
    valid observations of the month; pairs are visited one at a time so memory stays
    at a few (y, x) arrays per observation.
    """
    n = data.shape[0]
    total = np.zeros((n,) + data.shape[2:], np.float32)
    for i in range(n):
        for j in range(i + 1, n):
            d = np.sqrt(np.sum((data[i] - data[j]) ** 2, axis=0))
            both = valid[i] & valid[j]
            d = np.where(both, d, 0).astype(np.float32)
            total[i] += d
            total[j] += d
    total = np.where(valid, total, np.inf)
    return _pick(data, np.argmin(total, axis=0), valid)


def valid_observations(data: np.ndarray, mask: np.ndarray,
                       clear_codes: tuple[int, ...]) -> np.ndarray:
    """(n, y, x) bool: the mask says clear and every band has a value."""
    return np.isin(mask, clear_codes) & np.isfinite(data).all(axis=1)


def composite_block(data: np.ndarray, mask: np.ndarray, *, method: str, q: float,
                    red: int | None, nir: int | None,
                    clear_codes: tuple[int, ...]) -> np.ndarray:
    """(1, band, y, x) composite of one month's block; ``mask`` is (n, 1, y, x)."""
    valid = valid_observations(data, mask[:, 0], clear_codes)
    if method in ("median", "quantile"):
        out = nan_quantile(data, 0.5 if method == "median" else q, valid=valid)
    elif method == "max_ndvi":
        out = max_ndvi(data, valid, red=red, nir=nir)
    else:
        out = medoid(data, valid)
    return out[np.newaxis]


def count_block(data: np.ndarray, mask: np.ndarray, *,
                clear_codes: tuple[int, ...]) -> np.ndarray:
    """(1, y, x) number of valid observations of one month's block (uint16)."""
    valid = valid_observations(data, mask[:, 0], clear_codes)
    return valid.sum(axis=0, dtype=np.uint16)[np.newaxis]
