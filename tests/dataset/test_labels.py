"""Class tables, label values and the bad inputs of vector labels."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from hrlc.dataset import (
    ClassTable,
    infer_classes,
    label_values,
    polygon_labels,
    rasterize_labels,
    read_class_table,
    read_vectors,
)
from hrlc.geo import grid_of
from hrlc.errors import ConfigError, InputError
from tests.dataset.conftest import make_cube

GRID = grid_of(make_cube(), "the feature cube", north_up=True)
SQUARE = box(1017.5, 1937.5, 1052.5, 1972.5)  # 9 pixel centres, 25 touched


@pytest.mark.parametrize("records, message", [
    ([{"code": 1, "name": "forest"}, {"code": 2, "name": " Forest "}], "duplicate class name"),
    ([{"code": 1, "name": "forest"}, {"code": 1, "name": "water"}], "duplicate class code 1"),
    ([{"code": 0, "name": "nodata"}], "1-255"),
    ([{"code": 1, "name": "forest", "colour": "green"}], "#rrggbb"),
    ([{"code": 1}], "must have 'code' and 'name'"),
    ([], "empty"),
])
def test_bad_class_tables_are_config_errors(records, message):
    with pytest.raises(ConfigError, match=message):
        ClassTable(records, source="t.yaml")


def test_class_table_yaml_and_lookup(tmp_path, classes):
    path = tmp_path / "classes.yaml"
    path.write_text("classes:\n  - {code: 1, name: forest, colour: '#00aa00'}\n"
                    "  - {code: 1, name: water}\n")
    with pytest.raises(ConfigError, match=f"{path}: duplicate class code 1"):
        read_class_table(path)
    assert [classes.code_of(v) for v in ("Forest", 2, "3", 3.0, "bog", 9)] == [1, 2, 3, 3,
                                                                              None, None]
    assert classes.colour_of(3) == "#2ca02c"  # palette colour for a class without one
    assert ClassTable.from_values([3, 1, 3]).names == ["class 1", "class 3"]
    assert ClassTable.from_values(["water", "forest"]).codes == [1, 2]


def _vectors(geometries, values, *, crs=32633, layer="labels", field="kind"):
    return gpd.GeoDataFrame({field: values, "layer": layer}, geometry=geometries, crs=crs)


def test_class_from_field_with_renames_and_ignored_values(classes):
    vectors = _vectors([SQUARE, SQUARE, SQUARE, SQUARE], ["Forest", "lake", 0, "urban"])
    labels = polygon_labels(vectors, classes=classes, crs=32633, class_field="kind",
                            values={"lake": "water"}, ignore=[0])
    assert labels["class"].tolist() == [1, 2, 3] and labels["polygon_id"].tolist() == [0, 1, 3]
    assert labels["class_name"].tolist() == ["forest", "water", "urban"]
    assert labels.attrs["diagnostics"]["ignored"] == 1


def test_unknown_class_values_are_listed(classes):
    vectors = _vectors([SQUARE] * 3, ["bog", "forest", "heath"])
    with pytest.raises(ConfigError, match="'bog', 'heath' not in the class table test table"):
        polygon_labels(vectors, classes=classes, crs=32633, class_field="kind")
    with pytest.raises(ConfigError, match="class field 'klass' not found"):
        polygon_labels(vectors, classes=classes, crs=32633, class_field="klass")


def test_one_layer_per_class_from_a_geopackage(tmp_path, classes):
    path = tmp_path / "labels.gpkg"
    _vectors([SQUARE], [1]).drop(columns="layer").to_file(path, layer="cls_forest")
    _vectors([box(1000, 1900, 1010, 1910)], [1]).drop(columns="layer").to_file(
        path, layer="cls_water", mode="a")
    vectors = read_vectors(path)
    assert vectors["layer"].tolist() == ["cls_forest", "cls_water"]
    labels = polygon_labels(vectors, classes=classes, crs=32633,
                            layers={"cls_forest": "forest", "cls_water": "water"})
    assert labels["class"].tolist() == [1, 2]
    with pytest.raises(ConfigError, match="either 'class_field'"):
        label_values(vectors, class_field="kind", layers={"cls_forest": "forest"})
    with pytest.raises(InputError, match=r"no layer\(s\) \['cls_bog'\]"):
        read_vectors(path, layers=["cls_bog"])


def test_an_empty_layer_is_an_error_naming_it(tmp_path):
    path = tmp_path / "labels.gpkg"
    _vectors([SQUARE], [1]).to_file(path, layer="cls_forest")
    pyogrio.write_dataframe(gpd.GeoDataFrame({"kind": []}, geometry=[], crs=32633), path,
                            layer="cls_water", geometry_type="Polygon", append=True)
    with pytest.raises(InputError, match=f"layer 'cls_water' of {path} is empty"):
        read_vectors(path)


def test_polygons_in_another_crs_are_reprojected(classes):
    native = _vectors([SQUARE, Point(1005, 1995)], ["forest", "water"])
    lonlat = native.to_crs(4326)
    labels = polygon_labels(lonlat, classes=classes, crs="EPSG:32633", class_field="kind")
    assert labels.crs.to_epsg() == 32633
    assert labels.attrs["diagnostics"]["reprojected_from"] == "EPSG:4326"
    for all_touched, expected in ((False, 10), (True, 26)):
        pixels, _ = rasterize_labels(labels.assign(layer="x"), GRID, all_touched=all_touched)
        assert len(pixels) == expected


def test_invalid_geometries_are_repaired_and_counted(classes):
    bowtie = Polygon([(1000, 2000), (1040, 1960), (1040, 2000), (1000, 1960)])
    labels = polygon_labels(_vectors([bowtie, SQUARE], ["forest", "forest"]), classes=classes,
                            crs=32633, class_field="kind")
    assert labels.geometry.is_valid.all() and labels.attrs["diagnostics"]["repaired"] == 1
    assert labels.geometry.iloc[0].geom_type == "MultiPolygon"
    assert labels.geometry.iloc[0].area == pytest.approx(800)


def test_other_bad_vectors(classes):
    with pytest.raises(InputError, match="no CRS"):
        polygon_labels(_vectors([SQUARE], ["forest"], crs=None), classes=classes, crs=32633)
    with pytest.raises(InputError, match="unsupported geometry types.*LineString"):
        polygon_labels(_vectors([LineString([(0, 0), (1, 1)])], ["forest"]), classes=classes,
                       crs=32633)
    empty = _vectors([Polygon(), None], ["forest", "water"])
    with pytest.raises(InputError, match="no labelled geometry left"):
        polygon_labels(empty, classes=classes, crs=32633)
    twice = _vectors([SQUARE, SQUARE], ["forest", "water"]).assign(pid=[4, 4])
    with pytest.raises(InputError, match="unique integers"):
        polygon_labels(twice, classes=classes, crs=32633, id_field="pid", class_field="kind")
    ids = polygon_labels(twice.assign(pid=[4, 9]), classes=classes, crs=32633, id_field="pid",
                         class_field="kind")
    assert ids["polygon_id"].tolist() == [4, 9]


def test_integer_fields_read_as_floats_and_inferred_tables(classes):
    vectors = _vectors([SQUARE] * 4, [1.0, 0.0, float("nan"), 2.0])
    labels = polygon_labels(vectors, classes=classes, crs=32633, class_field="kind", ignore=[0])
    assert labels["class"].tolist() == [1, 2] and labels.attrs["diagnostics"]["ignored"] == 2
    inferred = infer_classes(vectors, class_field="kind", ignore=[0])
    assert inferred.codes == [1, 2] and inferred.names == ["class 1", "class 2"]
    named = infer_classes(_vectors([SQUARE] * 2, ["water", "forest"], layer="x"),
                          class_field="kind")
    assert named.names == ["forest", "water"]
    with pytest.raises(InputError, match="no class value left"):
        infer_classes(vectors, class_field="kind", ignore=[0, 1, 2])
