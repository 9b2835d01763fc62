"""Spectral indices computed from reflectance, lazily (:func:`compute_index`).

The registry (names, formulas, references) and the name resolution are
:mod:`hrlc.config.indices` (re-exported here); every division is safe: NaN (never inf)
where the denominator is 0.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from hrlc.config.expressions import Expression
from hrlc.config.indices import (INDEX_NAMES, INDICES, SOBEL, SOBEL_REFERENCE, SpectralIndex,
                                 resolve_indices)
from hrlc.errors import MissingBandError
from hrlc.features.sobel import sobel

__all__ = ["INDEX_NAMES", "INDICES", "SOBEL", "SOBEL_REFERENCE", "SpectralIndex",
           "compute_index", "resolve_indices"]


def _evaluate(*arrays: np.ndarray, expression: Expression) -> np.ndarray:
    return expression(*arrays)


def _per_layer(func, data: xr.DataArray) -> xr.DataArray:
    """Apply a (y, x) function to every layer of a (..., y, x) array."""
    if data.ndim == 2:
        return func(data)
    dim = data.dims[0]
    return xr.concat([_per_layer(func, data.isel({dim: k})) for k in range(data.sizes[dim])],
                     dim=dim)


def _require(reflectance: xr.DataArray, index: str, bands: tuple[str, ...]) -> None:
    have = [str(b) for b in reflectance["band"].values]
    for band in bands:
        if band not in have:
            raise MissingBandError(
                f"index {index} needs band {band}, which the composites do not have "
                f"(bands: {', '.join(have)}); add {band} to the composites or drop {index}")


def compute_index(reflectance: xr.DataArray, index: str | SpectralIndex, *,
                  sobel_band: str = "B08") -> xr.DataArray:
    """One index from reflectance, lazily.

    Parameters
    ----------
    reflectance : DataArray (..., band, y, x), float32, 0-1
        E.g. monthly composites (time, band, y, x); ``band`` holds band names.
    index : str or SpectralIndex
        A built-in name (:data:`INDEX_NAMES`) or an entry made by :func:`resolve_indices`.
    sobel_band : str
        Band whose Sobel gradient magnitude is the SOBEL index.

    Returns
    -------
    DataArray (..., y, x) float32, unitless (SOBEL: reflectance per pixel), NaN where
    undefined; coords other than ``band`` carried over.

    Raises
    ------
    MissingBandError
        A band the index needs is missing (the message names index and band).
    ConfigError
        Unknown index name.
    """
    if isinstance(index, str):
        index = resolve_indices([index])[index.upper()] if index.upper() != SOBEL else None
    if index is None:
        _require(reflectance, SOBEL, (sobel_band,))
        return _per_layer(sobel, reflectance.sel(band=sobel_band, drop=True)).rename(SOBEL)
    expression = index.expression
    _require(reflectance, index.name, expression.bands)
    arrays = [reflectance.sel(band=b, drop=True) for b in expression.bands]
    out = xr.apply_ufunc(_evaluate, *arrays, kwargs={"expression": expression},
                         dask="parallelized", output_dtypes=[np.float32], keep_attrs=True)
    return out.rename(index.name)
