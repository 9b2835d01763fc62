"""Map files: COG colour table, nodata, mode overviews, tags; distribution; atomic writes."""

import errno
import json

import numpy as np
import pytest
import rasterio
import xarray as xr

from hrlc.errors import OutputExistsError
from hrlc.mapping import class_distribution, read_class_table, write_map_outputs
from hrlc.mapping.outputs import map_products
from tests.mapping.conftest import CLASS_TABLE


def _hand_made(side=1100, *, float_layers=False, seed=0):
    """A map without a model: 75 % class 2 and 25 % class 1 scattered, a nodata strip."""
    rng = np.random.default_rng(seed)
    classes = np.where(rng.random((side, side)) < 0.25, 1, 2).astype(np.uint8)
    classes[:, :100] = 0
    proba = np.zeros((2, side, side), np.float32)
    proba[0] = np.where(classes == 1, 0.8, 0.3)
    proba[1] = 1 - proba[0]
    proba[:, classes == 0] = np.nan
    conf = np.nanmax(proba, axis=0)
    margin = np.abs(proba[0] - proba[1])
    if not float_layers:
        proba, conf, margin = (np.where(np.isnan(a), 255, np.rint(a * 100)).astype(np.uint8)
                               for a in (proba, conf, margin))
    coords = {"y": 6_000_000 - 10 * (np.arange(side) + 0.5),
              "x": 500_000 + 10 * (np.arange(side) + 0.5)}
    ds = xr.Dataset({"classes": (("y", "x"), classes),
                     "probabilities": (("class", "y", "x"), proba),
                     "confidence": (("y", "x"), conf), "margin": (("y", "x"), margin)},
                    coords={"class": [1, 2], **coords}, attrs={"class_codes": [1, 2]})
    return ds.rio.write_crs(32630).chunk({"y": 512, "x": 512})


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("map")
    paths = write_map_outputs(_hand_made(), folder, class_table=CLASS_TABLE,
                              tags={"bundle_sha256": "ab" * 32, "config": {"chunks": 512}},
                              title="hand-made")
    return folder, paths


