"""predict_map with a random-forest bundle: every pixel's class and probabilities are
scikit-learn's, on a real patch, whatever the chunks and the scheduler."""

from __future__ import annotations

import dask
import numpy as np
import pytest

from hrlc.mapping import BundlePredictor, predict_map
from hrlc.model import ModelBundle, load_bundle
from tests.model.forest_data import CLASS_TABLE, all_pixels, fit_forest, patch_cube

#: Features the forest reads, in its order (a subset of the cube's, shuffled).
FEATURES = [f"NDVI_t{t:02d}" for t in (40, 3, 17, 60, 25)] + [
    f"L1C_s{s}_{b}" for s in (2, 4) for b in ("B04", "B08", "B11", "B02")]


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """The patch cube (every feature), a forest on FEATURES and its saved bundle."""
    cube = patch_cube()
    forest = fit_forest(cube.sel(feature=FEATURES), n_estimators=40, min_samples_leaf=2)
    bundle = ModelBundle(input_features=FEATURES, classifier=forest, class_table=CLASS_TABLE)
    bundle.probe_X = all_pixels(cube.sel(feature=FEATURES))[:16]
    bundle.probe_scores = bundle.decision_scores(bundle.probe_X)
    loaded = load_bundle(bundle.save(tmp_path_factory.mktemp("forest") / "model.npz"))
    return cube, forest, loaded


def _sklearn(forest, cube):
    X = all_pixels(cube.sel(feature=FEATURES))
    return forest.predict(X), forest.predict_proba(X)


def test_every_pixel_is_sklearns(mapped):
    cube, forest, bundle = mapped
    labels, proba = _sklearn(forest, cube)
    height, width = cube.sizes["y"], cube.sizes["x"]
    result = predict_map(cube, bundle, probabilities="float32", chunks=32).compute(
        scheduler="threads")
    np.testing.assert_array_equal(result["classes"].values.ravel(), labels)
    assert result["probabilities"]["class"].values.tolist() == forest.classes_.tolist()
    got = result["probabilities"].values.reshape(len(forest.classes_), -1).T
    np.testing.assert_array_equal(got, proba.astype(np.float32))
    top = np.sort(proba, axis=1)
    np.testing.assert_array_equal(result["confidence"].values.ravel(),
                                  top[:, -1].astype(np.float32))
    np.testing.assert_array_equal(result["margin"].values.ravel(),
                                  (top[:, -1] - top[:, -2]).astype(np.float32))
    assert result["classes"].shape == (height, width) and result.rio.crs.to_epsg() == 32633
    assert result.attrs["class_names"] == [CLASS_TABLE[c]["name"] for c in forest.classes_]
    percent = predict_map(cube, bundle, chunks=48).compute(scheduler="sync")
    np.testing.assert_array_equal(percent["probabilities"].values.reshape(
        len(forest.classes_), -1).T, np.rint(proba * 100).astype(np.uint8))
    np.testing.assert_array_equal(percent["classes"].values, result["classes"].values)


def test_predictor_matches_on_any_thread_and_marks_nodata(mapped):
    cube, forest, bundle = mapped
    labels, proba = _sklearn(forest, cube)
    predictor = BundlePredictor(bundle)
    assert predictor.has_probabilities and predictor.label_rule == "probability"
    direct = predictor.predict(all_pixels(cube.sel(feature=FEATURES)))
    np.testing.assert_array_equal(direct.classes, labels)
    np.testing.assert_array_equal(direct.probabilities, proba)
    holes = cube.copy(data=cube.values.copy())
    holes.loc[{"feature": FEATURES[2]}] = np.where(np.eye(101, 100, dtype=bool), np.nan,
                                                   holes.sel(feature=FEATURES[2]).values)
    with dask.config.set(scheduler="threads", num_workers=2):  # serial kernels in workers
        result = predict_map(holes, bundle, probabilities="float32", chunks=25).compute()
    classes = result["classes"].values
    assert (classes[np.eye(101, 100, dtype=bool)] == 0).all()
    np.testing.assert_array_equal(classes[~np.eye(101, 100, dtype=bool)],
                                  labels.reshape(101, 100)[~np.eye(101, 100, dtype=bool)])
    assert np.isnan(result["probabilities"].values[:, np.eye(101, 100, dtype=bool)]).all()
