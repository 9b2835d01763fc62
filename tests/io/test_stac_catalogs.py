"""Real STAC Items of the public catalogs read to their documented reflectance.

Each item is a real catalog response (tests/data/stac, see SOURCE.md) whose raster
hrefs are pointed at small rasters written here (tests/io/stac_local.py). Expected
reflectance is each catalog's documented convention, written out per catalog below,
never derived from hrlc's reader.
"""

import numpy as np
import pytest

from hrlc.errors import GridMismatchError, InputError
from hrlc.io import read_l2a, read_scl
from hrlc.io.l2a import discover_scenes
from hrlc.io.stac_items import gdal_path

from tests.io.stac_local import load, localise, write_items

ES_KEYS = {"B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1",
           "B06": "rededge2", "B07": "rededge3", "B08": "nir", "B8A": "nir08",
           "B09": "nir09", "B11": "swir16", "B12": "swir22"}
PC_KEYS = {b: b for b in ES_KEYS}
#: CDSE keys carry the resolution; the finest file of each band is the one read at 10 m
CDSE_KEYS = {b: f"{b}_{10 if b in ('B02', 'B03', 'B04', 'B08') else 60 if b == 'B09' else 20}m"
             for b in ES_KEYS}


def _harmonised(dn):
    """Earth Search sentinel-2-l2a with earthsearch:boa_offset_applied: the offset is in
    the pixels already (raster:bands' -0.1 must not be applied again)."""
    return dn / 1e4


def _raw_after_04(dn):
    """Raw L2A DN of baseline >= 04.00: (DN + BOA_ADD_OFFSET) / QUANTIFICATION_VALUE."""
    return (dn - 1000.0) / 1e4


def _raw_before_04(dn):
    return dn / 1e4


CATALOGS = {
    # file, asset key of each band, convention, baseline, tile, EPSG, sun zenith/azimuth
    "earth-search l2a 05.09": (
        "earth-search/S2A_32TPS_20230602_0_L2A.json", ES_KEYS, _harmonised, "05.09", "32TPS",
        32632, 90 - 63.2305935349323, 150.260515978055),
    "planetary-computer 04.00": (
        "planetary-computer/S2B_MSIL2A_20220612T182919_R027_T24XWR_20220613T123251.json",
        PC_KEYS, _raw_after_04, "04.00", "24XWR", 32624, 63.0036756665255, 245.346023617542),
    "planetary-computer 02.12": (
        "planetary-computer/S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json",
        PC_KEYS, _raw_before_04, "02.12", "06VVN", 32606, 37.9128805424161, 170.148039164397),
    "earth-search v0 03.01": (
        "earth-search-v0/S2B_42TUM_20220107_0_L2A.json", PC_KEYS, _raw_before_04, "03.01",
        "42TUM", 32642, None, None),
    "earth-search c1 05.10 (Digital Earth Africa's copy)": (
        "deafrica-c1/S2B_T37MGP_20240710T073012_L2A.json", ES_KEYS, _raw_after_04, "05.10",
        "37MGP", 32737, 90 - 52.9617721681249, 39.9264277845747),
    "cdse 05.00 (STAC 1.1, reprocessed 2020 scene)": (
        "cdse/S2B_MSIL2A_20200322T074609_N0500_R135_T36NYH_20230612T214223.json", CDSE_KEYS,
        _raw_after_04, "05.00", "36NYH", 32636, 90 - 65.9227012039063, 92.8418823238341),
    "cdse 05.11 (STAC 1.1)": (
        "cdse/S2C_MSIL2A_20250330T100051_N0511_R122_T33UWP_20250330T145914_cdse_stac_v110.json",
        CDSE_KEYS, _raw_after_04, "05.11", "33UWP", 32633, 90 - 44.2173193179239,
        161.141279839814),
}


@pytest.mark.parametrize("name", list(CATALOGS))
def test_real_item_reads_to_the_documented_reflectance(name, tmp_path):
    relative, keys, convention, baseline, tile, epsg, zenith, azimuth = CATALOGS[name]
    item, dns = localise(load(relative), tmp_path)
    path = write_items([item], tmp_path / "items.json")
    cube = read_l2a(path).compute()
    assert list(cube.band.values) == list(keys)
    for band, key in keys.items():
        dn = dns[key]
        factor = 240 // dn.shape[0] // 10
        expected = convention(np.repeat(np.repeat(dn.astype(np.float64), factor, 0), factor, 1))
        expected[np.repeat(np.repeat(dn == 0, factor, 0), factor, 1)] = np.nan
        np.testing.assert_allclose(cube.sel(band=band)[0].values, expected, rtol=1e-6,
                                   atol=1e-7, err_msg=f"{name} {band}")
    scene = discover_scenes(path)[0]
    assert scene.tile_id == tile
    if baseline:
        assert scene.processing_baseline == baseline
    if epsg:
        assert scene.epsg == epsg and cube.rio.crs.to_epsg() == epsg
    if zenith is not None:
        assert float(cube.sun_zenith[0]) == pytest.approx(zenith)
        assert float(cube.sun_azimuth[0]) == pytest.approx(azimuth)
    scl_key = next(k for k in item["assets"] if k.lower().startswith("scl"))
    scl = read_scl(path).compute()
    np.testing.assert_array_equal(scl[0, ::2, ::2].values, dns[scl_key])


