"""Bad inputs through the command line: one line, exit code 2, a message naming the problem
and the fix, and nothing lost (an output already under the target name is unchanged, no
temporary file is left). Cases that stage tests already cover are not repeated here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import yaml
from affine import Affine
from rasterio.windows import Window

from hrlc.cli import main
from hrlc.io import read_zarr
from hrlc.io.safe_writer import write_series
from hrlc.simulate import simulate_series
from hrlc.testing import bundled, bundled_aber
from tests.conftest import cli_error

AREA = 64  # px: a corner of the Aberystwyth scene
LAYERS = {f"cls_{name}_smpls": name for name in ("forest", "grass", "urban", "water")}


def _crop(source, dest, *, nodata_corner: bool = False):
    with rasterio.open(source) as src:
        window = Window(80, 360, AREA, AREA)
        data = src.read(window=window)
        profile = {**src.profile, "width": AREA, "height": AREA, "tiled": False,
                   "compress": None, "transform": src.window_transform(window)}
        names = src.descriptions
    if nodata_corner:
        data[:, :AREA // 2, :AREA // 2] = 0
        profile["nodata"] = 0
    with rasterio.open(dest, "w", **profile) as dst:
        dst.write(data)
        dst.descriptions = names
    return dest


def _yaml(path, data):
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    """A 64 px crop of the real scene and DEM, and its feature cube."""
    root = tmp_path_factory.mktemp("area")
    scene = _crop(bundled_aber(), root / "s2_20210527_crop.tif")
    dem = _crop(bundled("aber", "srtm_aber_10m.tif"), root / "dem.tif")
    cube = root / "features.zarr"
    main(["features", str(_yaml(root / "features.yaml", {
        "composites": [str(scene)], "dem": str(dem), "output": str(cube),
        "features": {"glcm_textures": [], "index_months": []}}))])
    return {"root": root, "scene": scene, "dem": dem, "cube": cube}


def _keep(target):
    """Put an earlier output under ``target``; return how to check it is intact."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix == ".zarr" or not target.suffix:
        target.mkdir()
        (target / "earlier.txt").write_text("an earlier result")
    else:
        target.write_bytes(b"an earlier result")

    def intact():
        saved = target / "earlier.txt" if target.is_dir() else target
        assert saved.read_bytes() == b"an earlier result"
        left = [p.name for p in target.parent.iterdir() if ".partial" in p.name
                or ".old-" in p.name]
        assert left == []
    return intact


def _truncate(path, dest):
    data = path.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def _dem_elsewhere(area, dest):
    with rasterio.open(area["dem"]) as src:
        profile, data = src.profile, src.read()
    profile.update(crs="EPSG:4326", transform=Affine(1e-4, 0, 10.0, 0, -1e-4, 50.0))
    with rasterio.open(dest, "w", **profile) as dst:
        dst.write(data)
    return dest


@pytest.mark.parametrize("case, change, expected", [
    ("corrupt source",
     lambda a, d: {"composites": [str(_truncate(a["scene"], d / "s2_20210527_t.tif"))]},
     ["s2_20210527_t.tif: cannot open raster", "corrupt, truncated", "replace it"]),
    ("corrupt DEM", lambda a, d: {"dem": str(_truncate(a["dem"], d / "dem_t.tif"))},
     ["dem_t.tif", "corrupt, truncated"]),
    ("DEM elsewhere, other CRS", lambda a, d: {"dem": str(_dem_elsewhere(a, d / "dem_far.tif"))},
     ["dem_far.tif does not cover the tile (in EPSG:4326)", "use a DEM that covers"]),
    ("missing band", lambda a, d: {"features": {"bands": ["B01"], "glcm_textures": []}},
     ["band B01 is not in the composites (bands: B02,", "fix 'bands'"]),
])
def test_features_bad_input(area, tmp_path, capsys, case, change, expected):
    output = tmp_path / "out" / "features.zarr"
    intact = _keep(output)
    data = {"composites": [str(area["scene"])], "dem": str(area["dem"]), "output": str(output),
            "features": {"glcm_textures": [], "index_months": []}, **change(area, tmp_path)}
    line = cli_error(["features", _yaml(tmp_path / "f.yaml", data), "--overwrite"], capsys)
    for part in expected:
        assert part in line
    intact()


def _polygons_elsewhere(dest):
    layer = gpd.read_file(bundled("aber", "training_polygons_aber.gpkg"), layer="cls_urban_smpls")
    moved = layer.to_crs(4326)
    moved["geometry"] = moved.translate(20.0, 0.0)
    moved["class"] = "urban"
    pyogrio.write_dataframe(moved, dest, layer="urban")
    return {"path": str(dest), "class_field": "class"}


def _empty_layer(dest):
    layer = gpd.read_file(bundled("aber", "training_polygons_aber.gpkg"), layer="cls_urban_smpls")
    pyogrio.write_dataframe(layer.iloc[:0], dest, layer="urban")
    return {"path": str(dest), "layers": {"urban": "urban"}}


