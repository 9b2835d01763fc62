"""Sample tables round-trip through CSV and Parquet; label files fail clearly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from hrlc.dataset import (
    build_dataset,
    read_class_table,
    read_lc_map,
    read_lc_mapping,
    read_samples,
    read_vectors,
    write_samples,
)
from hrlc.errors import ConfigError, CorruptFileError, InputError, OutputExistsError
from tests.dataset.conftest import CONFIGS, labelled, make_cube

pytestmark = pytest.mark.filterwarnings("ignore::hrlc.dataset.DatasetWarning")


@pytest.fixture
def samples(classes):
    cube = make_cube((20, 20), chunks=(10, 10))
    rng = np.random.default_rng(0)
    cube = cube.copy(data=(rng.standard_normal(cube.shape) * 10.0 ** rng.integers(
        -8, 8, cube.shape)).astype(np.float32))
    polygons = labelled([box(1000, 1800, 1100, 2000), box(1100, 1800, 1200, 2000)], [1, 2])
    return build_dataset(cube, classes=classes, polygons=polygons, block_size=50.0,
                         min_per_class=0, min_polygons_per_class=0)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_sample_tables_round_trip_exactly(tmp_path, samples, fmt):
    table, metadata = samples
    written = write_samples(table, metadata, tmp_path / "out" / "samples.csv")
    assert [p.name for p in written] == ["samples.csv", "samples.parquet", "samples.json"]
    back, meta = read_samples(tmp_path / "out" / f"samples.{fmt}")
    pd.testing.assert_frame_equal(back, table, check_exact=True)
    assert meta["features"] == metadata["features"] and meta["classes"] == metadata["classes"]
    assert meta["columns"][:10] == ["x", "y", "row", "col", "class", "class_name",
                                    "polygon_id", "source", "block", "split"]
    assert meta["crs"]["epsg"] == 32633 and meta["block_size"] == 50.0 and meta["seed"] == 0
    json.loads((tmp_path / "out" / "samples.json").read_text())  # plain JSON


def test_nan_features_round_trip_through_csv(tmp_path, samples):
    table, metadata = samples
    table = table.copy()
    table.loc[3, "f1"] = np.nan
    write_samples(table, metadata, tmp_path / "s", formats=["csv"])
    back, _ = read_samples(tmp_path / "s.csv")
    pd.testing.assert_frame_equal(back, table, check_exact=True)


def test_sample_file_errors(tmp_path, samples):
    table, metadata = samples
    write_samples(table, metadata, tmp_path / "s", formats=["parquet"])
    with pytest.raises(OutputExistsError):
        write_samples(table, metadata, tmp_path / "s", formats=["parquet"])
    write_samples(table, metadata, tmp_path / "s", formats=["parquet"], overwrite=True)
    with pytest.raises(InputError, match="s.csv not found"):
        read_samples(tmp_path / "s.csv")
    (tmp_path / "s.json").unlink()
    with pytest.raises(InputError, match="sidecar s.json is missing"):
        read_samples(tmp_path / "s")
    with pytest.raises(InputError, match=r"lacks columns \['split'\]"):
        write_samples(table.drop(columns="split"), metadata, tmp_path / "t")
    with pytest.raises(ConfigError, match="formats"):
        write_samples(table, metadata, tmp_path / "t", formats=["xlsx"])


def test_label_file_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_vectors(tmp_path / "missing.gpkg")
    (tmp_path / "junk.gpkg").write_text("not a geopackage")
    with pytest.raises(CorruptFileError, match="cannot open as a vector file"):
        read_vectors(tmp_path / "junk.gpkg")
    bad = tmp_path / "mapping.yaml"
    bad.write_text("mapping: {1: forest, x: water}\n")
    with pytest.raises(ConfigError, match=r"integers, got \['x'\]"):
        read_lc_mapping(bad)
    bad.write_text("mapping: {1: forest}\nignore: [1]\n")
    with pytest.raises(ConfigError, match=r"codes \[1\] are both mapped and ignored"):
        read_lc_mapping(bad)
    bad.write_text("mapping: {1: forest}\nnodata: 0\n")
    with pytest.raises(ConfigError, match="expected a mapping with keys"):
        read_lc_mapping(bad)
    assert read_lc_mapping(CONFIGS / "lcmap_aber.yaml").codes[4] == "water"
    assert read_class_table(CONFIGS / "classes_eolearn.yaml").codes == [1, 2, 3, 4, 8]


def test_land_cover_raster_errors(tmp_path):
    def write(path, dtype, crs):
        with rasterio.open(path, "w", driver="GTiff", height=2, width=2, count=1, dtype=dtype,
                           crs=crs, transform=Affine(10, 0, 0, 0, -10, 20)) as dst:
            dst.write(np.ones((1, 2, 2), dtype))
        return path

    with pytest.raises(InputError, match="has no CRS"):
        read_lc_map(write(tmp_path / "a.tif", "uint8", None))
    with pytest.raises(InputError, match="integer codes, got float32"):
        read_lc_map(write(tmp_path / "b.tif", "float32", "EPSG:32633"))
    lc = read_lc_map(write(tmp_path / "c.tif", "uint8", "EPSG:32633"))
    assert lc.dims == ("y", "x") and lc.rio.crs.to_epsg() == 32633
