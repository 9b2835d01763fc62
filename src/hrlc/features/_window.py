"""Windowed operations on (y, x) arrays: one ``overlap`` + ``map_blocks`` + ``trim`` helper.

Every windowed feature (GLCM, Sobel, slope/aspect) goes through :func:`map_window`, so
the halo, the boundary and the trimming are handled in one place, and a numpy input
gives exactly the same numbers as the same data cut into small dask chunks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import dask.array as da
import numba
import numpy as np

# numba's "workqueue" threading layer must not be entered from two threads at once;
# "omp" and "tbb" may. dask runs blocks on several threads, so serialise only then.
_WORKQUEUE_LOCK = threading.Lock()


def run_parallel_kernel(kernel: Callable[..., Any], *args: Any) -> Any:
    """Call a ``parallel=True`` numba kernel safely from any thread.

    From the main thread (numpy input, dask's synchronous scheduler) the kernel's rows
    run on all of numba's threads. From other threads (dask's thread pool, which already
    runs one chunk per core) it runs on one, since nested pools oversubscribe the cores
    (measured: 25 % slower on 2 cores). numba's thread count is per calling thread.
    """
    if threading.current_thread() is not threading.main_thread():
        numba.set_num_threads(1)
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet in this process
        with _WORKQUEUE_LOCK:
            return kernel(*args)
    if layer == "workqueue":
        with _WORKQUEUE_LOCK:
            return kernel(*args)
    return kernel(*args)


def map_window(
    block_func: Callable[..., np.ndarray],
    data: da.Array | np.ndarray,
    *args: Any,
    depth: int,
    boundary: float | int,
    n_out: int,
    dtype: np.dtype | type,
) -> da.Array:
    """Apply ``block_func`` to every chunk of ``data`` grown by a halo of ``depth`` pixels.

    Parameters
    ----------
    block_func : callable
        ``block_func(padded_block, *args) -> ndarray (n_out, rows, cols)`` for a padded
        (rows, cols) block; values within ``depth`` of the padded block's border are
        discarded, so the function may leave them undefined.
    data : dask or numpy array (y, x)
        Input; numpy input is treated as one chunk.
    depth : int
        Halo in pixels, the radius of the window (``window // 2``).
    boundary : scalar
        Value that pads the outer edge of the image (e.g. NaN, or an "invalid" grey
        level): pixels beyond the image are treated as missing, never mirrored.
    n_out : int
        Number of output layers.

    Returns
    -------
    dask array (n_out, y, x) with the spatial chunks of ``data``.
    """
    if not isinstance(data, da.Array):
        data = da.from_array(np.asarray(data), chunks=-1)
    if data.ndim != 2:
        raise ValueError(f"map_window needs a (y, x) array, got {data.ndim} dimensions")
    depth = int(depth)
    rows, cols = data.shape
    if depth and (rows < depth or cols < depth):
        # an image narrower than the halo (one row, one column): grow it with the
        # boundary value, which is what lies beyond the image anyway, then cut it back
        grown = da.pad(data, ((0, max(0, depth - rows)), (0, max(0, depth - cols))),
                       constant_values=boundary)
        return map_window(block_func, grown, *args, depth=depth, boundary=boundary,
                          n_out=n_out, dtype=dtype)[:, :rows, :cols]
    if depth == 0:
        grown = data
    else:
        # A halo larger than a chunk needs chunks at least `depth` wide.
        small = [min(c) for c in data.chunks]
        if min(small) < depth:
            data = data.rechunk(tuple(max(depth, max(c)) for c in data.chunks))
        grown = da.overlap.overlap(data, depth={0: depth, 1: depth},
                                   boundary={0: boundary, 1: boundary})
    out = grown.map_blocks(
        block_func, *args, new_axis=0, dtype=dtype,
        chunks=((n_out,), grown.chunks[0], grown.chunks[1]),
        meta=np.empty((0, 0, 0), dtype),
    )
    if depth == 0:
        return out
    return da.overlap.trim_internal(out, {0: 0, 1: depth, 2: depth}, boundary=boundary)
