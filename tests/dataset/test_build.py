"""build_dataset: the strategies use the right sources, splits keep blocks apart, the
table follows the contract, bad inputs are counted, warned or refused."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from hrlc.dataset import COLUMNS, ClassTable, DatasetWarning, LCMapping, build_dataset
from hrlc.errors import ConfigError, InputError
from tests.dataset.conftest import labelled, make_cube
from tests.dataset.test_lcmap import lc_raster

MAPPING = LCMapping({10: "forest", 20: "water"}, source="lc.yaml")


@pytest.fixture
def classes():
    return ClassTable([{"code": 1, "name": "forest"}, {"code": 2, "name": "water"}])


@pytest.fixture
def grid20():
    """20 x 20 px cube (5 x 5 chunks); blocks of 50 m = 5 px -> 4 x 4 blocks."""
    return make_cube((20, 20), chunks=(5, 5))


@pytest.fixture
def polygons():
    """Six 2 x 2 px squares per class, each in its own block (forest left, water right)."""
    geometries, codes = [], []
    for k in range(6):
        bx, by = (k % 2) * 50, (k // 2) * 50  # blocks of cols 0-1 / rows 0-2
        geometries.append(box(1000 + bx + 10, 2000 - by - 30, 1000 + bx + 30, 2000 - by - 10))
        codes.append(1)
        geometries.append(box(1100 + bx + 10, 2000 - by - 30, 1100 + bx + 30, 2000 - by - 10))
        codes.append(2)
    return labelled(geometries, codes)


@pytest.fixture
def lc_maps():
    codes = np.full((20, 20), 10, np.uint16)
    codes[:, 10:] = 20
    return [(lc_raster(codes), MAPPING)]


def run(cube, classes, **options):
    options = {"block_size": 50.0, "min_per_class": 0, "min_polygons_per_class": 0, **options}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        return build_dataset(cube, classes=classes, **options)


def test_standard_uses_polygons_only(grid20, classes, polygons, lc_maps):
    with pytest.warns(DatasetWarning, match="land-cover maps are ignored"):
        table, meta = build_dataset(grid20, classes=classes, polygons=polygons, lc_maps=lc_maps,
                                    block_size=50.0, min_per_class=0)
    assert list(table.columns) == [*COLUMNS, "f0", "f1", "f2"]
    assert set(table["source"]) == {"polygon"} and len(table) == 12 * 4
    assert set(table["split"]) == {"train", "test"}
    assert meta["strategy"] == "standard" and meta["block_size_px"] == 5
    assert meta["features"] == ["f0", "f1", "f2"] and meta["crs"]["epsg"] == 32633


def test_enhanced_adds_map_pixels_for_training_outside_test_blocks(grid20, classes, polygons,
                                                                  lc_maps):
    table, _ = run(grid20, classes, polygons=polygons, lc_maps=lc_maps, strategy="enhanced",
                   lc_per_class={"forest": 30, "water": 20}, seed=5)
    lc = table[table["source"] == "lcmap"]
    poly = table[table["source"] == "polygon"]
    assert lc["class"].value_counts().to_dict() == {1: 30, 2: 20}
    assert (lc["split"] == "train").all() and (lc["polygon_id"] == -1).all()
    assert set(poly["split"]) == {"train", "test"}
    assert not set(lc["block"]) & set(poly.loc[poly["split"] == "test", "block"])
    assert not lc.set_index(["row", "col"]).index.isin(poly.set_index(["row", "col"]).index).any()
    # map classes are right: forest left of col 10, water right
    assert ((lc["col"] < 10) == (lc["class"] == 1)).all()


def test_fulllc_keeps_polygons_apart_as_evaluation(grid20, classes, polygons, lc_maps):
    table, _ = run(grid20, classes, polygons=polygons, lc_maps=lc_maps, strategy="fulllc",
                   lc_per_class=40)
    poly = table[table["source"] == "polygon"]
    lc = table[table["source"] == "lcmap"]
    assert (poly["split"] == "eval").all() and len(poly) == 48
    assert set(lc["split"]) == {"train", "test"} and len(lc) == 80
    assert not set(lc["block"]) & set(poly["block"])
    assert (lc.groupby("block")["split"].nunique() == 1).all()
    only_maps, _ = run(grid20, classes, lc_maps=lc_maps, strategy="fulllc", lc_per_class=40)
    assert set(only_maps["source"]) == {"lcmap"} and len(only_maps) == 80


def test_missing_sources_and_unknown_strategy(grid20, classes, polygons, lc_maps):
    with pytest.raises(ConfigError, match="give lc_maps"):
        run(grid20, classes, polygons=polygons, strategy="enhanced")
    with pytest.raises(ConfigError, match="give polygons"):
        run(grid20, classes, lc_maps=lc_maps)
    with pytest.raises(ConfigError, match="strategy must be one of"):
        run(grid20, classes, polygons=polygons, strategy="full")


def test_polygons_outside_the_grid_are_counted_and_warned(grid20, classes, polygons):
    far = labelled([box(0, 0, 50, 50)], [1], ids=[99])
    mixed = pd.concat([polygons, far], ignore_index=True)
    with pytest.warns(DatasetWarning, match=r"1 of 13 geometries lie outside.*\[99\]"):
        _, meta = build_dataset(grid20, classes=classes, polygons=mixed, block_size=50.0,
                                min_per_class=0)
    assert meta["diagnostics"]["rasterize"]["outside"] == [99]
    with pytest.raises(InputError, match="none of the 1 labelled geometries"):
        run(grid20, classes, polygons=far)


def test_polygons_in_another_crs_are_reprojected(grid20, classes, polygons):
    native, _ = run(grid20, classes, polygons=polygons)
    lonlat, _ = run(grid20, classes, polygons=polygons.to_crs(4326))
    assert native.equals(lonlat)


def test_nan_pixels_are_dropped_and_counted(classes, polygons):
    cube = make_cube((20, 20), chunks=(5, 5))
    values = cube.values.copy()
    values[1, 1:3, 1:3] = np.nan  # the first forest square, in feature f1 only
    cube = cube.copy(data=values)
    with pytest.warns(DatasetWarning, match=r"4 of 48 sampled pixels have NaN.*f1 \(4\)"):
        table, meta = build_dataset(cube, classes=classes, polygons=polygons, block_size=50.0,
                                    min_per_class=0)
    assert len(table) == 44 and np.isfinite(table[["f0", "f1", "f2"]].values).all()
    assert meta["diagnostics"]["nan"]["per_class"] == {"forest/polygon": 4}
    kept, _ = run(cube, classes, polygons=polygons, drop_nan=False)
    assert len(kept) == 48 and kept["f1"].isna().sum() == 4


def test_table_values_caps_and_seed(grid20, classes, polygons):
    table, meta = run(grid20, classes, polygons=polygons, max_per_class={"water": 10}, seed=2)
    assert table["class"].value_counts().to_dict() == {1: 24, 2: 10}
    assert meta["diagnostics"]["capped"] == {2: 14}
    np.testing.assert_array_equal(table["f0"], 100 * table["row"] + table["col"])
    np.testing.assert_array_equal(table["f2"], 2000 + table["f0"])
    assert (table["x"] == 1005 + 10 * table["col"]).all()
    assert (table["y"] == 1995 - 10 * table["row"]).all()
    assert table.dtypes["f1"] == np.float32 and table.dtypes["polygon_id"] == np.int64
    assert (table["class_name"] == table["class"].map({1: "forest", 2: "water"})).all()
    again, _ = run(grid20, classes, polygons=polygons, max_per_class={"water": 10}, seed=2)
    other, _ = run(grid20, classes, polygons=polygons, max_per_class={"water": 10}, seed=3)
    assert table.equals(again) and not table.equals(other)


def test_small_classes_are_reported_and_optionally_dropped(grid20, polygons):
    classes = ClassTable([{"code": 1, "name": "forest"}, {"code": 2, "name": "water"},
                          {"code": 3, "name": "urban"}])
    few = polygons.iloc[[0, 1, 3]]  # forest 1 polygon, water 2
    with pytest.warns(DatasetWarning) as caught:
        table, meta = build_dataset(grid20, classes=classes, polygons=few, block_size=50.0,
                                    min_per_class=5, min_polygons_per_class=2)
    messages = [str(w.message) for w in caught if w.category is DatasetWarning]
    assert any("'forest' is labelled by 1 polygon(s)" in m for m in messages)
    assert any("'urban' (3) has no samples" in m for m in messages)
    assert any("'forest' has 4 train/test samples, fewer than min_per_class=5" in m
               for m in messages)
    assert meta["warnings"] == messages
    dropped, _ = run(grid20, classes, polygons=few, min_per_class=5, drop_small_classes=True)
    assert set(dropped["class"]) == {2}


@pytest.mark.parametrize("seed", range(6))
def test_nan_pixels_are_dropped_before_the_split_so_every_class_keeps_training_rows(
        classes, polygons, seed):
    cube = make_cube((20, 20), chunks=(5, 5))
    values = cube.values.copy()
    values[:, :, :10] = np.nan  # every forest square but one has no features
    values[:, 1:3, 1:3] = 1.0   # the first forest square keeps its features
    cube = cube.copy(data=values)
    table, _ = run(cube, classes, polygons=polygons, seed=seed)
    forest = table[table["class"] == 1]
    assert len(forest) == 4 and set(forest["split"]) == {"train"}
