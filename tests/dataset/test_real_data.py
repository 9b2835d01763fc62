"""The class counts on the two real data sets, against GDAL's own rasterisation.

- Aberystwyth: the bundled scene as a one-month stack (10 bands + NDVI + NDWI), its 40
  polygons (one layer per class) and the rsgislib classifier output as land-cover map.
- eo-learn patch: no L2A cube exists there; the features are the 13 L1C TOA bands of
  its 5 reference scenes. Labels: the 88 RABA polygons (``LULC_ID``, 4 of them code 0,
  ignored) and LULC.npy, which is those polygons rasterised.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hrlc.dataset import (
    DatasetWarning,
    build_dataset,
    class_summary,
    polygon_labels,
    read_class_table,
    read_lc_map,
    read_lc_mapping,
    read_vectors,
)
from hrlc.errors import InputError
from hrlc.testing import bundled
from tests.dataset.conftest import ABER_LAYERS, CONFIGS, EOLEARN, rasterized

pytestmark = pytest.mark.filterwarnings("ignore::hrlc.dataset.DatasetWarning")


def counts(table, classes):
    """Per class name: the sample counts by source and the polygon count."""
    return class_summary(table, classes).set_index("name")


def quiet(cube, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DatasetWarning)
        table, meta = build_dataset(cube, **options)
    return table, meta, [str(w.message) for w in caught if w.category is DatasetWarning]


@pytest.fixture(scope="module")
def aber_labels(aber_features):
    classes = read_class_table(CONFIGS / "classes_aber.yaml")
    vectors = read_vectors(bundled("aber", "training_polygons_aber.gpkg"))
    polygons = polygon_labels(vectors, classes=classes, crs=aber_features.rio.crs,
                              layers=ABER_LAYERS)
    lc = read_lc_map(bundled("aber", "rsgislib_classification_output.tif"), chunks=512)
    return classes, polygons, [(lc, read_lc_mapping(CONFIGS / "lcmap_aber.yaml"))]


@pytest.fixture(scope="module")
def eolearn_labels(eolearn_cube, eolearn_lulc_tif):
    classes = read_class_table(CONFIGS / "classes_eolearn.yaml")
    polygons = polygon_labels(read_vectors(EOLEARN / "LULC_polygons.gpkg"), classes=classes,
                              crs=eolearn_cube.rio.crs, class_field="LULC_ID", ignore=[0])
    lc = read_lc_map(eolearn_lulc_tif)
    return classes, polygons, [(lc, read_lc_mapping(CONFIGS / "lcmap_eolearn.yaml"))]


def test_aber_counts(aber_features, aber_labels):
    classes, polygons, lc_maps = aber_labels
    table, meta, notes = quiet(aber_features, classes=classes, polygons=polygons,
                               strategy="standard")
    summary = counts(table, classes)
    print("\naber standard\n", summary.to_string())
    assert summary["polygon"].to_dict() == rasterized(polygons, aber_features)
    assert summary["polygons"].to_dict() == polygons.groupby("class_name").size().to_dict()
    assert notes == [] and meta["diagnostics"]["nan"]["pixels"] == 0
    for strategy in ("enhanced", "fulllc"):
        table, meta, notes = quiet(aber_features, classes=classes, polygons=polygons,
                                   lc_maps=lc_maps, strategy=strategy, lc_per_class=1000,
                                   lc_erosion=2)
        summary = counts(table, classes)
        print(f"aber {strategy}\n", summary.to_string(), "\n", notes)
        assert (summary["lcmap"] == 1000).all()
        assert summary["polygon"].sum() == sum(rasterized(polygons, aber_features).values())
        lc = table[table["source"] == "lcmap"]
        held = table[table["split"] == ("eval" if strategy == "fulllc" else "test")]
        assert not set(lc["block"]) & set(held["block"])


def test_eolearn_counts(eolearn_cube, eolearn_labels):
    classes, polygons, lc_maps = eolearn_labels
    # the patch is 1 km wide and its polygons tile it: joined by polygons spanning them,
    # all blocks form one group, so the split is by polygon
    table, meta, notes = quiet(eolearn_cube, classes=classes, polygons=polygons,
                               strategy="standard", block_size=200.0)
    assert (table["split"] == "train").all() and any("no test samples" in n for n in notes)
    standard, meta, notes = quiet(eolearn_cube, classes=classes, polygons=polygons,
                                  strategy="standard", block_size=200.0, split_by="polygon")
    summary = counts(standard, classes)
    print("\neolearn standard\n", summary.to_string(), "\n", notes)
    reference = rasterized(polygons, eolearn_cube)
    assert summary["polygon"].to_dict() == {k: v for k, v in reference.items() if v}
    # the map is these polygons rasterised: outside polygon pixels it has nothing to add
    table, meta, notes = quiet(eolearn_cube, classes=classes, polygons=polygons,
                               lc_maps=lc_maps, strategy="enhanced", block_size=200.0,
                               split_by="polygon")
    assert (table["source"] == "polygon").all() and len(table) == sum(reference.values())
    assert any("no eligible pixel" in n for n in notes)
    with pytest.raises(InputError, match="nothing to train on"):
        build_dataset(eolearn_cube, classes=classes, polygons=polygons, lc_maps=lc_maps,
                      strategy="fulllc", block_size=200.0)
    # FullLC as it is meant: the map everywhere but around the polygons held out
    held_out = polygons[polygons["polygon_id"].isin(
        standard.loc[standard["split"] == "test", "polygon_id"])]
    table, meta, notes = quiet(eolearn_cube, classes=classes, polygons=held_out,
                               lc_maps=lc_maps, strategy="fulllc", block_size=200.0,
                               lc_per_class=500)
    summary = counts(table, classes)
    print("eolearn fulllc (held-out polygons)\n", summary.to_string(), "\n", notes)
    assert not set(table.loc[table["split"] == "eval", "block"]) & set(
        table.loc[table["source"] == "lcmap", "block"])
