"""The shared-kernel search against scikit-learn's GridSearchCV, cross_val_predict and SVC."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
from sklearn.svm import SVC

from hrlc.model.kernel_search import halving_schedule, kernel_search, rbf_kernel_inplace


def _rings(n=450, *, seed=0, noise_features=3):
    """Three concentric rings (radius 1, 2, 3) with noise features: a grid with a clear
    winner (gamma far too small cannot bend round a ring, far too large memorises)."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], n // 3)
    angle = rng.uniform(0, 2 * np.pi, len(y))
    radius = y + 1 + 0.25 * rng.standard_normal(len(y))
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle),
                         0.3 * rng.standard_normal((len(y), noise_features))])
    return X, y


def _splits(y, seed=0):
    return list(StratifiedKFold(3, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


GRID = {"Cs": [0.001, 1.0], "gammas": [0.002, 0.5, 500.0]}


def test_kernel_equals_scikit_learn():
    from sklearn.metrics.pairwise import rbf_kernel

    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((40, 6)), rng.standard_normal((25, 6))
    np.testing.assert_allclose(rbf_kernel_inplace(A, B, 0.3), rbf_kernel(A, B, gamma=0.3),
                               rtol=1e-12, atol=1e-15)
    K = rbf_kernel_inplace(A, A, 0.3)
    assert np.all(K <= 1.0)  # rounding never makes a distance negative: clipped at 0
    np.testing.assert_allclose(np.diag(K), 1.0, atol=1e-12)


def test_halving_schedule_by_hand():
    # 50 candidates, factor 3: 50 -> 17 -> 6 -> 2; a fourth halving would leave fewer than
    # 400 rows (13,333 / 81 = 165)
    assert halving_schedule(13_333, 50, factor=3, min_final=1, min_rows=400) == [
        494, 1482, 4445, 13_333]
    # 9 candidates: 9 -> 3 -> 1 (9 / 9 = 1 is not more than min_final)
    assert halving_schedule(4000, 9, factor=3, min_final=1, min_rows=400) == [445, 1334, 4000]
    assert halving_schedule(300, 9, factor=3, min_final=1, min_rows=400) == [300]
    assert halving_schedule(4000, 9, factor=3, min_final=3, min_rows=400) == [1334, 4000]


@pytest.mark.parametrize("halving_factor", [1, 3])
def test_choice_equals_grid_search_cv_on_a_clear_winner(halving_factor):
    X, y = _rings()
    splits = _splits(y)
    reference = GridSearchCV(SVC(), {"C": GRID["Cs"], "gamma": GRID["gammas"]},
                             scoring="f1_macro", cv=splits, refit=False).fit(X, y)
    found = kernel_search(X, y, splits, weightings={"none": None}, n_jobs=2,
                          halving_factor=halving_factor, min_rows=60, **GRID)
    assert {"C": found.best.C, "gamma": found.best.gamma} == reference.best_params_
    assert reference.best_params_ == {"C": 1.0, "gamma": 0.5}
    assert len(found.rounds) == (1 if halving_factor == 1 else 2)
    if halving_factor == 1:  # every fold score is GridSearchCV's (same fits, same scorer)
        for row in found.table:
            k = reference.cv_results_["params"].index({"C": row["C"], "gamma": row["gamma"]})
            folds = [reference.cv_results_[f"split{i}_test_score"][k] for i in range(3)]
            np.testing.assert_allclose(row["folds"], folds, atol=1e-12)
    assert "out-of-fold predictions" in found.selection_metric


def test_out_of_fold_values_and_final_model_equal_scikit_learn():
    X, y = _rings(seed=3)
    splits = _splits(y, seed=3)
    weight = np.where(y == 2, 3.0, 1.0)
    found = kernel_search(X, y, splits, weightings={"given": weight}, n_jobs=2, **GRID)
    best = found.best
    reference = cross_val_predict(SVC(C=best.C, gamma=best.gamma), X, y, cv=splits,
                                  method="decision_function", params={"sample_weight": weight})
    np.testing.assert_allclose(found.oof_decision, reference, rtol=1e-6, atol=1e-9)
    plain = SVC(kernel="rbf", C=best.C, gamma=best.gamma).fit(X, y, sample_weight=weight)
    svc = found.svc
    assert svc.kernel == "rbf" and svc._gamma == best.gamma
    np.testing.assert_array_equal(svc.support_, plain.support_)
    probe = np.random.default_rng(0).standard_normal((200, X.shape[1])) * 2
    scores = plain.decision_function(probe)
    np.testing.assert_allclose(svc.decision_function(probe), scores,
                               atol=1e-6 * np.abs(scores).max())
    np.testing.assert_array_equal(svc.predict(probe), plain.predict(probe))


@pytest.mark.parametrize("memory_mb", [
    2.0,  # room for a fold's kernels (1.03 MB) but not also for all rows' (1.55 MB)
    1e-3,  # no room for any kernel: libsvm computes its own
])
def test_with_less_memory_the_same_search(memory_mb):
    X, y = _rings(seed=5)
    splits = _splits(y, seed=5)
    shared = kernel_search(X, y, splits, weightings={"none": None}, n_jobs=1,
                           halving_factor=1, **GRID)
    own = kernel_search(X, y, splits, weightings={"none": None}, n_jobs=2, halving_factor=1,
                        kernel_memory_mb=memory_mb, **GRID)
    assert own.best == shared.best
    np.testing.assert_allclose(own.oof_decision, shared.oof_decision, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(own.svc.decision_function(X), shared.svc.decision_function(X),
                               atol=1e-9)


def test_balanced_weights_win_where_they_raise_macro_f1():
    """A rare class overlapping a frequent one: balanced weights recover it. The choice is
    the weighting whose pooled out-of-fold macro-F1 the test computes with scikit-learn."""
    from sklearn.metrics import f1_score
    from sklearn.utils.class_weight import compute_sample_weight

    rng = np.random.default_rng(2)
    y = np.r_[np.zeros(400, int), np.ones(40, int), np.full(400, 2)]
    X = np.column_stack([np.r_[rng.normal(0, 1, 400), rng.normal(1.2, 1, 40),
                               rng.normal(6, 1, 400)], rng.normal(0, 1, len(y))])
    splits = _splits(y, seed=2)
    weights = {"none": None, "balanced": compute_sample_weight("balanced", y)}
    found = kernel_search(X, y, splits, Cs=[1.0], gammas=[0.5], weightings=weights, n_jobs=2,
                          halving_factor=1)
    by_hand = {}
    for name, weight in weights.items():
        pred = cross_val_predict(SVC(C=1.0, gamma=0.5), X, y, cv=splits,
                                 params={} if weight is None else {"sample_weight": weight})
        by_hand[name] = f1_score(y, pred, average="macro")
    assert found.best.weighting == max(by_hand, key=by_hand.get) == "balanced"
    assert by_hand["balanced"] > by_hand["none"] + 0.03
    scores = {row["class_weight"]: row["score"] for row in found.table}
    np.testing.assert_allclose([scores["none"], scores["balanced"]],
                               [by_hand["none"], by_hand["balanced"]], atol=1e-12)


def test_no_candidate_scoring_is_an_error():
    from hrlc.model import TrainingDataError

    X, y = _rings(n=90)
    target = (y == 0).astype(int)
    # every test part without positives: ROC AUC undefined in every fold
    splits = [(np.flatnonzero(target == 1)[:20].tolist() + np.flatnonzero(target == 0)[:30]
               .tolist(), np.flatnonzero(target == 0)[30:].tolist())]
    splits = [(np.array(a), np.array(b)) for a, b in splits]
    with pytest.raises(TrainingDataError, match="no grid point scored"):
        kernel_search(X, target, splits, Cs=[1.0], gammas=[0.5], weightings={"none": None},
                      scoring="roc_auc", pooled=False, halving_factor=1)
