"""Extraction computes only the chunks that hold samples, and gets exact values."""

from __future__ import annotations

import threading

import dask.array as da
import numpy as np
import pytest

from hrlc.dataset import extract_features
from hrlc.errors import GridMismatchError
from tests.dataset.conftest import make_cube


def counting(cube):
    """The cube through a map_blocks that records the (feature, y, x) chunk it computes."""
    seen: list[tuple[int, ...]] = []
    lock = threading.Lock()

    def record(block, block_info=None):
        with lock:
            seen.append(tuple(block_info[0]["chunk-location"]))
        return block

    data = da.map_blocks(record, cube.data, dtype=cube.dtype)
    return cube.copy(data=data), seen


@pytest.mark.parametrize("chunks", [(5, 5), (3, 4), (10, 10)])
def test_values_are_exact_and_in_input_order(chunks):
    cube = make_cube(chunks=chunks)
    rows = np.array([9, 0, 4, 4, 7, 0])
    cols = np.array([9, 0, 5, 4, 1, 0])
    values = extract_features(cube, rows, cols)
    assert values.dtype == np.float32 and values.shape == (6, 3)
    np.testing.assert_array_equal(values, cube.values[:, rows, cols].T)


def test_only_chunks_with_samples_are_computed():
    cube, seen = counting(make_cube((40, 40), chunks=(10, 10)))  # 3 features x 4 x 4 chunks
    rows = np.array([1, 2, 35, 38, 12])
    cols = np.array([1, 8, 39, 30, 25])  # chunks (0, 0) twice, (3, 3) twice, (1, 2)
    values = extract_features(cube, rows, cols)
    np.testing.assert_array_equal(values[:, 0], 100 * rows + cols)
    assert sorted(seen) == sorted((k, i, j) for k in range(3)
                                  for i, j in [(0, 0), (3, 3), (1, 2)])


def test_no_samples_and_samples_off_the_grid():
    cube = make_cube()
    assert extract_features(cube, np.array([], int), np.array([], int)).shape == (0, 3)
    with pytest.raises(GridMismatchError, match="outside"):
        extract_features(cube, np.array([10]), np.array([0]))
