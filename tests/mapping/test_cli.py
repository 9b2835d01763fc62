"""``hrlc map``: from a feature cube or from composites, outputs, refusals, bad input."""

import json
import textwrap

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr

from hrlc.cli import main
from hrlc.io import write_cog, write_zarr
from hrlc.mapping import predict_map
from hrlc.model import file_checksum
from tests.mapping.conftest import CHUNK, CLASS_TABLE


def _write(tmp_path, text: str, name="map.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def cube_zarr(cube, tmp_path_factory):
    path = tmp_path_factory.mktemp("cube") / "features.zarr"
    return write_zarr(cube.chunk({"feature": -1, "y": CHUNK, "x": CHUNK}), path)


def test_map_from_a_cube(tmp_path, cube_zarr, bundle_file, bundle, cube, capsys):
    config = _write(tmp_path, f"""\
        bundle: {bundle_file}
        features: {cube_zarr}
        output: {tmp_path / 'out'}
        title: test map
        map: {{probabilities: float32}}
        """)
    main(["map", str(config)])
    err = capsys.readouterr().err
    assert "multiclass SVM" in err and "wrote classes.tif" in err
    out = tmp_path / "out"
    expected = predict_map(cube, bundle, probabilities="float32").compute()
    with rasterio.open(out / "classes.tif") as src:
        np.testing.assert_array_equal(src.read(1), expected.classes.values)
        tags = src.tags()
        assert src.colormap(1)[4][:3] == (0x21, 0x66, 0xac)
    assert tags["bundle_sha256"] == file_checksum(bundle_file)
    assert json.loads(tags["config"])["map"]["probabilities"] == "float32"
    with rasterio.open(out / "probabilities.tif") as src:
        np.testing.assert_array_equal(src.read(), expected.probabilities.values)
    manifest = json.loads((out / "map.json").read_text())
    assert manifest["blocks"] == 9 and manifest["blocks_resumed"] == 0
    assert not (out / ".hrlc-work.zarr").exists()

    with pytest.raises(SystemExit) as refused:
        main(["map", str(config)])
    assert refused.value.code == 2 and "--overwrite" in capsys.readouterr().err
    main(["map", str(config), "--overwrite"])


def test_map_with_features_computed_on_the_fly(tmp_path):
    """Composites in, features built per chunk (never stored), same map as the cube's."""
    from hrlc.features import build_features
    from hrlc.model import train_model

    rng = np.random.default_rng(3)
    side = 40
    field = rng.random((side, side)) < 0.5
    b04 = np.where(field, 0.05, 0.2) + rng.normal(0, 0.02, (side, side))
    b08 = np.where(field, 0.4, 0.25) + rng.normal(0, 0.02, (side, side))
    composites = xr.DataArray(
        np.stack([b04, b08])[None].astype(np.float32), dims=("time", "band", "y", "x"),
        coords={"time": pd.to_datetime(["2021-06-01"]), "band": ["B04", "B08"],
                "y": 5_000_000 - 10 * (np.arange(side) + 0.5),
                "x": 400_000 + 10 * (np.arange(side) + 0.5)}).rio.write_crs(32630)
    composites[0, :, 0, 0] = np.nan
    stored = write_zarr(composites.chunk({"y": 16, "x": 16}), tmp_path / "composites.zarr")
    options = {"bands": ["B04", "B08"], "indices": ["NDVI"], "glcm_textures": []}
    cube = build_features(composites, **options)
    X = cube.values.reshape(cube.sizes["feature"], -1).T
    labels = np.where(field.ravel(), 1, 2)
    ok = np.isfinite(X).all(axis=1)
    table = pd.DataFrame(X[ok], columns=[str(f) for f in cube.feature.values])
    table["class"] = labels[ok]
    table["block"] = rng.integers(0, 20, ok.sum())
    table["split"] = np.where(rng.random(ok.sum()) < 0.2, "test", "train")
    bundle = train_model(table, class_table=CLASS_TABLE, compare=[], selection="none",
                         C=(1.0,), gamma_factors=(1.0,), n_jobs=1).bundle
    bundle_file = bundle.save(tmp_path / "model.npz")
    config = _write(tmp_path, f"""\
        bundle: {bundle_file}
        composites: {stored}
        chunks: 16
        feature_options: {json.dumps(options)}
        output: {tmp_path / 'out'}
        """)
    main(["map", str(config)])
    expected = predict_map(cube, bundle).compute()
    with rasterio.open(tmp_path / "out" / "classes.tif") as src:
        classes = src.read(1)
    np.testing.assert_array_equal(classes, expected.classes.values)
    assert classes[0, 0] == 0 and np.mean(classes.ravel()[ok] == labels[ok]) > 0.95


@pytest.mark.parametrize("case, extra, message", [
    ("mask on another CRS", "mask: {mask}", "grid"),
    ("cube lacking features", "", "f1"),
    ("no such cube", "", "nothing.zarr"),
    ("cube and composites", "composites: [x.tif]", "either 'features'"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, cube, cube_zarr, bundle_file, capsys, case,
                                      extra, message):
    features = cube_zarr
    if case == "cube lacking features":
        features = write_zarr(cube.drop_sel(feature=["f1", "f2"]), tmp_path / "lacking.zarr")
    elif case == "no such cube":
        features = tmp_path / "nothing.zarr"
    elif case == "mask on another CRS":
        mask = xr.ones_like(cube.isel(feature=0, drop=True), dtype=np.uint8)
        write_cog(mask.rio.write_crs(32631), tmp_path / "mask.tif")
    config = _write(tmp_path, f"""\
        bundle: {bundle_file}
        features: {features}
        output: {tmp_path / 'out'}
        {extra.format(mask=tmp_path / 'mask.tif')}
        """)
    with pytest.raises(SystemExit) as error:
        main(["map", str(config)])
    assert error.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "classes.tif").exists()
