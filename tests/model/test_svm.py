"""SVM classifiers: scikit-learn contract, calibration, aggregation, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from hrlc.model import (Calibrator, MulticlassSVM, MulticollinearityFilter, OneVsAllSVM,
                        PermutationImportanceSVC, ScreePCA, TrainingDataError,
                        expected_calibration_error, probabilities_from_scores, uncalibrated)
from hrlc.model.svm import cv_splits
from tests.model.conftest import SMALL_GRID, make_samples

_TINY = {"C": (1.0,), "gamma_factors": (1.0,), "n_folds": 2}
_EXPECTED = {
    "decision": {"check_classifiers_train": (
        "labels='decision' by design: the label is the SVM's vote, which calibration never "
        "changes, so argmax(predict_proba) differs from predict on 2 of 200 samples (as with "
        "libsvm's own probabilities); labels='probability' passes")},
    "probability": {"check_class_weight_classifiers": (
        "labels='probability' with class weights of 1000:1e-4 on 50 noisy samples: the "
        "isotonic calibrators, fitted on 25 out-of-fold samples, give a down-weighted class "
        "zero probability where it had no sample; labels='decision' passes")},
}


@parametrize_with_checks(
    [MulticollinearityFilter(relevance="anova"), ScreePCA(),
     PermutationImportanceSVC(n_repeats=1)]
    + [cls(labels=rule, **_TINY) for cls in (MulticlassSVM, OneVsAllSVM)
       for rule in ("decision", "probability")]
    + [MulticlassSVM(calibration=None, **_TINY)],
    # the uncalibrated SVM has no predict_proba: its vote is predict, nothing to differ
    expected_failed_checks=lambda est: {} if getattr(est, "calibration", "") is None else
    _EXPECTED.get(getattr(est, "labels", None), {}))
def test_scikit_learn_contract(estimator, check):
    check(estimator)


def test_class_weight_moves_labels():
    from sklearn.datasets import make_blobs

    X, y = make_blobs(centers=3, random_state=0, cluster_std=20)
    svm = MulticlassSVM(calibration=None, class_weight={0: 1000, 1: 1e-4, 2: 1e-4},
                        **_TINY).fit(X, y)
    assert np.mean(svm.predict(X) == 0) > 0.87


@pytest.mark.parametrize("labels", ["decision", "probability"])
def test_balanced_weights_calibrate_for_the_class_frequencies_only_with_decision_labels(
        labels):
    """With ``labels="decision"`` the weights move the SVM only: the probabilities then
    estimate the real class frequencies (their means on new rows match them), where a
    balanced calibration would pull every class towards 1/3."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=4000, n_features=6, n_informative=4, n_classes=3,
                               weights=[0.75, 0.18, 0.07], class_sep=0.6, flip_y=0.05,
                               random_state=3)
    groups = np.arange(len(y)) % 30
    train, new = slice(0, 1500), slice(1500, None)
    svm = MulticlassSVM(calibration="isotonic", class_weight="balanced", labels=labels,
                        **_TINY).fit(X[train], y[train], groups[train])
    mean_probability = svm.predict_proba(X[new]).mean(axis=0)
    frequency = np.bincount(y[new], minlength=3) / len(y[new])
    gap = np.abs(mean_probability - frequency).max()
    if labels == "decision":
        assert gap < 0.03
    else:  # weighted calibration: the rare class gets far more than its frequency
        assert mean_probability[2] > frequency[2] + 0.05


def _xy(table, names=None):
    names = names or [c for c in table.columns if c.startswith("f")]
    return table[names].to_numpy(np.float64), table["class"].to_numpy(), table["block"].to_numpy()


