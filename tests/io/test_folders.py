"""Band folders and multi-band GeoTIFFs (no Sentinel-2 metadata)."""

import numpy as np
import pytest
import rasterio

from hrlc.errors import InputError
from hrlc.io import read_l2a, read_scl
from hrlc.io.describe import describe_scene
from hrlc.io.l2a import discover_scenes
from hrlc.testing import bundled_aber

from tests.conftest import write_band

GEO = dict(epsg=32633, ulx=465180.0, uly=5080260.0)


@pytest.fixture()
def band_folder(tmp_path):
    rng = np.random.default_rng(3)
    dns = {}
    for date in ("20190610T101031", "20190505T101029"):
        for band, res in (("B02", 10), ("B8A", 20), ("SCL", 20)):
            size = 8 if res == 10 else 4
            dtype = np.uint8 if band == "SCL" else np.uint16
            dn = rng.integers(1, 11 if band == "SCL" else 9000, (size, size)).astype(dtype)
            write_band(tmp_path / f"S2_T33TVM_{date}_{band}.tif", dn, res=res, driver="GTiff", **GEO)
            dns[date, band] = dn
    return tmp_path, dns


def test_band_folder_groups_dates_sorted_and_upsamples(band_folder):
    folder, dns = band_folder
    cube = read_l2a(folder).compute()
    assert [str(t)[:10] for t in cube.time.values] == ["2019-05-05", "2019-06-10"]
    assert list(cube.band.values) == ["B02", "B8A"]
    rows, cols = np.indices((8, 8))
    np.testing.assert_allclose(cube.sel(band="B8A")[1].values,
                               dns["20190610T101031", "B8A"][rows // 2, cols // 2] / 1e4, rtol=1e-6)
    np.testing.assert_allclose(cube.sel(band="B02")[0].values,
                               dns["20190505T101029", "B02"] / 1e4, rtol=1e-6)
    scl = read_scl(folder).compute()
    np.testing.assert_array_equal(scl[0].values, dns["20190505T101029", "SCL"][rows // 2, cols // 2])
    assert discover_scenes(folder)[0].tile_id == "33TVM"


def test_band_folder_options_set_scaling_and_sun(band_folder):
    folder, dns = band_folder
    cube = read_l2a(folder, bands=["B02"], options={"boa_add_offset": -1000, "sun_zenith": 40}).compute()
    np.testing.assert_allclose(cube[0, 0].values, (dns["20190505T101029", "B02"] - 1000.0) / 1e4,
                               rtol=1e-6)
    assert float(cube.sun_zenith[0]) == 40


def test_multiband_with_sidecar_mapping():
    cube = read_l2a(bundled_aber())
    with rasterio.open(bundled_aber()) as src:
        dn = src.read(7, window=((100, 110), (200, 210)))  # B08
    np.testing.assert_allclose(cube.sel(band="B08")[0, 100:110, 200:210].values, dn / 1000.0,
                               rtol=1e-6)
    assert str(cube.time.values[0]) .startswith("2021-05-27T11:06:21")
    assert cube.rio.crs.to_epsg() == 27700


def test_multiband_without_names_asks_for_band_names(tmp_path):
    path = tmp_path / "stack_20200101.tif"
    with rasterio.open(path, "w", driver="GTiff", height=4, width=4, count=3, dtype="uint16",
                       crs="EPSG:32633", transform=rasterio.transform.from_origin(0, 40, 10, 10)) as dst:
        dst.write(np.stack([np.full((4, 4), v, np.uint16) for v in (100, 200, 300)]))
    with pytest.raises(InputError, match="3 bands whose names are unknown.*band_names"):
        read_l2a(path)
    cube = read_l2a(path, options={"band_names": ["B4", "B3", "b2"]})
    assert list(cube.band.values) == ["B02", "B03", "B04"]  # canonical order
    assert cube.sel(band="B04").values.max() == pytest.approx(0.01)  # file band 1


def test_describe_reports_baseline_offset_and_crs(safe_products):
    facts = describe_scene(discover_scenes(safe_products["0509"]["zip"])[0])
    assert facts["processing_baseline"] == "05.09" and facts["boa_add_offset"] == -1000
    assert facts["crs"] == "EPSG:32701" and facts["bands"]["B05"] == [20.0, 60.0]
    assert facts["scl"] == [20.0, 60.0] and facts["kind"] == "safe-zip"
