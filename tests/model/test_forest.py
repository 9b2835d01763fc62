"""ForestArrays: scikit-learn's RandomForestClassifier as arrays, with its predictions
exactly, on a real labelled patch (with clouds as missing values)."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from hrlc.model.forest import ForestArrays
from tests.model.forest_data import all_pixels, fit_forest, patch_cube, training_rows


@pytest.fixture(scope="module")
def cloudy():
    """The patch with cloudy NDVI dates as NaN (every pixel misses some)."""
    return patch_cube(clouds_as_nan=True)


@pytest.fixture(scope="module")
def clear():
    return patch_cube()


@pytest.fixture(scope="module")
def threaded_forest(clear):
    """60 full-depth trees fitted by 2 threads (the same trees as with 1: one seed per
    tree); tests that need scikit-learn's serial sums copy it with ``n_jobs=1``."""
    return fit_forest(clear, n_jobs=2)


@pytest.mark.parametrize("class_weight", [None, "balanced", "balanced_subsample"])
def test_probabilities_and_labels_are_sklearns_with_missing_values(cloudy, class_weight):
    """Trained on NaN features, predicting NaN features: bit for bit with n_jobs=1."""
    forest = fit_forest(cloudy, n_estimators=25, class_weight=class_weight)
    arrays = ForestArrays.from_sklearn(forest)
    X = all_pixels(cloudy)
    assert np.isnan(X).any(axis=1).all() and arrays.allow_nan
    proba = arrays.predict_proba(X)
    np.testing.assert_array_equal(proba, forest.predict_proba(X))
    np.testing.assert_array_equal(arrays.predict(X), forest.predict(X))
    # float64 features are rounded to float32 first, as scikit-learn does
    np.testing.assert_array_equal(arrays.predict_proba(X.astype(np.float64)), proba)
    assert arrays.n_trees == 25 and arrays.n_nodes == sum(
        t.tree_.node_count for t in forest.estimators_)


def test_forest_trained_without_nan_sends_nan_where_sklearn_does(threaded_forest, cloudy):
    forest = copy.copy(threaded_forest).set_params(n_jobs=1)  # trees summed in order
    arrays = ForestArrays.from_sklearn(forest)
    X = all_pixels(cloudy)
    np.testing.assert_array_equal(arrays.predict_proba(X), forest.predict_proba(X))


def test_threaded_sklearn_within_1e_12_and_kernels_agree_on_any_thread(threaded_forest, clear):
    forest = threaded_forest
    arrays = ForestArrays.from_sklearn(forest)
    X = all_pixels(clear)
    expected = forest.predict_proba(X)  # trees added in the order its threads finish
    proba = arrays.predict_proba(X)
    assert np.abs(proba - expected).max() <= 1e-12
    np.testing.assert_array_equal(np.argmax(proba, 1), np.argmax(expected, 1))
    np.testing.assert_array_equal(arrays.predict_proba(X, parallel=False), proba)
    with ThreadPoolExecutor(2) as pool:  # two dask-like threads at once: serial kernels
        parts = list(pool.map(arrays.predict_proba, np.array_split(X, 4)))
    np.testing.assert_array_equal(np.vstack(parts), proba)


def test_values_at_the_thresholds_split_as_in_sklearn(clear):
    """The kernel keeps float32 thresholds rounded down: every float32 just below, at and
    above a float64 threshold must go the same way as scikit-learn sends it."""
    forest = fit_forest(clear, n_estimators=5)
    arrays = ForestArrays.from_sklearn(forest)
    inner = arrays.children_left != -1
    rng = np.random.default_rng(0)
    X = np.tile(training_rows(clear)[0][:1], (3 * inner.sum(), 1))
    nodes = np.flatnonzero(inner)
    near = arrays.threshold[nodes].astype(np.float32)
    for k, values in enumerate((np.nextafter(near, np.float32(-np.inf)), near,
                                np.nextafter(near, np.float32(np.inf)))):
        rows = np.arange(len(nodes)) + k * len(nodes)
        X[rows, arrays.feature[nodes]] = values
    X = X[rng.permutation(len(X))]
    np.testing.assert_array_equal(arrays.predict_proba(X), forest.predict_proba(X))


def test_inputs_sklearn_refuses_are_refused(clear):
    forest = fit_forest(clear, n_estimators=3)
    arrays = ForestArrays.from_sklearn(forest)
    X = all_pixels(clear)[:10].copy()
    with pytest.raises(ValueError, match=r"expected X of shape \(n_pixels, 133\).*got \(10, 5\)"):
        arrays.predict_proba(X[:, :5])
    X[2, 7] = np.inf
    with pytest.raises(ValueError, match="1 infinite value"):
        arrays.predict_proba(X)
    with pytest.raises(ValueError):
        forest.predict_proba(X)
    X = X.astype(np.float64)
    X[2, 7] = 1e39  # finite in float64, beyond float32
    with pytest.raises(ValueError, match="beyond float32"):
        arrays.predict_proba(X)


def test_nan_support_is_sklearns_and_refused_without_it(clear):
    """scikit-learn >= 1.9 trees always take NaN; a forest of a version whose trees did
    not (allow_nan False) refuses NaN as that version did, instead of guessing a side."""
    forest = fit_forest(clear, n_estimators=3)
    arrays = ForestArrays.from_sklearn(forest)
    assert arrays.allow_nan == forest.__sklearn_tags__().input_tags.allow_nan
    strict = ForestArrays.from_arrays(arrays.arrays(), n_features=arrays.n_features,
                                      allow_nan=False)
    X = all_pixels(clear)[:10].copy()
    np.testing.assert_array_equal(strict.predict_proba(X), forest.predict_proba(X))
    X[0, 3] = np.nan
    with pytest.raises(ValueError, match="1 NaN value.*does not accept missing values"):
        strict.predict_proba(X)


def test_broken_trees_are_refused_before_any_walk(clear):
    arrays = ForestArrays.from_sklearn(fit_forest(clear, n_estimators=3))
    inner = int(np.flatnonzero(arrays.children_left != -1)[1])
    leaf = int(np.flatnonzero(arrays.children_left == -1)[0])

    def edited(name, node, value):
        data = {k: v.copy() for k, v in arrays.arrays().items()}
        data[name][node] = value
        return data

    cases = [(edited("children_left", inner, 0), "children_left must be a later node"),
             (edited("children_right", inner, 10 ** 6), "children_right must be a later node"),
             (edited("children_right", leaf, 3), "one child only"),
             (edited("feature", inner, 133), "feature must be one of the 133 features"),
             (edited("leaf_value", leaf, len(arrays.value)), "leaf_value must be a row"),
             (edited("offsets", 1, 0), "offsets must rise")]
    for data, message in cases:
        with pytest.raises(ValueError, match=message):
            ForestArrays.from_arrays(data, n_features=133, allow_nan=True)
    ForestArrays.from_arrays(arrays.arrays(), n_features=133, allow_nan=True)  # unedited


def test_only_fitted_single_output_random_forests(clear):
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.exceptions import NotFittedError

    with pytest.raises(TypeError, match="RandomForestClassifier, got ExtraTreesClassifier"):
        ForestArrays.from_sklearn(ExtraTreesClassifier())
    with pytest.raises(NotFittedError):
        ForestArrays.from_sklearn(RandomForestClassifier())
    X, y = training_rows(clear)
    two = RandomForestClassifier(3, random_state=0).fit(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="predicts 2 outputs"):
        ForestArrays.from_sklearn(two)
