"""write_series: SAFE products that read back exactly, and the truth beside them."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio

from hrlc.errors import ConfigError, OutputExistsError
from hrlc.io import read_l2a, read_scl
from hrlc.io.safe import read_safe_metadata
from hrlc.io.safe_writer import write_series
from hrlc.simulate import ClassTable, simulate_series

OPTIONS = dict(size=96, dates=2, seed=8, chunks=40, clear_date_probability=0.0,
               swath_edge_probability=1.0, cloud_cover=(0.3, 0.4), polygons_per_class=6,
               mislabelled_polygons=0.2, overlapping_polygons=0.2)


@pytest.fixture(scope="module")
def series():
    return simulate_series(**OPTIONS)


@pytest.fixture(scope="module")
def safe(series, tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "safe"
    return out, write_series(series, out, format="safe", stac=True, clear_dates=1)


def _text(path: Path, tag: str) -> list[str]:
    return [el.text for el in ET.parse(path).getroot().iter() if el.tag.rsplit("}", 1)[-1] == tag]


def _assert_reads_back(series, products):
    cube = read_l2a(products, chunks=50)
    np.testing.assert_array_equal(cube.values, series.reflectance.values)  # NaN where no data
    np.testing.assert_array_equal(read_scl(products).values, series.scl.values)
    for name in ("time", "x", "y", "sun_zenith", "sun_azimuth", "processing_baseline",
                 "boa_add_offset", "band", "product_name", "tile_id"):
        np.testing.assert_array_equal(cube[name].values, series.reflectance[name].values, name)
    assert cube.rio.crs == series.reflectance.rio.crs


def test_jp2_products_read_back_exactly(series, safe):
    out, products = safe
    assert [p.name for p in products] == [a.product_name + ".SAFE" for a in series.acquisitions]
    _assert_reads_back(series, products)
    assert np.isnan(series.reflectance.values).any()  # swath edges: DN 0 read as NaN


@pytest.mark.parametrize("fmt", ["safe-zip", "geotiff"])
def test_other_formats_read_back_exactly(fmt, tmp_path):
    series = simulate_series(**{**OPTIONS, "dates": 1, "chunks": 96, "start": "2022-06-01"})
    assert series.acquisitions[0].baseline == "05.09"  # no 02.xx products after 2022-01-25
    products = write_series(series, tmp_path, format=fmt, clear_dates=0)
    assert all(p.suffix == (".zip" if fmt == "safe-zip" else ".SAFE") for p in products)
    _assert_reads_back(series, products)
    if fmt == "geotiff":
        assert list(products[0].rglob("*_B02_10m.tif"))


def test_digital_numbers_follow_each_baseline(series, safe):
    """DN = reflectance * 10000 (02.12) or reflectance * 10000 + 1000 (05.09); 0 = no data."""
    _, products = safe
    for t, product in enumerate(products):
        scene = read_safe_metadata(product)
        offset = {"02.12": 0, "05.09": -1000}[scene.processing_baseline]
        assert all(v == offset for v in scene.boa_add_offset.values()) or offset == 0
        with rasterio.open(scene.bands["B04"][0].path) as src:
            dn = src.read(1).astype(np.int64)
            assert src.profile["driver"] == "JP2OpenJPEG" and src.res == (10, 10)
        refl = series.reflectance.values[t, 3]
        expected = np.where(np.isnan(refl), 0, np.rint(np.nan_to_num(refl) * 10000) - offset)
        np.testing.assert_array_equal(dn, expected)
        with rasterio.open(scene.bands["B11"][0].path) as src:
            assert src.res == (20, 20) and src.shape == (48, 48)
        with rasterio.open(scene.bands["B01"][0].path) as src:
            assert src.res == (60, 60) and src.shape == (16, 16)
        mtd = product / "MTD_MSIL2A.xml"
        assert _text(mtd, "PROCESSING_BASELINE") == [scene.processing_baseline]
        assert len(_text(mtd, "BOA_ADD_OFFSET")) == (13 if offset else 0)


def test_metadata_quality_indicators_come_from_the_scl(series, safe):
    _, products = safe
    for t, product in enumerate(products):
        scl = series.scl.values[t]
        valid = scl > 0
        cloudy = 100 * np.isin(scl, (8, 9, 10)).sum() / valid.sum()
        assert float(_text(product / "MTD_MSIL2A.xml", "Cloud_Coverage_Assessment")[0]) == \
            pytest.approx(cloudy, abs=1e-4)
        tile = next(product.glob("GRANULE/*/MTD_TL.xml"))
        shadow = float(_text(tile, "CLOUD_SHADOW_PERCENTAGE")[0])
        assert shadow == pytest.approx(100 * (scl == 3).sum() / valid.sum(), abs=1e-4)
        assert _text(tile, "HORIZONTAL_CS_CODE") == ["EPSG:32631"]
        assert len(_text(tile, "VALUES")) == 2 * 2  # sun zenith and azimuth grids, 2 rows each
        manifest = (product / "manifest.safe").read_text()
        assert "IMG_DATA/R20m" in manifest and "MTD_MSIL2A.xml" in manifest


def test_truth_files(series, safe):
    out, _ = safe
    truth = out / "truth"
    for t, acq in enumerate(series.acquisitions):
        with rasterio.open(truth / "cloud_mask" / f"{acq.file_stem}_cloud_mask.tif") as src:
            np.testing.assert_array_equal(src.read(1), series.cloud_mask.values[t])
            assert src.nodata == 255
    with rasterio.open(truth / "landcover.tif") as src:
        np.testing.assert_array_equal(src.read(1), series.landcover.values)
        assert src.colormap(1)[140][:3] == (30, 136, 229)
    with rasterio.open(truth / "dem.tif") as src:
        np.testing.assert_array_equal(src.read(1), series.dem.values)
    assert ClassTable.load(truth / "classes.yaml") == series.class_table
    clear = sorted((truth / "clear").glob("*.tif"))
    assert len(clear) == 1  # the cloudiest date
    t = int(np.argmax([s.cloud_cover for s in series.skies]))
    cube = read_l2a(clear)
    np.testing.assert_array_equal(cube.values[0], series.clear_reflectance.values[t])
    assert cube.time.values[0] == series.reflectance.time.values[t]
    record = (truth / "simulation.yaml").read_text()
    assert "cloud_height_m: 1500.0" in record and "shadow_shift_px" in record


def test_training_polygons(series, safe):
    out, _ = safe
    polygons = gpd.read_file(out / "truth" / "training_polygons.gpkg")
    assert set(polygons.columns) >= {"class", "class_name", "true_class", "mislabelled",
                                     "overlapping", "geometry"}
    assert polygons.crs.to_epsg() == 32631
    landcover = series.landcover
    for row in polygons.itertuples():
        x0, y0, x1, y1 = row.geometry.bounds
        pixels = landcover.sel(x=slice(x0, x1), y=slice(y1, y0)).values
        assert pixels.size >= 16
        if not row.overlapping:
            assert np.all(pixels == row.true_class)  # clean polygons are pure
        assert (row._2 != row.true_class) == bool(row.mislabelled)  # _2: the "class" column
    flagged = polygons[polygons.overlapping]
    assert len(flagged) >= 2
    for geometry in flagged.geometry:
        assert (flagged.geometry.intersection(geometry).area > 0).sum() >= 2


def test_stac_items(series, safe):
    out, products = safe
    items = json.loads((out / "stac" / "items.json").read_text())["features"]
    assert [i["id"] for i in items] == [a.product_name for a in series.acquisitions]
    item = items[1]
    assert item["properties"]["s2:processing_baseline"] == "05.09"
    assert item["assets"]["B02"]["raster:bands"][0]["offset"] == -0.1
    assert item["assets"]["B11"]["proj:shape"] == [48, 48]
    assert item["assets"]["B11"]["proj:transform"] == [20, 0, 300000, 0, -20, 4900020]
    assert Path(item["assets"]["SCL"]["href"]).exists()


def test_refuses_to_overwrite_and_odd_sizes(series, safe, tmp_path):
    out, _ = safe
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_series(series, out)
    with pytest.raises(ConfigError, match="multiple of 6"):
        write_series(simulate_series(size=100, dates=1, seed=0), tmp_path)
    with pytest.raises(ConfigError, match="safe, safe-zip, geotiff"):
        write_series(series, tmp_path, format="cog")
    assert not any(tmp_path.iterdir())


def test_dates_are_batched_within_the_staging_budget():
    from hrlc.io.safe_writer import STAGING_BUDGET, _batches

    batches = _batches(10980, 12, {2, 5, 9})
    assert [t for batch in batches for t in batch] == list(range(12))
    for batch in batches:
        need = sum(10980 ** 2 * (12.5 + 24.5 * (t in {2, 5, 9})) for t in batch)
        assert len(batch) == 1 or need <= STAGING_BUDGET
    assert _batches(1020, 12, {0, 1, 2}) == [list(range(12))]  # small tiles: one pass
