"""The Zarr store of a block-by-block computation: blocks, markers, fingerprint."""

import dask.array as da
import numpy as np
import xarray as xr

from hrlc.io.block_store import (FINGERPRINT, MARKERS, block_marker, open_block_store,
                                 pending_blocks, write_block)


def _dataset():
    values = np.arange(2 * 6 * 4, dtype=np.float32).reshape(2, 6, 4)
    return xr.Dataset({"classes": (("y", "x"), da.zeros((6, 4), np.uint8, chunks=(3, 2))),
                       "proba": (("class", "y", "x"), da.from_array(values,
                                                                    chunks=(2, 3, 2)))},
                      coords={"y": np.arange(6.0), "x": np.arange(4.0), "class": [1, 2]}), values


def test_blocks_and_markers(tmp_path):
    ds, values = _dataset()
    path = open_block_store(ds, tmp_path / "sub" / "work.zarr", fingerprint="one")
    assert (path / FINGERPRINT).read_text() == "one" and (path / MARKERS).is_dir()
    assert [p.name for p in path.parent.iterdir()] == ["work.zarr"]  # no temporary left
    assert pending_blocks(path, (2, 2)) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    region = (slice(3, 6), slice(0, 2))
    write_block(str(path), ["classes", "proba"], region, block_marker(path, 1, 0),
                np.full((3, 2), 7, np.uint8), values[:, 3:6, 0:2])
    assert pending_blocks(path, (2, 2)) == [(0, 0), (0, 1), (1, 1)]
    stored = xr.open_zarr(path)
    np.testing.assert_array_equal(stored["proba"].values[:, 3:6, 0:2], values[:, 3:6, 0:2])
    np.testing.assert_array_equal(stored["classes"].values[3:6, 0:2], 7)
    assert sorted(p.name for p in (path / "classes").glob("[0-9]*")) == ["1.0"]  # that block only
    assert stored["proba"].encoding["chunks"] == (2, 3, 2)  # Zarr chunks = dask chunks

    # the same fingerprint keeps the finished block; another one, or no resume, starts afresh
    assert pending_blocks(open_block_store(ds, path, fingerprint="one"), (2, 2)) == [
        (0, 0), (0, 1), (1, 1)]
    assert len(pending_blocks(open_block_store(ds, path, fingerprint="two"), (2, 2))) == 4
    assert (path / FINGERPRINT).read_text() == "two"
    write_block(str(path), ["classes"], (slice(0, 3), slice(0, 2)), block_marker(path, 0, 0),
                np.ones((3, 2), np.uint8))
    assert (path / "classes" / "0.0").is_file()
    path = open_block_store(ds, path, fingerprint="two", resume=False)
    assert len(pending_blocks(path, (2, 2))) == 4
    assert not (path / "classes" / "0.0").exists()
