"""Calibrators on out-of-fold decision values and the method chosen by the folds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import _SigmoidCalibration, _TemperatureScaling
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from hrlc.model import probabilities_from_scores
from hrlc.model.calibration_choice import (choose_calibration, fit_calibrators,
                                           ovr_score_range)


def _splits(y, seed=0):
    return list(StratifiedKFold(3, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def _out_of_fold(method, f, hit, splits):
    """Pooled out-of-fold probabilities of a binary calibrator, fitted by scikit-learn."""
    p = np.zeros(len(f))
    for train, test in splits:
        model = (IsotonicRegression(out_of_bounds="clip") if method == "isotonic"
                 else _SigmoidCalibration()).fit(f[train], hit[train])
        p[test] = model.predict(f[test])
    return p


def _independent_log_loss(method, f, hit, splits):
    """Pooled out-of-fold log loss of a binary calibrator, computed with scikit-learn."""
    p = _out_of_fold(method, f, hit, splits)
    return log_loss(hit, np.column_stack([1 - p, p]), labels=[0, 1])


def _problem(truth, n, seed=4):
    """Scores f, outcomes drawn with probability truth(f), and 3 stratified folds."""
    rng = np.random.default_rng(seed)
    f = rng.normal(0, 2, n)
    hit = (rng.random(n) < truth(f)).astype(int)
    return f, hit, _splits(hit)


#: Few rows whose true probability is a sigmoid of the score (Platt wins); a step the
#: sigmoid cannot follow, on many rows (isotonic wins).
SIGMOID_TRUTH = (lambda f: 1 / (1 + np.exp(-1.5 * f)), 60)
STEP_TRUTH = (lambda f: np.where(f < 0, 0.15, np.where(f < 1.5, 0.5, 0.97)), 3000)


@pytest.mark.parametrize("truth, n, winner", [(*SIGMOID_TRUTH, "sigmoid"),
                                                (*STEP_TRUTH, "isotonic")])
def test_chooser_picks_the_lowest_out_of_fold_log_loss(truth, n, winner):
    f, hit, splits = _problem(truth, n)
    by_hand = {m: _independent_log_loss(m, f, hit, splits) for m in ("isotonic", "sigmoid")}
    method, table = choose_calibration(f, hit, splits, methods=("isotonic", "sigmoid"),
                                       n_classes=2, criterion="log_loss")
    assert method == min(by_hand, key=by_hand.get) == winner
    for m, loss in by_hand.items():
        assert table[m]["log_loss"] == pytest.approx(loss, rel=1e-9)
        assert 0 <= table[m]["ece"] <= 1


def _independent_ece(method, f, hit, splits, n_bins=10):
    """Pooled out-of-fold top-label ECE of a binary calibrator, binned by hand."""
    p = _out_of_fold(method, f, hit, splits)
    confidence = np.maximum(p, 1 - p)
    correct = (p > 0.5) == (hit == 1)  # top label 1 when p1 > p0 (argmax: ties go to 0)
    edges = np.linspace(0, 1, n_bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        members = (confidence > low) & (confidence <= high) if low > 0 else confidence <= high
        if members.any():
            total += members.sum() * abs(correct[members].mean() - confidence[members].mean())
    return total / len(f)


@pytest.mark.parametrize("truth, n", [SIGMOID_TRUTH, STEP_TRUTH])
def test_default_criterion_is_the_out_of_fold_ece(truth, n):
    f, hit, splits = _problem(truth, n)
    by_hand = {m: _independent_ece(m, f, hit, splits) for m in ("isotonic", "sigmoid")}
    method, table = choose_calibration(f, hit, splits, methods=("isotonic", "sigmoid"),
                                       n_classes=2)
    assert method == min(by_hand, key=by_hand.get)
    for m, ece in by_hand.items():
        assert table[m]["ece"] == pytest.approx(ece, abs=1e-12)


def test_ece_criterion_prefers_calibration_over_a_few_zero_probabilities():
    """Isotonic regression gives probability 0 beyond its last step: one such row makes
    its log loss the worst although its probabilities are the better calibrated."""
    f, hit, splits = _problem(  # a step the sigmoid misfits
        lambda f: np.where(f < -1, 0.02, np.where(f < 1, 0.5, 0.98)), 300, seed=1)
    _, table = choose_calibration(f, hit, splits, methods=("isotonic", "sigmoid"),
                                  n_classes=2)
    by_ece, _ = choose_calibration(f, hit, splits, methods=("isotonic", "sigmoid"),
                                   n_classes=2, criterion="ece")
    by_loss, _ = choose_calibration(f, hit, splits, methods=("isotonic", "sigmoid"),
                                    n_classes=2, criterion="log_loss")
    assert by_ece == min(table, key=lambda m: table[m]["ece"]) == "isotonic"
    assert by_loss == min(table, key=lambda m: table[m]["log_loss"]) == "sigmoid"
    with pytest.raises(ValueError, match="criterion must be one of"):
        choose_calibration(f, hit, splits, methods=("isotonic",), n_classes=2,
                           criterion="brier")


def test_temperature_wins_when_the_truth_is_a_softmax_and_equals_scikit_learn():
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 1.5, (1500, 3))
    p = np.exp(scores / 0.6)
    p /= p.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])
    low, high = scores.min() - 1, scores.max() + 1
    method, table = choose_calibration(scores, y, _splits(y), methods=(
        "isotonic", "sigmoid", "temperature"), n_classes=3, score_range=(low, high),
        criterion="log_loss")
    assert method == "temperature"
    assert table["temperature"]["log_loss"] < min(table["isotonic"]["log_loss"],
                                                  table["sigmoid"]["log_loss"])
    calibrators = fit_calibrators("temperature", scores, y, score_range=(low, high))
    reference = _TemperatureScaling().fit(scores, y)
    assert 1 / calibrators[0].a == pytest.approx(0.6, rel=0.1)  # T recovered
    assert calibrators[0].a == pytest.approx(reference.beta_, rel=1e-6)  # scikit-learn's 1 / T
    np.testing.assert_allclose(probabilities_from_scores(scores, calibrators),
                               reference.predict(scores), rtol=1e-9)


def test_two_class_temperature_is_scikit_learns_binary_rule():
    rng = np.random.default_rng(1)
    f = rng.normal(0, 2, 400)
    y = (rng.random(400) < 1 / (1 + np.exp(-f))).astype(int)
    (calibrator,) = fit_calibrators("temperature", f, y)
    reference = _TemperatureScaling().fit(f, y)
    np.testing.assert_allclose(probabilities_from_scores(f, [calibrator]),
                               reference.predict(f), rtol=1e-9)


def test_temperature_never_overflows_on_the_ovr_range():
    low, high = ovr_score_range(8)
    assert (low, high) == (-1 / 3, 7 + 1 / 3)
    scores = np.array([[high, low, 0.0, 3.0, 2.0, 1.0, 5.0, 6.0]])
    y = np.arange(8)
    hard = np.tile(np.eye(8) * 50.0, (20, 1))  # perfectly separable: beta wants to grow
    (calibrator, *_) = fit_calibrators("temperature", hard, np.tile(y, 20),
                                       score_range=(low, high))
    proba = probabilities_from_scores(scores, [calibrator] * 8)
    assert np.isfinite(proba).all() and proba.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="needs their score_range"):
        fit_calibrators("temperature", hard, np.tile(y, 20))
    with pytest.raises(ValueError, match="must be one of"):
        fit_calibrators("platt", hard, np.tile(y, 20))


def test_calibrators_are_fitted_with_blas_on_one_thread(native_threads):
    # their optimisers make many small BLAS calls, between which a multithreaded OpenBLAS
    # spins its threads: several times the CPU for the same numbers
    import threading

    from hrlc.threads import take_blas_control

    # another thread (a dask thread of a map predicted in this process) controls the BLAS
    # limits: threadpoolctl would ignore this thread's limits unless it takes control
    other = threading.Thread(target=take_blas_control)
    other.start()
    other.join()
    sigmoid = native_threads(_SigmoidCalibration, "blas")
    temperature = native_threads(_TemperatureScaling, "blas")
    rng = np.random.default_rng(0)
    scores, y = rng.normal(size=(300, 3)), rng.integers(0, 3, 300)
    limited = fit_calibrators("sigmoid", scores, y)
    fit_calibrators("temperature", scores, y, score_range=(-4.0, 4.0))
    assert sigmoid == [{1}] * 3 and temperature == [{1}]
    # the same calibrators as scikit-learn's, fitted with every thread
    for k, calibrator in enumerate(limited):
        model = _SigmoidCalibration().fit(scores[:, k], (y == k).astype(float))
        assert (calibrator.a, calibrator.b) == pytest.approx((model.a_, model.b_), rel=1e-12)
