"""The selection step of training (FeatureSelector): the same choice as the selectors it
wraps, grouped RFECV folds, choosing on scaled features, the scikit-learn contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from hrlc.model import MulticollinearityFilter, make_rfecv
from hrlc.model.selection import FeatureSelector, selection_summary
from hrlc.model.svm import cv_splits
from tests.model.conftest import make_samples


def _data(seed=4):
    table = make_samples(300, n_informative=4, n_noise=4, seed=seed)
    names = [c for c in table.columns if c.startswith(("f", "dup_", "near_"))]
    return (table[names].to_numpy(np.float64), table["class"].to_numpy(),
            table["block"].to_numpy(), names)


@parametrize_with_checks([FeatureSelector("none"), FeatureSelector(),
                          FeatureSelector(scaler=StandardScaler()),
                          FeatureSelector("rfecv", n_folds=2, min_features=1)])
def test_scikit_learn_contract(estimator, check):
    check(estimator)


def test_none_keeps_every_feature_and_has_no_summary():
    X, y, _, names = _data()
    selector = FeatureSelector("none").fit(X, y)
    assert selector.get_support().all() and selector.summary(names) is None
    np.testing.assert_array_equal(selector.transform(X), X)


def test_multicollinearity_is_the_filter_s_choice():
    X, y, _, names = _data()
    selector = FeatureSelector(threshold=0.8, relevance="anova").fit(X, y)
    reference = MulticollinearityFilter(0.8, relevance="anova").fit(X, y)
    np.testing.assert_array_equal(selector.get_support(), reference.get_support())
    assert selector.summary(names) == selection_summary(reference, names)
    assert not selector.get_support().all()  # dup_f0 and near_f1 go


def test_rfecv_folds_are_grouped_by_the_groups_given_to_fit():
    X, y, blocks, names = _data()
    selector = FeatureSelector("rfecv", step=1, min_features=2, n_folds=3).fit(X, y, blocks)
    splits = cv_splits(y, blocks, n_folds=3, random_state=0)
    reference = make_rfecv(step=1, min_features=2, cv=splits).fit(X, y)
    np.testing.assert_array_equal(selector.get_support(), reference.get_support())
    curve = selector.summary(names)["mean_f1_macro_curve"]
    assert curve == [float(s) for s in reference.cv_results_["mean_test_score"]]
    # min_features above the number of features keeps them all, without a warning
    assert FeatureSelector("rfecv", min_features=50).fit(X[:, :3], y, blocks).get_support().all()


def test_a_scaler_chooses_on_scaled_features_and_passes_them_unscaled():
    X, y, _, _ = _data()
    X = X * np.linspace(1.0, 1000.0, X.shape[1])  # scales that matter to RFECV
    scaled = StandardScaler().fit_transform(X)
    for method in ("multicollinearity", "rfecv"):
        inner = FeatureSelector(method, min_features=2, step=1).fit(X, y)
        outer = FeatureSelector(method, min_features=2, step=1).fit(scaled, y)
        chooser = FeatureSelector(method, min_features=2, step=1,
                                  scaler=StandardScaler()).fit(X, y)
        np.testing.assert_array_equal(chooser.get_support(), outer.get_support())
        np.testing.assert_array_equal(chooser.transform(X), X[:, chooser.get_support()])
        np.testing.assert_array_equal(chooser.scaler_.mean_, X.mean(axis=0))
    assert not np.array_equal(inner.get_support(), outer.get_support())


def test_an_unknown_method_is_refused():
    X, y, _, _ = _data()
    with pytest.raises(ValueError, match="unknown selection 'lasso'; use one of none, "):
        FeatureSelector("lasso").fit(X, y)
