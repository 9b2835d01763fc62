"""Layers whose grids nearly agree (odd-sized crops) are aligned; real mismatches fail."""

import numpy as np
import pytest

from hrlc.errors import GridMismatchError
from hrlc.io import read_l2a, read_scl

from tests.conftest import write_band

GEO = dict(epsg=32633, ulx=465180.0, uly=5080260.0)
DATE = "20190610T101031"


def _crop(folder, rows=47, cols=50, *, b03_rows=None, b03_ulx=None, seed=0):
    """A band folder of an odd-sized crop: 10 m bands of rows x cols, 20 m and 60 m
    layers rounded up to whole pixels (as gdal_translate -projwin writes them)."""
    rng = np.random.default_rng(seed)
    dns = {}
    layers = (("B02", 10, rows, GEO["ulx"]), ("B03", 10, b03_rows or rows, b03_ulx or GEO["ulx"]),
              ("B8A", 20, -(-rows // 2), GEO["ulx"]), ("B01", 60, -(-rows // 6), GEO["ulx"]),
              ("SCL", 20, -(-rows // 2), GEO["ulx"]))
    for band, res, n_rows, ulx in layers:
        n_cols = -(-cols * 10 // res)
        dtype = np.uint8 if band == "SCL" else np.uint16
        dn = rng.integers(1, 11 if band == "SCL" else 9000, (n_rows, n_cols)).astype(dtype)
        write_band(folder / f"S2_T33TVM_{DATE}_{band}.tif", dn, res=res, driver="GTiff",
                   epsg=GEO["epsg"], ulx=ulx, uly=GEO["uly"])
        dns[band] = dn
    return dns


def test_odd_crop_is_aligned_on_the_10m_grid(tmp_path):
    dns = _crop(tmp_path)
    cube = read_l2a(tmp_path, chunks=16).compute()
    scl = read_scl(tmp_path, chunks=16).compute()
    assert cube.sizes["y"] == 47 and cube.sizes["x"] == 50 and scl.shape == (1, 47, 50)
    rows, cols = np.indices((47, 50))
    np.testing.assert_array_equal(scl[0].values, dns["SCL"][rows // 2, cols // 2])
    np.testing.assert_allclose(cube.sel(band="B8A")[0].values,
                               dns["B8A"][rows // 2, cols // 2] / 1e4, rtol=1e-6)
    np.testing.assert_allclose(cube.sel(band="B01")[0].values,
                               dns["B01"][rows // 6, cols // 6] / 1e4, rtol=1e-6)
    np.testing.assert_array_equal(cube.y.values, scl.y.values)


def test_odd_crop_at_20m_averages_the_partial_last_row(tmp_path):
    dns = _crop(tmp_path)
    cube = read_l2a(tmp_path, bands=["B02", "B8A"], resolution=20).compute()
    assert cube.sizes["y"] == 24 and cube.sizes["x"] == 25
    b02 = dns["B02"].astype(np.float64) / 1e4
    # the last 20 m row covers one 10 m row only: its mean is that row's pair mean
    expected_last = (b02[46, 0::2] + b02[46, 1::2]) / 2
    np.testing.assert_allclose(cube.sel(band="B02")[0, 23].values, expected_last, rtol=1e-6)
    expected_first = b02[0:2].reshape(2, 25, 2).mean(axis=(0, 2))
    np.testing.assert_allclose(cube.sel(band="B02")[0, 0].values, expected_first, rtol=1e-6)
    np.testing.assert_allclose(cube.sel(band="B8A")[0].values, dns["B8A"] / 1e4, rtol=1e-6)


def test_a_whole_pixel_of_difference_is_a_mismatch_naming_the_extent(tmp_path):
    _crop(tmp_path, b03_rows=48)
    with pytest.raises(GridMismatchError, match=r"B03.*extent 480 x 500 m.*470 x 500 m"):
        read_l2a(tmp_path, bands=["B02", "B03"])


def test_another_origin_is_a_mismatch_naming_the_origin(tmp_path):
    _crop(tmp_path, b03_ulx=GEO["ulx"] + 20)
    with pytest.raises(GridMismatchError, match=r"B03.*origin \(465200.00, 5080260.00\)"):
        read_l2a(tmp_path, bands=["B02", "B03"])