def _corrupt_every_chunk(cube, dest):
    shutil.copytree(cube, dest)
    for chunk in (dest / "features").iterdir():
        if not chunk.name.startswith("."):
            chunk.write_bytes(chunk.read_bytes()[:16])
    return dest


@pytest.mark.parametrize("case, polygons, cube, expected", [
    ("empty polygon layer", _empty_layer, None,
     ["layer 'urban' of", "empty.gpkg is empty", "add features to it or leave it out"]),
    ("polygons elsewhere, other CRS", _polygons_elsewhere, None,
     ["none of the 13 labelled geometries covers a pixel of the feature grid (EPSG:27700",
      "check their CRS and extent"]),
    ("corrupt cube chunks", None, _corrupt_every_chunk,
     ["broken.zarr: a chunk cannot be decoded", "write it again"]),
])
def test_dataset_bad_input(area, tmp_path, capsys, case, polygons, cube, expected):
    samples = tmp_path / "out" / "samples.parquet"
    intact = _keep(samples)
    data = {"features": {"zarr": str(cube(area["cube"], tmp_path / "broken.zarr") if cube
                                     else area["cube"])},
            "classes": str(bundled("aber", "classes.yaml")),
            "polygons": (polygons(tmp_path / "empty.gpkg") if polygons else
                         {"path": str(bundled("aber", "training_polygons_aber.gpkg")),
                          "layers": LAYERS}),
            "output": str(tmp_path / "out" / "samples"), "dataset": {"strategy": "standard"}}
    line = cli_error(["dataset", _yaml(tmp_path / "d.yaml", data), "--overwrite"], capsys)
    for part in expected:
        assert part in line
    intact()


def test_truncated_sample_table(tmp_path, capsys, table):
    from hrlc.io.vectors import write_samples

    stem = tmp_path / "samples"
    write_samples(table.iloc[:300], {"classes": [{"code": c, "name": f"c{c}"} for c in
                                                 sorted(table["class"].unique())],
                                     "features": ["f0", "f1"]}, stem, formats=["parquet"])
    _truncate(tmp_path / "samples.parquet", tmp_path / "samples.parquet")
    bundle_path = tmp_path / "model" / "model.npz"
    intact = _keep(bundle_path)
    config = _yaml(tmp_path / "t.yaml", {"samples": str(tmp_path / "samples.parquet"),
                                         "output": str(tmp_path / "model")})
    line = cli_error(["train", config, "--overwrite"], capsys)
    assert "samples.parquet: cannot read the sample table" in line
    assert "corrupt or truncated, write it again with hrlc dataset" in line
    intact()


@pytest.mark.parametrize("case", ["truncated bundle", "corrupt cube chunk"])
def test_map_bad_input(tmp_path, capsys, cube, bundle_file, case):
    from hrlc.io import write_zarr

    features = write_zarr(cube.chunk({"y": 16, "x": 16}), tmp_path / "cube.zarr")
    model = bundle_file
    if case == "truncated bundle":
        model = _truncate(bundle_file, tmp_path / "model.npz")
        expected = ["model.npz: not an hrlc model bundle", "train it again with `hrlc train`"]
    else:
        chunk = sorted(p for p in (tmp_path / "cube.zarr" / "data").iterdir()
                       if not p.name.startswith("."))[-1]
        chunk.write_bytes(chunk.read_bytes()[:30])
        expected = ["cube.zarr: a chunk cannot be decoded", "write it again"]
    intact = _keep(tmp_path / "map" / "classes.tif")
    config = _yaml(tmp_path / "m.yaml", {"bundle": str(model), "features": str(features),
                                         "output": str(tmp_path / "map")})
    line = cli_error(["map", config, "--overwrite"], capsys)
    for part in expected:
        assert part in line
    intact()


def test_nodata_areas_stay_nodata_not_a_class(area, tmp_path, cube, bundle_file):
    holes = _crop(bundled_aber(), tmp_path / "s2_20210527_holes.tif", nodata_corner=True)
    main(["features", str(_yaml(tmp_path / "f.yaml", {
        "composites": [str(holes)], "output": str(tmp_path / "f.zarr"),
        "features": {"glcm_textures": [], "index_months": []}}))])
    values = read_zarr(tmp_path / "f.zarr").values
    half = AREA // 2
    assert np.isnan(values[:, :half, :half]).all() and np.isfinite(values[:, half:, half:]).all()

    empty = cube.copy()
    empty[:, :16, :16] = np.nan  # one whole chunk without data
    from hrlc.io import write_zarr

    features = write_zarr(empty.chunk({"y": 16, "x": 16}), tmp_path / "cube.zarr")
    main(["map", str(_yaml(tmp_path / "m.yaml", {"bundle": str(bundle_file),
                                                  "features": str(features),
                                                  "output": str(tmp_path / "map")}))])
    with rasterio.open(tmp_path / "map" / "classes.tif") as src:
        classes = src.read(1)
        assert src.nodata == 0
    with rasterio.open(tmp_path / "map" / "probabilities.tif") as src:
        probabilities = src.read()
        assert src.nodata == 255
    assert (classes[:16, :16] == 0).all() and (probabilities[:, :16, :16] == 255).all()
    assert set(np.unique(classes[16:, 16:])) <= {1, 2, 3, 4} and (classes[16:, 16:] > 0).all()