def test_multiclass_equals_calibrated_classifier_cv_and_probabilities_sum_to_one(samples):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    X, y, groups = _xy(samples)
    svm = MulticlassSVM(calibration="isotonic", **SMALL_GRID).fit(X, y, groups)
    assert svm.best_params_["class_weight"] is None and svm.class_weight_ is None
    # the calibrators are fitted on the search's own out-of-fold values, not on a second
    # round of fold fits: the same values up to the kernel's last bits (1e-13, see
    # test_kernel_search), which can reorder near-ties of the isotonic fit on a few rows
    reference = CalibratedClassifierCV(
        SVC(C=svm.best_params_["C"], gamma=svm.best_params_["gamma"]), method="isotonic",
        ensemble=False, cv=cv_splits(y, groups, n_folds=3)).fit(X, y)
    proba = svm.predict_proba(X)
    np.testing.assert_allclose(proba, reference.predict_proba(X), atol=1e-3)
    assert np.mean(np.abs(proba - reference.predict_proba(X))) < 1e-5
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert svm.n_support_vectors_ == svm.svc_.support_.size
    assert {r["C"] for r in svm.cv_results_} == {1.0, 10.0}


def test_calibration_improves_ece_on_a_noisy_problem():
    """40 % label noise makes raw SVM scores overconfident (softmax ECE ~0.12); calibration
    must lower the ECE on held-out blocks without costing macro-F1 (with either label
    rule)."""
    from sklearn.metrics import f1_score

    table = make_samples(1400, n_classes=3, n_informative=4, n_noise=2, seed=7, n_blocks=40)
    rng = np.random.default_rng(0)
    flip = rng.random(len(table)) < 0.4
    table.loc[flip, "class"] = rng.choice([1, 2, 3], flip.sum())
    train, test = table[table["split"] == "train"], table[table["split"] == "test"]
    X, y, groups = _xy(train)
    Xt, yt, _ = _xy(test)
    index = {c: i for i, c in enumerate([1, 2, 3])}
    yt_index = np.array([index[c] for c in yt])
    raw = OneVsAllSVM(calibration=None, aggregation="score_softmax", **SMALL_GRID).fit(X, y,
                                                                                  groups)
    calibrated = OneVsAllSVM(calibration="isotonic", **SMALL_GRID).fit(X, y, groups)
    multiclass = MulticlassSVM(calibration="sigmoid", **SMALL_GRID).fit(X, y, groups)
    ece_raw = expected_calibration_error(yt_index, raw.predict_proba(Xt))
    raw_f1 = f1_score(yt, raw.predict(Xt), average="macro")
    for model in (calibrated, multiclass):
        proba = model.predict_proba(Xt)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
        assert expected_calibration_error(yt_index, proba) < 0.6 * ece_raw
        assert f1_score(yt, model.predict(Xt), average="macro") >= raw_f1 - 0.03
        by_probability = model.classes_[np.argmax(proba, axis=1)]
        assert f1_score(yt, by_probability, average="macro") >= raw_f1 - 0.03


def test_label_rules(samples):
    X, y, groups = _xy(samples)
    vote = MulticlassSVM(**SMALL_GRID).fit(X, y, groups)
    np.testing.assert_array_equal(vote.predict(X), vote.svc_.predict(X))
    ova = OneVsAllSVM(**SMALL_GRID).fit(X, y, groups)
    np.testing.assert_array_equal(ova.predict(X),
                                  ova.classes_[np.argmax(ova.decision_scores(X), axis=1)])
    probable = OneVsAllSVM(labels="probability", **SMALL_GRID).fit(X, y, groups)
    np.testing.assert_array_equal(probable.predict(X),
                                  ova.classes_[np.argmax(probable.predict_proba(X), axis=1)])
    with pytest.raises(ValueError, match="labels must be one of"):
        MulticlassSVM(labels="vote", **SMALL_GRID).fit(X, y)


