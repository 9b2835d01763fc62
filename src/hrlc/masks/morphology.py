"""Morphological cleaning of (time, y, x) masks, chunk by chunk without seams.

Opening (erosion then dilation) removes specks smaller than the structuring element,
closing (dilation then erosion) fills holes and gaps, a buffer (dilation) widens the
mask to catch faint edges. Structuring elements are squares of side ``2 r + 1``
(radius ``r`` in pixels), which run as separable running minima/maxima in time
independent of ``r``.

Every operation goes through :func:`padded_apply`: a dask array is grown by a halo at
least as wide as the operation reaches (``2 * opening + 2 * closing + buffer``), the
image edge is padded by repeating the edge pixels, and the halo is trimmed afterwards;
a numpy array is padded the same way. So one chunk and many small chunks give
identical masks (the tests check it), and clouds touching the image edge are not
eroded away.
"""

from __future__ import annotations

from collections.abc import Callable

import dask.array as da
import numpy as np
from scipy import ndimage


def padded_apply(func: Callable[[np.ndarray], np.ndarray], data: np.ndarray | da.Array, *,
                 depth: int, dtype=None) -> np.ndarray | da.Array:
    """Apply a local (time, y, x) -> (time, y, x) function with an edge-replicated halo.

    Parameters
    ----------
    func : callable
        Works on a padded block; values within ``depth`` of its border are discarded.
    data : numpy or dask array (time, y, x)
    depth : int
        Halo in pixels, at least the reach of ``func``.
    dtype : dtype, optional
        Output dtype (default that of ``data``).
    """
    dtype = np.dtype(dtype or data.dtype)
    if depth <= 0:
        if isinstance(data, da.Array):
            return data.map_blocks(func, dtype=dtype)
        return func(data)
    if isinstance(data, da.Array):
        small = min(min(c) for c in data.chunks[1:])
        if small < depth:  # a halo must fit in the neighbouring chunk
            data = data.rechunk({1: max(depth, max(data.chunks[1])),
                                 2: max(depth, max(data.chunks[2]))})
        return da.map_overlap(func, data, depth={0: 0, 1: depth, 2: depth},
                              boundary={0: "none", 1: "nearest", 2: "nearest"}, dtype=dtype,
                              meta=np.empty((0, 0, 0), dtype))
    padded = np.pad(data, ((0, 0), (depth, depth), (depth, depth)), mode="edge")
    return func(padded)[:, depth:-depth, depth:-depth]


def _filter(block: np.ndarray, radius: int, kind: str) -> np.ndarray:
    if radius <= 0:
        return block
    size = (1, 2 * radius + 1, 2 * radius + 1)
    op = ndimage.maximum_filter if kind == "dilate" else ndimage.minimum_filter
    return op(block, size=size, mode="nearest")


def _clean_block(block: np.ndarray, *, opening: int, closing: int, buffer: int) -> np.ndarray:
    mask = block.astype(np.uint8)
    mask = _filter(_filter(mask, opening, "erode"), opening, "dilate")
    mask = _filter(_filter(mask, closing, "dilate"), closing, "erode")
    return _filter(mask, buffer, "dilate").astype(bool)


def clean_reach(*, opening: int, closing: int, buffer: int) -> int:
    """How far (pixels) :func:`clean_mask` looks: the halo it needs."""
    return 2 * opening + 2 * closing + buffer


def clean_mask(mask: np.ndarray | da.Array, *, opening: int = 1, closing: int = 2,
               buffer: int = 0) -> np.ndarray | da.Array:
    """Opening, closing and buffer of a boolean (time, y, x) mask, per date.

    Parameters
    ----------
    mask : numpy or dask array (time, y, x), bool
    opening, closing, buffer : int
        Radii in pixels (0 skips the step).

    Returns
    -------
    Same kind of array, bool; independent of the chunking.
    """
    for name, value in (("opening", opening), ("closing", closing), ("buffer", buffer)):
        if value < 0:
            raise ValueError(f"{name} radius must be >= 0 pixels, got {value}")

    def func(block):
        return _clean_block(block, opening=opening, closing=closing, buffer=buffer)

    return padded_apply(func, mask, depth=clean_reach(opening=opening, closing=closing,
                                                      buffer=buffer), dtype=bool)