def test_class_cog_colour_table_nodata_tags(written):
    _, paths = written
    with rasterio.open(paths["classes"]) as src:
        assert src.dtypes == ("uint8",) and src.nodata == 0
        assert src.colormap(1)[1][:3] == (0x1b, 0x78, 0x37)  # forest #1b7837
        assert src.colormap(1)[2][:3] == (0xa6, 0xd9, 0x6a)
        tags = src.tags()
        assert tags["bundle_sha256"] == "ab" * 32
        assert json.loads(tags["config"]) == {"chunks": 512}
        assert src.profile["tiled"] and src.overviews(1)
        overview = src.read(1, out_shape=(src.height // 2, src.width // 2))
        data = src.read(1)
    assert set(np.unique(overview)) <= {0, 1, 2}
    # mode resampling: the 25 % scattered class-1 pixels rarely win a 2 x 2 vote
    full_share = np.mean(data[:, 100:] == 1)
    assert 0.2 < full_share < 0.3
    with rasterio.open(paths["classes"], overview_level=0) as ovr:
        level = ovr.read(1)
    assert np.mean(level[:, 60:] == 1) < 0.2  # nearest would keep about 0.25
    assert read_class_table(paths["classes"])[1]["name"] == "forest"


def test_probability_and_confidence_cogs(written):
    _, paths = written
    with rasterio.open(paths["probabilities"]) as src:
        assert src.count == 2 and src.dtypes[0] == "uint8" and src.nodata == 255
        assert src.descriptions == ("forest", "grass")
        p = src.read()
    assert p[0, 0, 0] == 255 and p[:, 5, 500].sum() == 100
    with rasterio.open(paths["confidence"]) as src:
        assert src.count == 2 and src.descriptions == ("confidence", "margin")
        assert src.tags()["bundle_sha256"] == "ab" * 32


def test_float_probabilities(tmp_path):
    paths = write_map_outputs(_hand_made(600, float_layers=True), tmp_path,
                              class_table=CLASS_TABLE)
    with rasterio.open(paths["probabilities"]) as src:
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)
        assert np.isnan(src.read(1)[0, 0])


def test_distribution_table_and_figures(written):
    folder, paths = written
    table = class_distribution(_hand_made()["classes"], class_table=CLASS_TABLE)
    assert list(table["code"]) == [1, 2, 3, 4]  # every class of the table, even absent
    assert table["pixels"].sum() == 1100 * 1000
    np.testing.assert_allclose(table["area_ha"], table["pixels"] * 0.01)  # 10 m pixels
    assert table["percent"].sum() == pytest.approx(100)
    on_disk = (folder / "distribution.csv").read_text().splitlines()
    assert on_disk[0] == "code,name,pixels,area_ha,percent" and len(on_disk) == 3  # the map's classes
    for role in ("quicklook", "distribution_plot"):
        assert paths[role].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_existing_outputs_are_refused_unless_overwrite(written):
    folder, _ = written
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_map_outputs(_hand_made(200), folder, class_table=CLASS_TABLE)
    write_map_outputs(_hand_made(200), folder, class_table=CLASS_TABLE, overwrite=True)
    with rasterio.open(folder / "classes.tif") as src:
        assert src.width == 200


def test_disk_full_leaves_no_half_file(tmp_path, monkeypatch):
    from hrlc.io import atomic, writers

    # the map is one block, so no dask thread can still be writing once the error is
    # raised: the 1 s that the temporary files (staging GeoTIFF and its lock, then the
    # COG) are watched for a late write would only be idle time here
    monkeypatch.setitem(atomic.remove_settled.__kwdefaults__, "settle", 0.05)

    def full(self, key, block):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writers._WindowWriter, "__setitem__", full)
    with pytest.raises(OSError, match="No space"):
        write_map_outputs(_hand_made(300), tmp_path, class_table=CLASS_TABLE)
    assert list(tmp_path.iterdir()) == []


def test_map_products_are_objects_and_match_the_files(tmp_path, monkeypatch):
    """map_products builds what write_map_outputs writes, without touching a file."""
    from matplotlib.figure import Figure

    monkeypatch.chdir(tmp_path)
    result = _hand_made(300)
    products = map_products(result, class_table=CLASS_TABLE, tags={"run": "a"}, title="t")
    assert list(tmp_path.iterdir()) == []
    assert list(products.layers) == ["classes", "probabilities", "confidence"]
    classes, options = products.layers["classes"]
    assert classes.data is result["classes"].data  # still lazy: computed as it is written
    assert options["nodata"] == 0 and options["overview_resampling"] == "mode"
    assert options["colormap"] == {0: (0, 0, 0), 1: (0x1b, 0x78, 0x37), 2: (0xa6, 0xd9, 0x6a)}
    assert options["tags"]["run"] == "a"
    assert json.loads(options["tags"]["class_table"]) == {
        "1": {"name": "forest", "colour": "#1b7837"}, "2": {"name": "grass", "colour": "#a6d96a"}}
    proba_options = products.layers["probabilities"][1]
    assert proba_options["nodata"] == 255 and proba_options["band_descriptions"] == [
        "forest", "grass"]
    confidence = products.layers["confidence"][0]
    assert list(confidence["band"].values) == ["confidence", "margin"]
    counts = np.bincount(result["classes"].values.ravel(), minlength=3)
    assert products.distribution["pixels"].tolist() == counts[1:].tolist()
    np.testing.assert_allclose(products.distribution["area_ha"], counts[1:] * 0.01)
    assert isinstance(products.documents["quicklook"], Figure)
    assert isinstance(products.documents["distribution_plot"], Figure)
    paths = write_map_outputs(result, tmp_path / "map", class_table=CLASS_TABLE)
    assert products.documents["distribution"] == paths["distribution"].read_text()