def test_an_all_cloud_series_gives_cloud_masks(tmp_path, capsys):
    series = simulate_series(size=48, dates=2, seed=3, chunks=48)
    write_series(series, tmp_path / "sim", format="geotiff")
    for scl in (tmp_path / "sim").rglob("*SCL*.tif"):
        with rasterio.open(scl, "r+") as dst:
            dst.write(np.full((1, dst.height, dst.width), 9, np.uint8))  # cloud, high prob.
    config = _yaml(tmp_path / "masks.yaml", {"sources": [str(tmp_path / "sim")],
                                             "output": str(tmp_path / "masks"), "chunks": 48})
    main(["masks", str(config)])
    masks = sorted((tmp_path / "masks").glob("*_mask.tif"))
    assert len(masks) == 2
    for path in masks:
        with rasterio.open(path) as src:
            values = src.read(1)
        valid = values[values != 255]
        assert valid.size and set(np.unique(valid)) <= {1, 2}  # thick or thin cloud


@pytest.mark.parametrize("stage, key, allowed", [
    ("features", "features.glcm_window_size", "glcm_window"),
    ("dataset", "polygons.class_feild", "class_field"),
    ("map", "map.probabilitys", "probabilities"),
    ("masks", "masks.quantil", "quantile"),
    ("run", "featurs", "features"),
])
def test_unknown_config_key_names_it_and_the_allowed_keys(tmp_path, capsys, stage, key,
                                                          allowed):
    base = {"features": {"composites": ["x.tif"], "output": "o.zarr"},
            "dataset": {"features": {"zarr": "f.zarr"}, "output": "s",
                        "polygons": {"path": "p.gpkg"}},
            "map": {"bundle": "m.npz", "features": "f.zarr", "output": "o"},
            "masks": {"sources": ["s"], "output": "o"},
            "run": {"sources": ["s"]}}[stage]
    data = yaml.safe_load(yaml.safe_dump(base))
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = 1
    line = cli_error([stage, _yaml(tmp_path / "c.yaml", data)], capsys)
    assert f"unknown key '{key}' (allowed here: " in line and allowed in line.split("allowed")[1]


def _as_unprivileged(argv):
    """``hrlc ARGV`` in a child process that file permissions apply to (root ignores
    them: a user namespace drops its privileges)."""
    command = [sys.executable, "-m", "hrlc", *map(str, argv)]
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("running as root without unshare: permissions cannot be tested")
        command = ["unshare", "--user", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("stage", ["features", "run"])
def test_read_only_output_folder(area, tmp_path, stage):
    folder = tmp_path / "read-only"
    if stage == "features":
        intact = _keep(folder / "features.zarr")
        config = _yaml(tmp_path / "f.yaml", {
            "composites": [str(area["scene"])], "output": str(folder / "features.zarr"),
            "features": {"glcm_textures": [], "index_months": []}})
        argv = ["features", config, "--overwrite"]
        expected = f"output folder {folder} is not writable; choose another output path or " \
                   "fix its permissions"
    else:
        intact = _keep(folder / "manifest.json")
        config = _yaml(tmp_path / "r.yaml", {"sources": [str(area["scene"])],
                                             "output": str(folder), "stages": ["features"]})
        argv = ["run", config]
        expected = f"run folder {folder} is not writable; choose another output or fix " \
                   "its permissions"
    folder.chmod(0o555)
    try:
        result = _as_unprivileged(argv)
    finally:
        folder.chmod(0o755)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"hrlc: error: {expected}"
    intact()


def test_dataset_from_composites_checks_the_dem_coverage_like_the_map(area, tmp_path, capsys):
    """Training rows would be NaN where mapping stops: the dataset command refuses the DEM
    that does not cover the composites, with the map's message."""
    data = {"features": {"composites": [str(area["scene"])],
                         "dem": str(_dem_elsewhere(area, tmp_path / "dem_far.tif")),
                         "options": {"glcm_textures": [], "index_months": []}},
            "classes": str(bundled("aber", "classes.yaml")),
            "polygons": {"path": str(bundled("aber", "training_polygons_aber.gpkg")),
                         "layers": LAYERS},
            "output": str(tmp_path / "out" / "samples"), "dataset": {"strategy": "standard"}}
    line = cli_error(["dataset", _yaml(tmp_path / "d.yaml", data)], capsys)
    assert "dem_far.tif does not cover the tile" in line
    assert not (tmp_path / "out").exists()
