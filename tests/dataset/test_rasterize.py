"""Polygons and points to pixels: exact counts on a hand-made 10 x 10 grid of 10 m pixels
(top-left corner at (1000, 2000)), and the real RABA polygons against eo-learn's LULC."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import MultiPoint, Point, Polygon, box

from hrlc.dataset import polygon_labels, rasterize_labels, read_class_table, read_vectors
from hrlc.geo import grid_of
from hrlc.io.grid import Grid
from tests.dataset.conftest import CONFIGS, EOLEARN, labelled, make_cube

GRID = grid_of(make_cube(), "the feature cube", north_up=True)


def count(geometry, *, all_touched=False) -> int:
    pixels, _ = rasterize_labels(labelled([geometry], [1]), GRID, all_touched=all_touched)
    return len(pixels)


@pytest.mark.parametrize("geometry, centres, touched", [
    # edges on pixel edges: 3 x 3 pixels either way
    (box(1020, 1940, 1050, 1970), 9, 9),
    # edges a quarter pixel outside a 3 x 3 block of centres: it touches 5 x 5 pixels
    (box(1017.5, 1937.5, 1052.5, 1972.5), 9, 25),
    # right triangle x + (2000 - y) < 102 from the top-left corner: centres with
    # c + r <= 9 (55 of them); touched pixels have c + r <= 10 (64)
    (Polygon([(1000, 2000), (1102, 2000), (1000, 1898)]), 55, 64),
    # a 3 m square inside one pixel, away from its centre
    (box(1011, 1981, 1014, 1984), 0, 1),
    # cut by the grid's top-left corner: 3 cols x 5 rows inside
    (box(970, 1950, 1030, 2030), 15, 15),
])
def test_exact_pixel_counts(geometry, centres, touched):
    assert count(geometry) == centres
    assert count(geometry, all_touched=True) == touched


def test_points_label_the_pixel_that_contains_them():
    pixels, _ = rasterize_labels(labelled([Point(1005, 1995), Point(1093.2, 1901.7),
                                           MultiPoint([(1031, 1969), (1049, 1951)])],
                                          [1, 2, 3]), GRID)
    assert pixels[["row", "col", "class"]].values.tolist() == [
        [0, 0, 1], [3, 3, 3], [4, 4, 3], [9, 9, 2]]


def test_outside_and_too_small_geometries_are_counted():
    geometries = [box(500, 500, 600, 600), box(1011, 1981, 1014, 1984), box(1020, 1940, 1050, 1970)]
    pixels, diag = rasterize_labels(labelled(geometries, [1, 1, 2], ids=[7, 8, 9]), GRID)
    assert diag["outside"] == [7] and diag["without_pixels"] == [8]
    assert diag["pixels"] == {9: 9} and len(pixels) == 9


def test_overlaps_keep_the_first_polygon_and_drop_conflicting_pixels():
    # two polygons of class 1 sharing a 1 x 3 column, and one of class 2 over 2 pixels
    first, second = box(1000, 1970, 1030, 2000), box(1020, 1970, 1050, 2000)
    other = box(1040, 1980, 1060, 2000)
    pixels, diag = rasterize_labels(labelled([first, second, other], [1, 1, 2]), GRID)
    assert diag["conflict_pixels"] == 2  # pixels of col 4, rows 0-1
    assert (pixels.query("col == 2")["polygon_id"] == 0).all()
    assert len(pixels) == 15  # 17 pixels covered, 2 of them dropped
    assert set(pixels.query("col == 4")["row"]) == {2}


def test_raba_polygons_reproduce_the_eolearn_lulc_map(eolearn_grid):
    transform, shape, crs = eolearn_grid
    grid = Grid(crs=crs, transform=transform, shape=shape)
    vectors = read_vectors(EOLEARN / "LULC_polygons.gpkg")
    classes = read_class_table(CONFIGS / "classes_eolearn.yaml")
    labels = polygon_labels(vectors, classes=classes, crs=crs, class_field="LULC_ID",
                            ignore=[0])
    pixels, diag = rasterize_labels(labels, grid)
    ours = np.zeros(shape, np.uint16)
    ours[pixels["row"], pixels["col"]] = pixels["class"]
    np.testing.assert_array_equal(ours, np.load(EOLEARN / "LULC.npy")[..., 0])
    assert labels.attrs["diagnostics"]["ignored"] == 4 and len(labels) == 84
    assert len(diag["without_pixels"]) == 6 and diag["outside"] == []
