"""Block-level resumable computation of a lazy map into a Zarr intermediate.

:func:`compute_blocks` computes every spatial block of a Dataset (all variables of the
block in one task) and has it written into a Zarr store, with an empty marker file
``.hrlc-blocks/<row>_<col>`` once the block's data is on disk (the files are
:mod:`hrlc.io.block_store`'s). A run that is killed leaves the blocks it finished with
their markers; the next run with the same ``fingerprint`` computes only the blocks
without one. A block cut off half way has no marker and is computed again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dask
import numpy as np
import xarray as xr

from hrlc.errors import InputError
from hrlc.io.block_store import (FINGERPRINT, MARKERS, block_marker, open_block_store,
                                 pending_blocks, write_block)
from hrlc.mapping.block_queue import BlockGraphs, compute_queued, shared_computed_once

__all__ = ["FINGERPRINT", "MARKERS", "BlockRun", "compute_blocks", "map_fingerprint",
           "pending_blocks"]


def map_fingerprint(cube: xr.DataArray, *, bundle_sha256: str, options: dict, source: dict,
                    **extra) -> str:
    """Identity of a map (SHA-256 of :func:`hrlc.io.checksum.json_digest`): what the blocks
    of its intermediate depend on, for :func:`compute_blocks` to resume only the same map.

    ``cube`` is the feature cube (feature, y, x): its feature names, shape, chunks, CRS and
    transform; ``bundle_sha256`` the model file's checksum; ``options`` the map options
    (JSON); ``source`` where the features come from (JSON); ``extra`` anything else the
    caller's map depends on (JSON values).
    """
    from hrlc.io.checksum import json_digest

    return json_digest({
        "bundle_sha256": bundle_sha256, "map": options, "source": source,
        "features": [str(f) for f in cube["feature"].values], "shape": list(cube.shape),
        "chunks": [list(c) for c in cube.chunks] if cube.chunks else None,
        "transform": list(cube.rio.transform(recalc=True))[:6], "crs": str(cube.rio.crs),
        **extra})


@dataclass(frozen=True)
class BlockRun:
    """What :func:`compute_blocks` did.

    Attributes
    ----------
    path : Path
        The Zarr store.
    total : int
        Spatial blocks of the map.
    done_before : int
        Blocks found complete (skipped).
    computed : list of tuple (row, col)
        Block indices computed by this run.
    """

    path: Path
    total: int
    done_before: int
    computed: list[tuple[int, int]]


def _spatial_chunks(ds: xr.Dataset) -> tuple[tuple[int, ...], tuple[int, ...]]:
    chunks = ds.chunks
    if "y" not in chunks or "x" not in chunks:
        raise InputError("compute_blocks needs a lazy (dask) Dataset with y and x dims")
    for name, var in ds.data_vars.items():
        lead = var.dims[:-2]
        if var.dims[-2:] != ("y", "x") or any(len(chunks[d]) > 1 for d in lead):
            raise InputError(f"variable {name!r} must be (..., y, x) with its leading dims in "
                             f"one chunk; got dims {var.dims}")
    for dim in ("y", "x"):
        sizes = chunks[dim]
        if any(s != sizes[0] for s in sizes[:-1]) or sizes[-1] > sizes[0]:
            raise InputError(f"{dim} chunks must be regular for block-wise writing; got "
                             f"{sizes[:4]}...; rechunk first")
    return chunks["y"], chunks["x"]


def _local_threads() -> int | None:
    """Worker threads of dask's local threaded scheduler when it is the active one (the
    default for delayed work), else None (processes, synchronous, dask.distributed)."""
    import dask.threaded
    from dask.base import get_scheduler

    if get_scheduler() not in (None, dask.threaded.get):
        return None
    return int(dask.config.get("num_workers", None) or os.cpu_count() or 1)


def _default_group() -> int:
    """Blocks per compute: two per worker thread of the active scheduler."""
    try:
        from distributed import get_client

        return max(2, 2 * sum(get_client().nthreads().values()))
    except (ImportError, ValueError):
        return max(2, 2 * (dask.config.get("num_workers", None) or os.cpu_count() or 1))


def compute_blocks(ds: xr.Dataset, path: str | os.PathLike, *, fingerprint: str,
                   resume: bool = True, blocks_per_compute: int | None = None,
                   on_block: Callable[[], None] | None = None) -> BlockRun:
    """Compute a lazy Dataset into a Zarr store block by block, skipping finished blocks.

    Parameters
    ----------
    ds : Dataset of (..., y, x) dask variables
        Same regular spatial chunks for every variable, leading dims in one chunk
        (e.g. :func:`hrlc.mapping.predict_map`'s output).
    path : path
        The Zarr intermediate (created if needed).
    fingerprint : str
        Identity of the run (config, model checksum, grid); a store made with another
        fingerprint is discarded and started afresh.
    resume : bool
        False: discard any existing store and compute everything.
    blocks_per_compute : int, optional
        With dask.distributed or the processes scheduler: blocks handed to dask at once
        (default: two per worker thread). dask does not always finish a block before it
        starts the next (a block's full feature vector joins many layers that share
        inputs with the neighbouring blocks), so one compute over a whole tile can hold
        most of the tile's features; groups of blocks bound the memory. With the local
        threads scheduler (the default) each thread computes one whole block at a time,
        taking the next from a queue (no idle thread at a group's end, at most one block
        per thread in memory). What every block needs is computed once beforehand, and
        small results that neighbouring blocks share (a chunk's quantised band, read by
        the textures of the nine blocks around it) are computed once and passed on (see
        :mod:`hrlc.mapping.block_queue`).
    on_block : callable, optional
        Called (no argument) once per block: at once for each block an earlier run
        finished, then each time a block is computed (progress).

    Returns
    -------
    BlockRun
        Blocks found complete and blocks computed; open the result with
        ``hrlc.io.read_zarr(path)``.
    """
    ychunks, xchunks = _spatial_chunks(ds)
    path = open_block_store(ds, path, fingerprint=fingerprint, resume=resume)
    grid = (len(ychunks), len(xchunks))
    todo = pending_blocks(path, grid)
    ystart, xstart = np.cumsum((0, *ychunks)), np.cumsum((0, *xchunks))
    names = list(ds.data_vars)
    # unoptimised per-chunk graphs: the variables of one block then share their keys (one
    # prediction task per block); optimising each array alone would fuse the shared task
    # into every variable and run it once per variable
    chunks = {name: ds[name].data.to_delayed(optimize_graph=False) for name in names}
    writes = []
    for i, j in todo:
        region = (slice(ystart[i], ystart[i + 1]), slice(xstart[j], xstart[j + 1]))
        blocks = [chunks[name][(0,) * (ds[name].ndim - 2) + (i, j)] for name in names]
        writes.append(dask.delayed(write_block, pure=False)(
            str(path), names, region, block_marker(path, i, j), *blocks))
    on_block = on_block or (lambda: None)
    for _ in range(grid[0] * grid[1] - len(todo)):
        on_block()  # finished by an earlier run
    threads = _local_threads()
    if writes and threads is not None and blocks_per_compute is None:
        compute_queued(writes, threads, on_block, block_pixels=ychunks[0] * xchunks[0])
    elif writes:
        size = blocks_per_compute or _default_group()
        if len(writes) > size:
            writes = shared_computed_once(BlockGraphs.of(writes)).writes()
        for start in range(0, len(writes), size):
            dask.compute(*writes[start:start + size])
            for _ in writes[start:start + size]:
                on_block()
    return BlockRun(path=path, total=grid[0] * grid[1], done_before=grid[0] * grid[1] - len(todo),
                    computed=todo)
