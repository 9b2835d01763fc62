"""A random-forest bundle: its trees as arrays in the npz (no pickle), scikit-learn's
predictions after a round trip, checksums and checks of the arrays (format version 3)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hrlc.errors import CorruptFileError
from hrlc.model import ModelBundle, load_bundle
from tests.model.conftest import rewrite_bundle
from tests.model.forest_data import CLASS_TABLE, all_pixels, patch_cube, training_rows


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A forest trained on the real patch with clouds imputed by the medians, its bundle
    (sklearn's forest handed over as is) and the saved file."""
    from sklearn.ensemble import RandomForestClassifier

    cube = patch_cube(clouds_as_nan=True)
    X, y = training_rows(cube)
    usable = np.isfinite(X).any(axis=0)  # dates cloudy over the whole western half: out
    names = [n for n, ok in zip(cube["feature"].values.tolist(), usable) if ok]
    X = X[:, usable]
    medians = np.nanmedian(X, axis=0)
    X = np.where(np.isnan(X), medians, X)
    forest = RandomForestClassifier(30, class_weight="balanced", random_state=0,
                                    n_jobs=1).fit(X, y)
    bundle = ModelBundle(input_features=names, classifier=forest, impute_values=medians,
                         class_table=CLASS_TABLE, training={"n_train": len(y)})
    bundle.probe_X = X[:16]
    bundle.probe_scores = bundle.decision_scores(bundle.probe_X)
    path = bundle.save(tmp_path_factory.mktemp("forest") / "model.npz")
    pixels = all_pixels(cube.sel(feature=names))
    return forest, bundle, path, pixels, names, medians


def test_round_trip_predicts_as_sklearn(saved):
    forest, bundle, path, pixels, names, medians = saved
    loaded = load_bundle(path)
    imputed = np.where(np.isnan(pixels), medians, pixels)
    expected = forest.predict_proba(imputed)
    for model in (bundle, loaded):
        np.testing.assert_array_equal(model.predict_proba(pixels), expected)
        np.testing.assert_array_equal(model.predict(pixels), forest.predict(imputed))
    table = pd.DataFrame(pixels[:50, ::-1], columns=names[::-1])  # columns by name
    np.testing.assert_array_equal(loaded.predict(table), forest.predict(imputed[:50]))
    assert loaded.kind == "random_forest" and loaded.variant == "random_forest"
    assert loaded.metadata["version"] == 3 and loaded.metadata["integrity"] == "verified"
    assert loaded.probability_rule() == {"kind": "random_forest", "calibration": None,
                                         "labels": "probability", "aggregation": "tree_mean",
                                         "temperature": 1.0}
    assert loaded.calibrators is None and loaded.n_support_vectors == 0
    assert loaded.classifier.params["class_weight"] == "balanced"
    assert loaded.summary() == (f"random_forest, {len(names)} input features, 30 trees, "
                                f"{sum(t.tree_.node_count for t in forest.estimators_)} nodes")
    with pytest.raises(TypeError, match="holds a random forest, not an SVM"):
        loaded.svm_arrays()
    again = load_bundle(loaded.save(path.with_name("again.npz")))
    np.testing.assert_array_equal(again.predict_proba(pixels), expected)


def test_trees_are_plain_arrays_under_the_checksum(saved):
    forest, _, path, *_ = saved
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(bytes(arrays.pop("__meta__")).decode())
    assert {a.dtype.kind for a in arrays.values()} <= set("biuf")  # nothing pickled
    assert not any(name.startswith("svm/") for name in arrays)
    trees = [t.tree_ for t in forest.estimators_]
    np.testing.assert_array_equal(arrays["forest/threshold"],
                                  np.concatenate([t.threshold for t in trees]))
    np.testing.assert_array_equal(arrays["forest/children_left"],
                                  np.concatenate([t.children_left for t in trees]))
    # each leaf's row of value is its tree's class fractions, exactly
    value = np.concatenate([t.value[:, 0, :] for t in trees])
    leaves = arrays["forest/leaf_value"] >= 0
    np.testing.assert_array_equal(arrays["forest/value"][arrays["forest/leaf_value"][leaves]],
                                  value[leaves])
    assert set(meta["integrity"]["arrays"]) == set(arrays)
    assert meta["classifier"]["kind"] == "random_forest" and meta["version"] == 3


def _cycle(meta, arrays):
    left = arrays["forest/children_left"].copy()
    left[int(np.flatnonzero(left != -1)[1])] = 0  # back to the root: a walk would not end
    arrays["forest/children_left"] = left


def _other_leaf_values(meta, arrays):
    arrays["forest/value"] = arrays["forest/value"][::-1].copy()


def _nan_value(meta, arrays):
    arrays["forest/value"] = arrays["forest/value"].copy()
    arrays["forest/value"][0, 0] = np.nan


def _newer(meta, arrays):
    meta["version"] = 4


def _threshold(meta, arrays):
    arrays["forest/threshold"] = arrays["forest/threshold"] + 1e-3


@pytest.mark.parametrize("edit, reseal, message", [
    (_threshold, False, r"modified since it was written \(array forest/threshold changed\)"),
    (_cycle, True, r"random forest is damaged \(children_left must be a later node of the "
                   r"same tree; node \d+ has 0\)"),
    (_other_leaf_values, True, "does not reproduce the decision values recorded at training"),
    (_nan_value, True, r"non-finite values \(forest/value \(1 NaN\)\)"),
    (_newer, True, r"bundle format version 4 is newer than this hrlc reads \(3\)"),
])
def test_edited_forests_are_refused(saved, tmp_path, edit, reseal, message):
    path = saved[2]
    target = rewrite_bundle(path, tmp_path / f"{edit.__name__}.npz", edit, reseal=reseal)
    with pytest.raises(CorruptFileError, match=message):
        load_bundle(target)
