"""The CLI on band folders as users get them: an odd-sized crop named the sits way,
with per-scene sidecars (date, sun, BOA offset), and an area of interest."""

import json

import numpy as np
import pytest
import rasterio
import yaml
from rasterio.windows import Window

from hrlc.io import read_l2a
from hrlc.io.l2a import discover_scenes
from hrlc.io.safe_writer import write_series
from hrlc.simulate import simulate_series

from tests.cli.test_info_demo import run as run_cli

SIZE = 126  # simulated 10 m pixels; the crop keeps 125 rows and 125 columns


def _crop(source: str, dest, rows: int, cols: int) -> None:
    with rasterio.open(source) as src:
        profile = {**src.profile, "height": rows, "width": cols, "driver": "GTiff"}
        data = src.read(1, window=Window(0, 0, cols, rows))
    with rasterio.open(dest, "w", **profile) as dst:
        dst.write(data, 1)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """Simulated SAFE products, and the same scenes as a sits-named folder of an odd crop."""
    root = tmp_path_factory.mktemp("layouts")
    write_series(simulate_series(size=SIZE, dates=4, seed=3, start="2019-04-01", chunks=SIZE),
                 root / "safe", format="geotiff")
    folder = root / "sits"
    folder.mkdir()
    for scene in discover_scenes(root / "safe"):
        date = str(scene.datetime)[:10]
        stem = f"SENTINEL-2_MSI_{scene.tile_id}_{{}}_{date}"
        for band, files in {**scene.bands, "SCL": scene.scl}.items():
            finest = files[0]
            keep = -(-(SIZE - 1) * 10 // int(finest.resolution))  # whole coarse pixels
            _crop(finest.path, folder / f"{stem.format(band)}.tif", keep, keep)
        (folder / f"{stem.replace('_{}', '')}.yaml").write_text(yaml.safe_dump({
            "datetime": str(scene.datetime), "sun_zenith": float(scene.sun_zenith),
            "sun_azimuth": float(scene.sun_azimuth), "boa_add_offset": scene.offset("B02")}))
    return root


def test_sits_crop_reads_like_the_products_cropped(layouts):
    folder = read_l2a(layouts / "sits", ["B02", "B8A", "B01"],
                      options={"filename_pattern": "sits"}).compute()
    products = read_l2a(layouts / "safe", ["B02", "B8A", "B01"]).compute()
    assert folder.sizes["y"] == folder.sizes["x"] == SIZE - 1
    np.testing.assert_array_equal(folder.values, products.values[..., :SIZE - 1, :SIZE - 1])
    np.testing.assert_array_equal(folder.sun_zenith.values, products.sun_zenith.values)
    np.testing.assert_array_equal(folder.time.values, products.time.values)


def test_info_on_the_sits_folder(layouts, capsys):
    code, out, _ = run_cli(capsys, "info", str(layouts / "sits"), "--filename-pattern", "sits",
                         "--json")
    facts = json.loads(out)
    assert code == 0 and len(facts) == 4 and {f["tile"] for f in facts} == {"31TCJ"}
    assert {f["kind"] for f in facts} == {"band-folder"}
    code, _, err = run_cli(capsys, "info", str(layouts / "sits"))
    assert code == 2 and "no band files found" in err and "filename_pattern" in err
    assert err.count("\n") == 1
    (layouts / "sits" / "notes.tif").write_bytes(b"")
    try:
        code, out, _ = run_cli(capsys, "info", str(layouts / "sits"), "--filename-pattern", "sits")
    finally:
        (layouts / "sits" / "notes.tif").unlink()
    assert code == 0 and "1 raster file(s) skipped" in out and "notes.tif" in out


def test_masks_and_run_with_an_aoi_on_the_sits_crop(layouts, tmp_path, capsys):
    config = tmp_path / "masks.yaml"
    config.write_text(yaml.safe_dump({
        "sources": [str(layouts / "sits")], "output": str(tmp_path / "masks"), "chunks": 64,
        "read": {"filename_pattern": "sits"}, "masks": {"min_clear": 2}}))
    code, _, err = run_cli(capsys, "masks", str(config))
    assert code == 0, err
    masks = sorted((tmp_path / "masks").glob("*_mask.tif"))
    assert len(masks) == 4
    with rasterio.open(masks[0]) as src:
        assert src.shape == (SIZE - 1, SIZE - 1)
        assert set(np.unique(src.read(1))) <= {0, 1, 2, 3, 255}

    grid = read_l2a(layouts / "sits", ["B02"], options={"filename_pattern": "sits"})
    left, top = float(grid.x[0]) - 5, float(grid.y[0]) + 5
    crs = grid.rio.crs.to_epsg()
    aoi = f"{left + 300},{top - 900},{left + 900},{top - 300}@EPSG:{crs}"
    run = tmp_path / "run.yaml"
    run.write_text(yaml.safe_dump({
        "output": str(tmp_path / "run"), "sources": [str(layouts / "sits")], "chunks": 64,
        "read": {"filename_pattern": "sits"}, "stages": ["masks", "composite"],
        "masks": {"min_clear": 2}}))
    code, _, err = run_cli(capsys, "run", str(run), "--aoi", aoi)
    assert code == 0, err
    resolved = yaml.safe_load((tmp_path / "run" / "configs" / "masks.yaml").read_text())
    assert resolved["read"]["aoi"] == aoi
    from hrlc.io import read_zarr

    composites = read_zarr(tmp_path / "run" / "composites.zarr", name="reflectance")
    assert composites.sizes["y"] == composites.sizes["x"] == 60
    assert float(composites.x[0]) == left + 300 + 5 and float(composites.y[0]) == top - 300 - 5


@pytest.mark.parametrize("read, message", [
    ({"filename_pattern": "sits", "aoi": {"bbox": [0, 0, 1, 1]}}, "does not intersect the data"),
    ({"filename_pattern": "sits", "aoi": {"bbox": [0, 0, 1, 1], "crs": "EPSG:999999"}},
     "unknown CRS 'EPSG:999999'"),
    ({"filename_pattern": "SENTINEL-2_MSI_{tile}_{date}"}, "has no {band}"),
])
def test_bad_read_options_are_one_line_and_write_nothing(layouts, tmp_path, capsys, read,
                                                         message):
    config = tmp_path / "masks.yaml"
    config.write_text(yaml.safe_dump({"sources": [str(layouts / "sits")], "read": read,
                                      "output": str(tmp_path / "masks")}))
    code, _, err = run_cli(capsys, "masks", str(config))
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "masks").exists()


def test_info_prints_the_window_an_aoi_selects(layouts, capsys):
    grid = read_l2a(layouts / "sits", ["B02"], options={"filename_pattern": "sits"})
    left, top = float(grid.x[0]) - 5, float(grid.y[0]) + 5
    aoi = f"{left + 60},{top - 660},{left + 660},{top - 60}@EPSG:{grid.rio.crs.to_epsg()}"
    code, out, _ = run_cli(capsys, "info", str(layouts / "sits"), "--filename-pattern", "sits",
                           "--aoi", aoi)
    assert code == 0
    assert "rows 6-66, cols 6-66 of 125 x 125 px at 10 m (23.0% of the product is read)" in \
        " ".join(out.split())
