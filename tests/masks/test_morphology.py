import dask.array as da
import numpy as np
import pytest

from hrlc.masks import clean_mask


def test_opening_removes_specks_closing_fills_holes_buffer_grows():
    mask = np.zeros((1, 20, 20), bool)
    mask[0, 2, 2] = True                      # a speck
    mask[0, 8:16, 8:16] = True                # a cloud with a hole
    mask[0, 11, 11] = False
    out = clean_mask(mask, opening=1, closing=1, buffer=0)
    assert not out[0, 2, 2] and out[0, 11, 11] and out[0, 8:16, 8:16].all()
    grown = clean_mask(mask, opening=1, closing=1, buffer=2)
    assert grown[0, 6:18, 6:18].all() and not grown[0, 5, 5]


def test_clouds_at_the_image_edge_are_kept():
    mask = np.zeros((1, 10, 10), bool)
    mask[0, :4, :4] = True
    np.testing.assert_array_equal(clean_mask(mask, opening=1, closing=2, buffer=0), mask)


@pytest.mark.parametrize("chunks", [(1, 7, 9), (2, 16, 5), (3, 40, 40)])
def test_chunked_equals_one_chunk(chunks):
    mask = np.random.default_rng(0).random((3, 40, 40)) > 0.6
    ref = clean_mask(mask, opening=1, closing=2, buffer=1)
    out = clean_mask(da.from_array(mask, chunks=chunks), opening=1, closing=2, buffer=1)
    np.testing.assert_array_equal(out.compute(), ref)
