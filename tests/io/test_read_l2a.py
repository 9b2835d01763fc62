"""read_l2a / read_scl on small JP2 products built around real SAFE metadata."""

import shutil

import numpy as np
import pytest

from hrlc.errors import CorruptFileError, GridMismatchError, InputError, MissingBandError
from hrlc.io import discover_scenes, read_l2a, read_scl

from tests.conftest import SMALL_60M


def _dn(product, band, res):
    return next(v for k, v in product["dn"].items() if k.endswith(f"_{band}_{res}m"))


def _expected(dn, offset):
    out = (dn.astype(np.float64) + offset) / 10000.0
    out[dn == 0] = np.nan
    return out


@pytest.mark.parametrize("key,offset", [("0212", 0.0), ("0509", -1000.0)])
def test_reflectance_is_dn_plus_offset_over_quantification(safe_products, key, offset):
    product = safe_products[key]
    cube = read_l2a(product["folder"], bands=["B02", "B08"]).compute()
    assert cube.dtype == np.float32 and cube.dims == ("time", "band", "y", "x")
    for band in ("B02", "B08"):
        np.testing.assert_allclose(cube.sel(band=band).isel(time=0).values,
                                   _expected(_dn(product, band, 10), offset), rtol=1e-6)
    assert np.isnan(cube.values[0, :, 0, 0]).all()
    assert float(cube.boa_add_offset.sel(band="B02")[0]) == offset


def test_20m_and_60m_bands_land_on_the_right_10m_pixels(safe_products):
    product = safe_products["0509"]
    cube = read_l2a(product["folder"], bands=["B05", "B09", "B04"]).compute()
    rows, cols = np.indices((SMALL_60M * 6, SMALL_60M * 6))
    b05 = _expected(_dn(product, "B05", 20), -1000)[rows // 2, cols // 2]
    b09 = _expected(_dn(product, "B09", 60), -1000)[rows // 6, cols // 6]
    np.testing.assert_allclose(cube.sel(band="B05")[0].values, b05, rtol=1e-6)
    np.testing.assert_allclose(cube.sel(band="B09")[0].values, b09, rtol=1e-6)
    assert cube.rio.crs.to_epsg() == 32701
    t = cube.rio.transform()
    assert (t.a, t.e, t.c, t.f) == (10, -10, 99960, 8200000)
    np.testing.assert_allclose(cube.x.values[:2], [99965, 99975])
    np.testing.assert_allclose(cube.y.values[:2], [8199995, 8199985])


def test_zip_and_folder_give_identical_arrays(safe_products):
    product = safe_products["0509"]
    folder = read_l2a(product["folder"]).compute()
    zipped = read_l2a(product["zip"]).compute()
    scene = discover_scenes(product["zip"])[0]
    assert scene.kind == "safe-zip" and scene.bands["B02"][0].path.startswith("/vsizip/")
    np.testing.assert_array_equal(folder.values, zipped.values)
    assert list(folder.band.values) == ["B01", "B02", "B03", "B04", "B05", "B06", "B07",
                                        "B08", "B8A", "B09", "B11", "B12"]


def test_zip_is_never_unpacked(safe_products, tmp_path, monkeypatch):
    archive = shutil.copy(safe_products["0212"]["zip"], tmp_path)
    monkeypatch.chdir(tmp_path)
    read_l2a(archive, bands=["B04"]).compute()
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.rsplit("/", 1)[-1]]


def test_resolution_20_uses_the_products_own_20m_file(safe_products):
    product = safe_products["0212"]
    cube = read_l2a(product["folder"], bands=["B02", "B05"], resolution=20).compute()
    np.testing.assert_allclose(cube.sel(band="B02")[0].values,
                               _expected(_dn(product, "B02", 20), 0), rtol=1e-6)
    assert cube.sizes["y"] == SMALL_60M * 3


@pytest.mark.parametrize("chunks", [1, 5, 7])
def test_chunking_does_not_change_values(safe_products, chunks):
    product = safe_products["0509"]
    whole = read_l2a(product["folder"], bands=["B05", "B01"], chunks=1024).compute()
    small = read_l2a(product["folder"], bands=["B05", "B01"], chunks=chunks)
    assert small.data.chunksize[-1] == chunks
    np.testing.assert_array_equal(whole.values, small.compute().values)


def test_scl_is_nearest_upsampled(safe_products):
    product = safe_products["0509"]
    scl = read_scl(product["zip"]).compute()
    rows, cols = np.indices((SMALL_60M * 6, SMALL_60M * 6))
    np.testing.assert_array_equal(scl[0].values, _dn(product, "SCL", 20)[rows // 2, cols // 2])
    assert scl.dtype == np.uint8 and scl.dims == ("time", "y", "x")


def test_sun_angles_and_baseline_travel_as_coords(safe_products):
    cube = read_l2a(safe_products["0212"]["folder"], bands=["B04"])
    assert float(cube.sun_zenith[0]) == pytest.approx(32.707073851362)
    assert cube.processing_baseline.values.tolist() == ["02.12"]


def test_mixed_tiles_fail_with_both_names(safe_products):
    with pytest.raises(GridMismatchError, match="T07HFE.*another grid.*T01KAB|T01KAB.*T07HFE"):
        read_l2a([safe_products["0212"]["folder"], safe_products["0509"]["folder"]],
                 bands=["B04"])


def test_missing_band_names_file_and_fix(safe_products, tmp_path):
    safe = shutil.copytree(safe_products["0509"]["folder"], tmp_path / "p.SAFE")
    next(safe.rglob("*_B8A_20m.jp2")).unlink()
    next(safe.rglob("*_B8A_60m.jp2")).unlink()
    with pytest.raises(MissingBandError, match=r"p.SAFE: band\(s\) B8A missing"):
        read_l2a(safe, bands=["B04", "B8A"])


def test_truncated_zip_fails_at_once(safe_products, tmp_path):
    data = safe_products["0509"]["zip"].read_bytes()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="broken.zip.*download"):
        read_l2a(broken)


def test_truncated_jp2_names_the_file(safe_products, tmp_path):
    safe = shutil.copytree(safe_products["0509"]["folder"], tmp_path / "t.SAFE")
    jp2 = next(safe.rglob("*_B04_10m.jp2"))
    jp2.write_bytes(jp2.read_bytes()[:200])
    with pytest.raises(CorruptFileError, match="B04_10m.jp2"):
        read_l2a(safe, bands=["B04"]).compute()


def test_empty_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no band files found"):
        read_l2a(tmp_path)


def test_missing_path_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_l2a(tmp_path / "nope.zip")
