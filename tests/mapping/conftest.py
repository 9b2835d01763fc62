"""Small trained bundles and feature cubes on a projected grid, shared by the mapping tests."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tests.model.conftest import SMALL_GRID, make_samples

#: Cube side (px) and the chunk size of the chunked cube.
SIDE = 48
CHUNK = 16
CLASS_TABLE = {1: {"name": "forest", "colour": "#1b7837"}, 2: {"name": "grass",
               "colour": "#a6d96a"}, 3: {"name": "urban", "colour": "#d73027"},
               4: {"name": "water", "colour": "#2166ac"}}


def cube_from(table, names, side: int = SIDE, *, crs: int = 32630) -> xr.DataArray:
    """(feature, y, x) float32 cube of the first side*side rows, 10 m pixels."""
    values = table[names].to_numpy(np.float32)[:side * side]
    data = values.T.reshape(len(names), side, side)
    return xr.DataArray(data, dims=("feature", "y", "x"), coords={
        "feature": names, "y": 5_000_000 - 10 * (np.arange(side) + 0.5),
        "x": 400_000 + 10 * (np.arange(side) + 0.5)}).rio.write_crs(crs)


@pytest.fixture(scope="session")
def table():
    """Samples of 4 classes, shuffled: the first 600 rows train, the rest are pixels."""
    samples = make_samples(600 + SIDE * SIDE + 6000, n_classes=4, seed=1, n_noise=6)
    return samples.sample(frac=1, random_state=0).reset_index(drop=True)


def _train(table, **options):
    from hrlc.model import train_model

    return train_model(table.iloc[:600], class_table=CLASS_TABLE, compare=[], seed=0,
                       **{**SMALL_GRID, **options}).bundle


@pytest.fixture(scope="session")
def bundles(table):
    """A multiclass (isotonic) and a one-vs-all (sigmoid) bundle, PCA in the second; a
    one-vs-all bundle with the softmax of its isotonic outputs; the uncalibrated
    multiclass SVM (classes only)."""
    return {"multiclass": _train(table, calibration="isotonic"),
            "ova": _train(table, classifier="ova", calibration="sigmoid", pca="variance"),
            "ova_softmax": _train(table, classifier="ova", aggregation="softmax",
                                  calibration="isotonic"),
            "uncalibrated": _train(table, classifier="multiclass_uncalibrated")}


@pytest.fixture(scope="session")
def bundle(bundles):
    return bundles["multiclass"]


@pytest.fixture(scope="session")
def feature_names(table):
    return [c for c in table.columns if c.startswith(("f", "dup_", "near_"))]


@pytest.fixture(scope="session")
def cube(table, feature_names):
    """All features of the samples (more than any bundle uses), SIDE x SIDE px."""
    return cube_from(table.iloc[600:], feature_names)


@pytest.fixture(scope="session")
def pixels(table):
    """Many more pixels (rows) for the agreement tests."""
    return table.iloc[600:]


@pytest.fixture(scope="session")
def bundle_file(bundle, tmp_path_factory):
    path = tmp_path_factory.mktemp("bundle") / "model.npz"
    return bundle.save(path)