def test_ova_aggregation_matches_a_hand_computation():
    scores = np.array([[1.0, -0.5, 0.0], [-2.0, 0.5, 3.0]])
    calibrators = [Calibrator("sigmoid", a=-2.0, b=0.0), Calibrator("sigmoid", a=-1.0, b=1.0),
                   Calibrator("isotonic", x=np.array([-1.0, 1.0]), y=np.array([0.0, 0.8]))]
    # row 0: sigmoid(2 * 1) = 0.880797, sigmoid(-0.5 - 1) = 0.182426, interp(0) = 0.4
    p0 = np.array([1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(1.5)), 0.4])
    # row 1: sigmoid(-4) = 0.017986, sigmoid(0.5 - 1) = 0.377541, clipped at 0.8
    p1 = np.array([1 / (1 + np.exp(4.0)), 1 / (1 + np.exp(0.5)), 0.8])
    expected = np.array([p0 / p0.sum(), p1 / p1.sum()])
    got = probabilities_from_scores(scores, calibrators, aggregation="normalise")
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got[0], [0.601957, 0.124674, 0.273369], atol=1e-6)
    # the reference chain's softmax: of the calibrated outputs p0, p1 (not of the scores)
    soft = probabilities_from_scores(scores, calibrators, aggregation="softmax")
    # row 0: exp(0.880797), exp(0.182426), exp(0.4) = 2.412822, 1.200125, 1.491825
    np.testing.assert_allclose(soft[0], np.array([2.412822, 1.200125, 1.491825]) / 5.104772,
                               atol=1e-6)
    np.testing.assert_allclose(soft, np.exp([p0, p1]) / np.exp([p0, p1]).sum(1)[:, None],
                               rtol=1e-12)
    cool = probabilities_from_scores(scores, calibrators, aggregation="softmax", temperature=0.5)
    np.testing.assert_allclose(cool[1], np.exp(2 * p1) / np.exp(2 * p1).sum(), rtol=1e-12)
    # the former "softmax": of the raw decision values / temperature, calibrators unused
    raw = probabilities_from_scores(scores, None, aggregation="score_softmax", temperature=2)
    e = np.exp(np.array([0.5, -0.25, 0.0]))
    np.testing.assert_allclose(raw[0], e / e.sum(), rtol=1e-12)
    with pytest.raises(ValueError, match="needs calibrated.*'score_softmax'"):
        probabilities_from_scores(scores, None, aggregation="softmax")
    with pytest.raises(ValueError, match="aggregation must be one of"):
        probabilities_from_scores(scores, calibrators, aggregation="sum")
    # all calibrated probabilities zero -> uniform, as scikit-learn
    zero = [Calibrator("isotonic", x=np.array([0.0, 1.0]), y=np.zeros(2))] * 3
    np.testing.assert_allclose(probabilities_from_scores(scores, zero), 1 / 3)


def test_ova_model_probabilities_follow_its_binary_svms(samples):
    X, y, groups = _xy(samples)
    model = OneVsAllSVM(calibration="sigmoid", **SMALL_GRID).fit(X, y, groups)
    scores = model.decision_scores(X[:5])
    by_hand = np.column_stack([c.predict(scores[:, k]) for k, c in enumerate(model.calibrators_)])
    np.testing.assert_allclose(model.predict_proba(X[:5]),
                               by_hand / by_hand.sum(axis=1, keepdims=True), rtol=1e-12)
    # aggregation changes the probabilities only: the same binary SVMs and calibrators
    soft = OneVsAllSVM(calibration="sigmoid", aggregation="softmax", **SMALL_GRID).fit(
        X, y, groups)
    np.testing.assert_array_equal(soft.decision_scores(X[:5]), scores)
    np.testing.assert_allclose(soft.predict_proba(X[:5]),
                               np.exp(by_hand) / np.exp(by_hand).sum(axis=1, keepdims=True),
                               rtol=1e-12)
    assert len(model.svcs_) == 3 and len(model.best_params_) == 3
    assert model.n_unique_support_vectors_ <= model.n_support_vectors_


