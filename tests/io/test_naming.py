"""Band folders of the ecosystem's namings: sits, per-scene sidecars, int16, .aux.xml CRS."""

import numpy as np
import pytest
import rasterio
from affine import Affine

from hrlc.config import SourceOptions, validate_config
from hrlc.errors import ConfigError, InputError
from hrlc.io import read_l2a, read_scl
from hrlc.io.folders import scan_band_folder
from hrlc.io.naming import name_parser, parse_date

from tests.conftest import write_band

GEO = dict(epsg=32720, ulx=600000.0, uly=8700000.0)
SITS = "SENTINEL-2_MSI_20LLQ_{band}_{date}.tif"


def _sits_folder(folder, dates=("2021-09-22", "2021-08-03")):
    rng = np.random.default_rng(1)
    dns = {}
    for date in dates:
        for band, res in (("B02", 10), ("B11", 20), ("SCL", 20)):
            n = 12 if res == 10 else 6
            dtype = np.uint8 if band == "SCL" else np.uint16
            dn = rng.integers(1, 11 if band == "SCL" else 9000, (n, n)).astype(dtype)
            write_band(folder / SITS.format(band=band, date=date), dn, res=res, driver="GTiff",
                       **GEO)
            dns[date, band] = dn
    return dns


def test_sits_naming_reads_with_the_preset(tmp_path):
    dns = _sits_folder(tmp_path)
    (tmp_path / "README.tif").write_bytes(b"not a band")
    options = {"filename_pattern": "sits"}
    cube = read_l2a(tmp_path, options=options).compute()
    assert [str(t)[:10] for t in cube.time.values] == ["2021-08-03", "2021-09-22"]
    assert list(cube.band.values) == ["B02", "B11"] and list(cube.tile_id.values) == ["20LLQ"] * 2
    np.testing.assert_allclose(cube.sel(band="B02")[1].values, dns["2021-09-22", "B02"] / 1e4,
                               rtol=1e-6)
    rows, cols = np.indices((12, 12))
    np.testing.assert_array_equal(read_scl(tmp_path, options=options)[0].values,
                                  dns["2021-08-03", "SCL"][rows // 2, cols // 2])
    scan = scan_band_folder(tmp_path, validate_config(options, SourceOptions))
    assert scan.skipped == ["README.tif"] and len(scan.scenes) == 2


def test_without_a_pattern_sits_names_are_not_band_files(tmp_path):
    _sits_folder(tmp_path)
    with pytest.raises(InputError, match="no band files found.*filename_pattern"):
        read_l2a(tmp_path)


@pytest.mark.parametrize("stem, band, date, tile", [
    ("SENTINEL-2_MSI_20LLQ_B02_2021-09-22", "B02", "2021-09-22", "20LLQ"),
    ("SENTINEL-2_MSI_T20LLQ_B8A_2021-09-22T14:07:19", "B8A", "2021-09-22T14:07:19", "20LLQ"),
    ("SENTINEL-2_MSI_20LLQ_SCL_20210922", "SCL", "20210922", "20LLQ"),
])
def test_sits_pattern_parses_band_date_tile(stem, band, date, tile):
    named = name_parser("sits")(stem)
    assert (named.band, named.date, named.tile) == (band, date, tile)
    assert named.scene == stem.replace(f"_{stem.split('_')[3]}", "")


def test_custom_pattern_with_wildcard_and_date_first():
    parse = name_parser("{date}_*_{band}")
    named = parse("20210922T140719_export-v2_B12")
    assert named.band == "B12" and parse_date(named.date) == np.datetime64("2021-09-22T14:07:19")
    assert parse("notes_B12") is None


@pytest.mark.parametrize("pattern, message", [
    ("SENTINEL-2_MSI_{tile}_{date}", "has no {band}"),
    ("{band}_{day}", r"unknown placeholder\(s\) \{day\}"),
])
def test_bad_patterns_are_config_errors(pattern, message):
    with pytest.raises(ConfigError, match=message):
        validate_config({"filename_pattern": pattern}, SourceOptions)


def test_two_files_for_one_band_and_date_is_an_error(tmp_path):
    _sits_folder(tmp_path, dates=("2021-09-22",))
    dn = np.ones((12, 12), np.uint16)
    write_band(tmp_path / "SENTINEL-2_MSI_20LLQ_B2_2021-09-22.tif", dn, res=10, driver="GTiff",
               **GEO)
    with pytest.raises(InputError, match="two files for band B02.*B02_2021-09-22.tif and "
                       ".*B2_2021-09-22.tif"):
        read_l2a(tmp_path, options={"filename_pattern": "sits"})


def test_a_date_that_cannot_be_parsed_is_an_error(tmp_path):
    write_band(tmp_path / "SENTINEL-2_MSI_20LLQ_B02_2021-13-22.tif", np.ones((4, 4), np.uint16),
               res=10, driver="GTiff", **GEO)
    with pytest.raises(InputError, match="cannot read the date of"):
        read_l2a(tmp_path, options={"filename_pattern": "sits"})


def test_per_scene_sidecar_gives_datetime_and_sun(tmp_path):
    _sits_folder(tmp_path)
    (tmp_path / "SENTINEL-2_MSI_20LLQ_2021-09-22.yaml").write_text(
        "datetime: '2021-09-22T14:07:19'\nsun_zenith: 31.5\nsun_azimuth: 52.0\n")
    cube = read_l2a(tmp_path, options={"filename_pattern": "sits"})
    assert str(cube.time.values[1]) == "2021-09-22T14:07:19.000000000"
    assert float(cube.sun_zenith[1]) == 31.5 and float(cube.sun_azimuth[1]) == 52.0
    assert np.isnan(float(cube.sun_zenith[0]))


def test_scene_yaml_in_a_one_scene_folder(tmp_path):
    _sits_folder(tmp_path, dates=("2021-09-22",))
    (tmp_path / "scene.yaml").write_text("sun_zenith: 40\nsun_azimuth: 140\n")
    cube = read_l2a(tmp_path, options={"filename_pattern": "sits"})
    assert float(cube.sun_zenith[0]) == 40 and float(cube.sun_azimuth[0]) == 140


def test_int16_with_nodata_and_crs_only_in_aux_xml(tmp_path):
    dn = np.array([[-9999, 0, 1500], [2500, -9999, 12000]], dtype=np.int16)
    path = tmp_path / "T20LLQ_20210922_B04.tif"
    with rasterio.open(path, "w", driver="GTiff", height=2, width=3, count=1, dtype="int16",
                       nodata=-9999, transform=Affine(10, 0, GEO["ulx"], 0, -10, GEO["uly"])) as dst:
        dst.write(dn, 1)
    # the CRS only in GDAL's PAM sidecar, as some exports write it
    with rasterio.open(path, "r+") as dst:
        assert dst.crs is None
    (tmp_path / "T20LLQ_20210922_B04.tif.aux.xml").write_text(
        "<PAMDataset><SRS dataAxisToSRSAxisMapping=\"1,2\">EPSG:32720</SRS></PAMDataset>")
    cube = read_l2a(tmp_path).compute()
    assert cube.rio.crs.to_epsg() == 32720
    expected = np.where(dn == -9999, np.nan, dn / 1e4)
    np.testing.assert_allclose(cube[0, 0].values, expected, rtol=1e-6)
