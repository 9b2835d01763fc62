"""Feature selection on data with known structure."""

from __future__ import annotations

import numpy as np
import pytest

from hrlc.model import MulticollinearityFilter, correlation_matrix, make_rfecv, variance_inflation
from hrlc.model.selection import selection_summary
from hrlc.model.svm import cv_splits
from tests.model.conftest import make_samples


def _matrix(table):
    names = [c for c in table.columns if c.startswith(("f", "dup_", "near_"))]
    return table[names].to_numpy(np.float64), table["class"].to_numpy(), names


@pytest.mark.parametrize("relevance", ["mutual_info", "anova"])
def test_duplicated_and_near_duplicated_features_are_removed(samples, relevance):
    X, y, names = _matrix(samples)
    selector = MulticollinearityFilter(0.9, relevance=relevance).fit(X, y)
    kept = [n for n, k in zip(names, selector.get_support()) if k]
    assert ("f0" in kept) != ("dup_f0" in kept)          # exactly one of the copies
    assert ("f1" in kept) != ("near_f1" in kept)
    assert len(kept) == len(names) - 2
    assert np.abs(correlation_matrix(X[:, selector.get_support()])
                  - np.eye(len(kept))).max() <= 0.9
    summary = selection_summary(selector, names)
    assert len(summary["dropped"]) == 2 and all("|r| = 1.00" in r or "|r| = 0.99" in r
                                                for r in summary["reasons"].values())


def test_the_more_relevant_of_a_correlated_pair_is_kept():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    signal = y + 0.3 * rng.standard_normal(500)
    weak = 0.3 * signal + rng.standard_normal(500)       # correlates with nothing above 0.9
    blurred = signal + 0.15 * rng.standard_normal(500)   # |r| ~ 0.95 with signal, less relevant
    X = np.column_stack([blurred, weak, signal])
    selector = MulticollinearityFilter(0.9, relevance="anova").fit(X, y)
    assert selector.get_support().tolist() == [False, True, True]
    assert selector.dropped_[0][:2] == (0, 2)


def test_rule_is_deterministic_and_drops_constant_features():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((200, 4))
    X[:, 3] = 5.0
    y = (X[:, 0] > 0).astype(int)
    first = MulticollinearityFilter(0.5).fit(X, y)
    second = MulticollinearityFilter(0.5).fit(X.copy(), y.copy())
    assert first.get_support().tolist() == second.get_support().tolist() == [True, True, True,
                                                                            False]
    assert first.dropped_ == [(3, -1, pytest.approx(float("nan"), nan_ok=True))]


def test_vif_of_exact_collinearity_is_huge_and_of_independent_features_near_one():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 1000))
    corr = correlation_matrix(np.column_stack([a, b, a + b, rng.standard_normal(1000)]))
    vif = variance_inflation(corr)
    assert vif[:3].min() > 1e6 and vif[3] == pytest.approx(1.0, abs=0.02)


def test_threshold_is_validated(samples):
    X, y, _ = _matrix(samples)
    with pytest.raises(ValueError, match="threshold must be in"):
        MulticollinearityFilter(1.5).fit(X, y)


def test_rfecv_drops_noise_features_with_block_cv():
    table = make_samples(400, n_informative=4, n_noise=6, seed=4)
    names = [f"f{j}" for j in range(10)]
    X, y = table[names].to_numpy(np.float64), table["class"].to_numpy()
    splits = cv_splits(y, table["block"].to_numpy(), n_folds=3)
    rfecv = make_rfecv(step=1, min_features=2, cv=splits).fit(X, y)
    kept = set(np.flatnonzero(rfecv.get_support()))
    assert {0, 1, 2, 3} <= kept and len(kept) <= 7
    summary = selection_summary(rfecv, names)
    assert summary["method"] == "rfecv" and len(summary["mean_f1_macro_curve"]) == 9


def test_rfecv_with_permutation_importances_keeps_the_informative_features():
    table = make_samples(240, n_informative=3, n_noise=3, seed=5)
    names = [f"f{j}" for j in range(6)]
    X, y = table[names].to_numpy(np.float64), table["class"].to_numpy()
    rfecv = make_rfecv(importance="permutation", step=1, min_features=3, cv=3).fit(X, y)
    ranking = rfecv.ranking_
    assert set(np.argsort(ranking, kind="stable")[:3]) == {0, 1, 2}