def test_uncalibrated_multiclass_is_the_calibrated_svm_without_calibration(samples):
    """The uncalibrated variant derived from a calibrated fit equals one fitted alone
    (CalibratedClassifierCV(ensemble=False) fits the SVM on all samples the same way)."""
    from sklearn.utils.class_weight import compute_sample_weight

    X, y, groups = _xy(samples)
    weights = {1: 1.0, 2: 3.0, 3: 0.5}
    calibrated = MulticlassSVM(class_weight=weights, labels="probability",
                               **SMALL_GRID).fit(X, y, groups)
    alone = MulticlassSVM(calibration=None, class_weight=weights, **SMALL_GRID).fit(X, y, groups)
    derived = uncalibrated(calibrated)
    assert derived.get_params()["calibration"] is None and derived.labels == "decision"
    assert derived.best_params_ == alone.best_params_ and derived.calibrators_ is None
    np.testing.assert_array_equal(derived.decision_scores(X), alone.decision_scores(X))
    np.testing.assert_array_equal(derived.predict(X), alone.predict(X))
    # its labels are libsvm's vote (SVC with the same weights), never argmax of anything
    from sklearn.svm import SVC

    assert alone.best_params_["class_weight"] == weights
    svc = SVC(**alone.best_params_).fit(X, y)
    np.testing.assert_array_equal(alone.predict(X), svc.predict(X))
    svc = SVC(C=alone.best_params_["C"], gamma=alone.best_params_["gamma"]).fit(
        X, y, sample_weight=compute_sample_weight(weights, y))
    np.testing.assert_array_equal(alone.predict(X), svc.predict(X))
    assert not hasattr(derived, "predict_proba") and not hasattr(alone, "predict_proba")
    assert calibrated.calibrators_ is not None  # the source model is left as it was
    with pytest.raises(ValueError, match="labels='probability' needs calibrated"):
        MulticlassSVM(calibration=None, labels="probability", **SMALL_GRID).fit(X, y)


def test_calibrator_matches_scikit_learn():
    from sklearn.calibration import _SigmoidCalibration
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(0)
    f = rng.standard_normal(300)
    hit = (rng.random(300) < 1 / (1 + np.exp(-2 * f))).astype(float)
    grid = np.linspace(-4, 4, 101)
    iso = IsotonicRegression(out_of_bounds="clip").fit(f, hit)
    np.testing.assert_allclose(Calibrator.from_sklearn(iso).predict(grid), iso.predict(grid),
                               atol=1e-12)
    sig = _SigmoidCalibration().fit(f, hit)
    np.testing.assert_allclose(Calibrator.from_sklearn(sig).predict(grid), sig.predict(grid),
                               rtol=1e-12)


def test_one_class_only_is_rejected(samples):
    X, _, _ = _xy(samples)
    with pytest.raises(TrainingDataError, match=r"only one class \(1\)"):
        MulticlassSVM(**_TINY).fit(X, np.ones(len(X), int))


def test_class_with_fewer_samples_than_folds_is_named(samples):
    X, y, groups = _xy(samples)
    y = y.copy()
    y[:2] = 9
    with pytest.raises(TrainingDataError, match="class 9 has 2 sample.*3 cross-validation folds"):
        MulticlassSVM(**SMALL_GRID).fit(X, y, groups)


def test_class_confined_to_one_block_is_named(samples):
    X, y, groups = _xy(samples)
    y = y.copy()
    y[groups == groups[0]] = 7
    with pytest.raises(TrainingDataError, match=r"class 7 lies in 1 group of spatial blocks .*"
                                                r"too few for the 3 cross-validation folds"):
        OneVsAllSVM(**SMALL_GRID).fit(X, y, groups)


def test_too_few_blocks_and_bad_options_are_rejected(samples):
    X, y, _ = _xy(samples)
    with pytest.raises(TrainingDataError, match="2 spatial block"):
        MulticlassSVM(**SMALL_GRID).fit(X, y, np.arange(len(y)) % 2)
    for aggregation in ("normalise", "softmax"):
        with pytest.raises(ValueError, match="needs calibrated"):
            OneVsAllSVM(calibration=None, aggregation=aggregation, **SMALL_GRID).fit(X, y)
    with pytest.raises(ValueError, match="calibration must be"):
        MulticlassSVM(calibration="platt", **SMALL_GRID).fit(X, y)
