"""Blocks computed from a queue share what their neighbours' halos need."""

import threading
from collections import Counter

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

from hrlc.mapping import block_queue, compute_blocks


def _windowed(calls: Counter, lock: threading.Lock, *, grid: int = 4, side: int = 16):
    """A (y, x) map whose every chunk comes from a counted source and a 3 x 3 window
    (depth 1): each block's graph needs the source of the chunks around it."""
    def source(block, block_info=None):
        with lock:
            calls[tuple(block_info[0]["chunk-location"])] += 1
        return (block % 7).astype(np.uint8)  # compact, as a quantised band

    size = grid * side
    base = da.arange(size * size, dtype=np.float64).reshape(size, size).rechunk(side)
    levels = base.map_blocks(source, dtype=np.uint8)
    window = levels.map_overlap(lambda b: b + 10.0 * np.roll(b, 1, 0) + 100.0 * np.roll(b, 1, 1),
                                depth=1, boundary="none", dtype=np.float64)
    return xr.Dataset({"value": (("y", "x"), window)})


@pytest.mark.parametrize("threads", [1, 2])
def test_each_neighbour_source_computed_once_and_the_map_unchanged(tmp_path, threads):
    calls, lock = Counter(), threading.Lock()
    ds = _windowed(calls, lock)
    expected = _windowed(Counter(), threading.Lock()).compute(scheduler="sync")
    with dask.config.set(scheduler="threads", num_workers=threads):
        run = compute_blocks(ds, tmp_path / "work.zarr", fingerprint="t")
    assert run.total == 16 and len(calls) == 16
    if threads == 1:  # blocks in row order: every source is ready before a later block
        assert set(calls.values()) == {1}
    else:  # two blocks start together and may both compute a shared source
        assert sum(calls.values()) <= 2 * 16
    np.testing.assert_array_equal(xr.open_zarr(tmp_path / "work.zarr")["value"].values,
                                  expected["value"].values)


def test_without_sharing_each_source_is_computed_for_every_block_around(tmp_path,
                                                                         monkeypatch):
    """What the sharing saves: a chunk's source is otherwise computed once for each of
    the (up to nine) blocks whose halo needs it."""
    monkeypatch.setattr(block_queue.NeighbourResults, "keep", lambda self, *args: None)
    calls, lock = Counter(), threading.Lock()
    with dask.config.set(scheduler="threads", num_workers=1):
        compute_blocks(_windowed(calls, lock), tmp_path / "work.zarr", fingerprint="t")
    assert calls[(0, 0)] == 4 and calls[(1, 1)] == 9 and calls[(0, 1)] == 6


def test_kept_results_stay_within_their_bounds():
    """A result larger than ``item_bytes`` is not kept (with compute_blocks: 1.25 bytes
    per pixel of a block, so a float layer is not), nor one past ``total_bytes``; a view
    is kept as a copy (not with its whole base array)."""
    calls, lock = Counter(), threading.Lock()
    ds = _windowed(calls, lock)
    writes = [dask.delayed(lambda *b: None)(block) for block in
              ds["value"].data.to_delayed(optimize_graph=False).ravel()]
    blocks = block_queue.BlockGraphs.of(writes)
    shared = block_queue.NeighbourResults(blocks, item_bytes=1000, total_bytes=1500)
    key = next(iter(shared._wanted))
    shared.keep(key, np.zeros(126))  # 1008 bytes > item_bytes
    assert shared._values == {}
    base = np.zeros(200)
    shared.keep(key, base[:100])  # 800 bytes, a view
    assert shared._values[key].base is None and shared._bytes == 800
    other = next(k for k in shared._wanted if k != key)
    shared.keep(other, np.zeros(100))  # 800 more would pass total_bytes
    assert other not in shared._values
