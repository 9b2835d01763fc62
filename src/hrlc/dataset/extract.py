"""Feature values at sample pixels, computing only the chunks that hold samples.

Samples are grouped by the spatial chunk of the cube they fall in; for each such chunk
the graph takes that chunk's block (``data.blocks[:, i, j]``) and points into it
(``vindex``), and the pieces are computed together, so shared inputs are computed once
and chunks without samples are never touched (their tasks are culled from the graph).
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import xarray as xr

from hrlc.errors import GridMismatchError


def chunk_index(positions: np.ndarray, chunks: tuple[int, ...]) -> np.ndarray:
    """Index of the chunk that holds each position along one axis."""
    edges = np.cumsum((0, *chunks))
    return np.searchsorted(edges, positions, side="right") - 1


def sample_pieces(cube: xr.DataArray, rows: np.ndarray,
                  cols: np.ndarray) -> tuple[list[da.Array], np.ndarray]:
    """Lazy pieces of the cube at (rows, cols), one per chunk with samples.

    Returns
    -------
    (list of dask arrays (n_k, feature), order)
        ``np.concatenate(computed pieces)[inverse of order]`` follows the input order;
        ``order`` is the permutation that sorts samples by chunk.
    """
    if cube.dims != ("feature", "y", "x"):
        cube = cube.transpose("feature", "y", "x")
    data = cube.data if isinstance(cube.data, da.Array) else da.from_array(cube.data)
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    h, w = data.shape[1:]
    if rows.size and (rows.min() < 0 or cols.min() < 0 or rows.max() >= h or cols.max() >= w):
        raise GridMismatchError(f"sample pixels outside the {h} x {w} feature grid; build "
                                "samples on the cube's own grid")
    ci = chunk_index(rows, data.chunks[1])
    cj = chunk_index(cols, data.chunks[2])
    key = ci * len(data.chunks[2]) + cj
    order = np.argsort(key, kind="stable")
    row_edges = np.cumsum((0, *data.chunks[1]))
    col_edges = np.cumsum((0, *data.chunks[2]))
    pieces = []
    keys, starts = np.unique(key[order], return_index=True)
    for k, members in zip(keys, np.split(order, starts[1:])):
        i, j = divmod(int(k), len(data.chunks[2]))
        block = data.blocks[:, i, j]
        pieces.append(block.vindex[:, rows[members] - row_edges[i], cols[members] - col_edges[j]])
    return pieces, order


def extract_features(cube: xr.DataArray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Feature values of the pixels (rows, cols), reading only the chunks that hold them.

    Parameters
    ----------
    cube : DataArray (feature, y, x) float32
        The feature cube, lazy (dask) or in memory.
    rows, cols : int arrays (n,)
        Pixel indices on the cube's grid.

    Returns
    -------
    ndarray (n, feature) float32, in the order of the input (NaN kept).
    """
    pieces, order = sample_pieces(cube, rows, cols)
    n_features = cube.sizes["feature"]
    if not pieces:
        return np.empty((0, n_features), np.float32)
    values = np.concatenate(dask.compute(*pieces)).astype(np.float32, copy=False)
    out = np.empty_like(values)
    out[order] = values
    return out
