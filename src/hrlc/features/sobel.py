"""Sobel gradients: the 3 x 3 kernel shared by the Sobel feature and slope/aspect.

Missing neighbours (NaN, or beyond the image edge) are filled by linear extrapolation:
a side neighbour by ``2 centre - opposite`` (the centre value when the opposite one is
missing too), then a corner by ``side1 + side2 - centre``. On a plane this is exact,
so the gradient at the image edge and next to nodata is the true one rather than a
halved or mirrored one. A NaN centre gives NaN.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr
from numba import njit, prange

from hrlc.features._window import map_window, run_parallel_kernel
from hrlc.kernels import kernel_array


@njit(cache=True)
def _side(v, centre, opposite):
    if v == v:
        return v
    if opposite == opposite:
        return 2.0 * centre - opposite
    return centre


@njit(cache=True)
def _corner(v, side1, side2, centre):
    return v if v == v else side1 + side2 - centre


@njit(parallel=True, cache=True)
def _sobel_rows(z):
    """(2, rows, cols) float64: Horn/Sobel dz per column step and per row step.

    ``((c + 2f + i) - (a + 2d + g)) / 8`` along columns and ``((g + 2h + i) -
    (a + 2b + c)) / 8`` along rows, for the neighbourhood ``a b c / d e f / g h i``;
    the one-pixel border of the array is NaN.
    """
    rows, cols = z.shape
    out = np.full((2, rows, cols), np.nan)
    for y in prange(1, rows - 1):
        for x in range(1, cols - 1):
            e = z[y, x]
            if e != e:
                continue
            a0, b0, c0 = z[y - 1, x - 1], z[y - 1, x], z[y - 1, x + 1]
            d0, f0 = z[y, x - 1], z[y, x + 1]
            g0, h0, i0 = z[y + 1, x - 1], z[y + 1, x], z[y + 1, x + 1]
            b, h = _side(b0, e, h0), _side(h0, e, b0)
            d, f = _side(d0, e, f0), _side(f0, e, d0)
            a, c = _corner(a0, b, d, e), _corner(c0, b, f, e)
            g, i = _corner(g0, d, h, e), _corner(i0, f, h, e)
            out[0, y, x] = ((c + 2.0 * f + i) - (a + 2.0 * d + g)) / 8.0
            out[1, y, x] = ((g + 2.0 * h + i) - (a + 2.0 * b + c)) / 8.0
    return out


def _sobel_block(padded: np.ndarray) -> np.ndarray:
    return run_parallel_kernel(_sobel_rows, kernel_array(padded, np.float64))


def pixel_gradients(data: da.Array | np.ndarray) -> da.Array:
    """Lazy (2, y, x) float64 gradients per pixel step: [d/d column, d/d row].

    Parameters
    ----------
    data : dask or numpy array (y, x)
        Any real values; NaN is missing.

    Returns
    -------
    dask array (2, y, x) float64, same spatial chunks, value units per pixel.
    """
    return map_window(_sobel_block, data, depth=1, boundary=np.nan, n_out=2,
                      dtype=np.float64)


def sobel(band: xr.DataArray) -> xr.DataArray:
    """Sobel gradient magnitude of one band, as :func:`skimage.filters.sobel` defines it.

    ``sqrt((Gx^2 + Gy^2) / 2)`` with ``Gx``, ``Gy`` the correlations with
    ``[1, 2, 1]^T [1, 0, -1] / 4`` and its transpose; equal to scikit-image away from the
    image edge (at the edge, see the module notes).

    Parameters
    ----------
    band : DataArray (y, x), float
        E.g. NIR reflectance (0-1) of one composite; NaN is nodata.

    Returns
    -------
    DataArray (y, x) float32, in band units per pixel; coords and attrs carried over.
    """
    grad = pixel_gradients(band.data)
    # Horn gradients are the Sobel responses / 2 (weights sum to 8 instead of 4).
    magnitude = da.sqrt(2.0 * (grad[0] ** 2 + grad[1] ** 2)).astype(np.float32)
    return band.copy(data=magnitude)