def test_boa_offset_rule_overrides_the_catalog(tmp_path):
    item, dns = localise(load(CATALOGS["earth-search l2a 05.09"][0]), tmp_path)
    path = write_items([item], tmp_path / "items.json")
    blue = dns["blue"].astype(np.float64)
    applied = read_l2a(path, ["B02"], options={"boa_offset": "apply"})[0, 0].values
    np.testing.assert_allclose(applied[1:, 1:], _raw_after_04(blue)[1:, 1:], rtol=1e-6)
    # the same rule for this source alone, from a YAML beside the item file
    (tmp_path / "items.yaml").write_text("boa_offset: apply\n")
    np.testing.assert_array_equal(read_l2a(path, ["B02"])[0, 0].values, applied)


def test_bare_list_folder_of_items_and_single_item(tmp_path):
    item, _ = localise(load(CATALOGS["planetary-computer 04.00"][0]), tmp_path / "rasters")
    import json

    (tmp_path / "list.json").write_text(json.dumps([item]))
    folder = tmp_path / "items"
    folder.mkdir()
    (folder / "one.json").write_text(json.dumps(item))
    reference = read_l2a(write_items([item], tmp_path / "fc.json"), ["B04"]).values
    for source in (tmp_path / "list.json", folder, folder / "one.json"):
        np.testing.assert_array_equal(read_l2a(source, ["B04"]).values, reference)


def test_multi_date_items_stack_and_two_tiles_are_a_grid_error(tmp_path):
    pc = load(CATALOGS["planetary-computer 04.00"][0])
    later = {**pc, "id": pc["id"] + "-later",
             "properties": {**pc["properties"], "datetime": "2022-07-02T18:29:19.024000Z"}}
    first, _ = localise(pc, tmp_path / "a", seed=1)
    second, dns = localise(later, tmp_path / "b", seed=2)
    cube = read_l2a(write_items([second, first], tmp_path / "two.json"), ["B02"])
    assert [str(t)[:10] for t in cube.time.values] == ["2022-06-12", "2022-07-02"]
    np.testing.assert_allclose(cube[1, 0, ::1, ::1].values[1:, 1:],
                               _raw_after_04(dns["B02"].astype(float))[1:, 1:], rtol=1e-6)
    other_tile, _ = localise(load(CATALOGS["earth-search l2a 05.09"][0]), tmp_path / "c")
    with pytest.raises(GridMismatchError, match="another grid"):
        read_l2a(write_items([first, other_tile], tmp_path / "tiles.json"), ["B02"])


def test_item_without_reflectance_assets_names_its_keys(tmp_path):
    item = load(CATALOGS["planetary-computer 04.00"][0])
    item["assets"] = {k: a for k, a in item["assets"].items()
                      if k in ("visual", "preview", "safe-manifest")}
    with pytest.raises(InputError, match=r"no reflectance asset \(its assets: visual, "
                       "preview, safe-manifest\\)"):
        read_l2a(write_items([item], tmp_path / "items.json"))


def test_unreachable_href_names_the_href(tmp_path):
    item, _ = localise(load(CATALOGS["planetary-computer 04.00"][0]), tmp_path)
    item["assets"]["B02"]["href"] = str(tmp_path / "gone.tif")
    with pytest.raises(InputError, match="gone.tif: cannot open raster"):
        read_l2a(write_items([item], tmp_path / "items.json"), ["B02"])


@pytest.mark.parametrize("href, path", [
    ("https://sentinel-cogs.s3.us-west-2.amazonaws.com/a/B02.tif",
     "/vsicurl/https://sentinel-cogs.s3.us-west-2.amazonaws.com/a/B02.tif"),
    ("s3://sentinel-s2-l2a/tiles/32/T/PS/2023/6/2/0/B02.jp2",
     "/vsis3/sentinel-s2-l2a/tiles/32/T/PS/2023/6/2/0/B02.jp2"),
    ("gs://bucket/B02.tif", "/vsigs/bucket/B02.tif"),
    ("B02.tif", "/items/B02.tif"),
])
def test_remote_hrefs_go_through_gdal_virtual_file_systems(href, path):
    from pathlib import Path

    assert gdal_path(href, Path("/items")) == path


def test_unreachable_remote_href_names_it_with_gdals_reason(tmp_path):
    item, _ = localise(load(CATALOGS["planetary-computer 04.00"][0]), tmp_path)
    item["assets"]["B02"]["href"] = "http://127.0.0.1:9/B02.tif"  # nothing listens there
    with pytest.raises(InputError, match=r"/vsicurl/http://127.0.0.1:9/B02.tif: cannot open "
                       r"raster \(.+\); check the URL, the network and the credentials"):
        read_l2a(write_items([item], tmp_path / "items.json"), ["B02"])


def test_two_tiles_of_one_datatake_are_two_tiles_not_one_acquisition(tmp_path):
    """Earth Search names the tile only in grid:code and mgrs:*; the neighbour tile of the
    same datatake has the same datetime and must not be taken for the same scene."""
    item = load(CATALOGS["earth-search l2a 05.09"][0])
    neighbour = {**item, "id": "S2A_32TQS_20230602_0_L2A", "properties": {
        **item["properties"], "grid:code": "MGRS-32TQS", "mgrs:grid_square": "QS"}}
    first, _ = localise(item, tmp_path / "a")
    second, _ = localise(neighbour, tmp_path / "b", shift=(109_800, 0))
    path = write_items([first, second], tmp_path / "datatake.json")
    assert [s.tile_id for s in discover_scenes(path)] == ["32TPS", "32TQS"]
    with pytest.raises(GridMismatchError, match="another grid"):
        read_l2a(path, ["B02"])
