"""train_model's search record, class weights and calibration chosen by the folds, and a
temperature-scaled bundle through saving, loading and the map predictor."""

from __future__ import annotations

import numpy as np
import pytest

from hrlc.config.train import TrainConfig
from hrlc.model import load_bundle, train_model
from tests.model.conftest import SMALL_GRID


@pytest.fixture(scope="module")
def auto(samples):
    return train_model(samples, compare=["ova"], selection="none", **SMALL_GRID)


def test_search_record_states_what_was_chosen_and_how(auto):
    info = auto.variants["svm_multiclass"]
    assert info["selection_metric"].startswith("macro-F1 of the out-of-fold predictions")
    rows = info["cv_results"]
    # every C x class weighting candidate, each with one score per fold
    assert {(r["C"], r["class_weight"]) for r in rows} == {
        (c, w) for c in SMALL_GRID["C"] for w in ("none", "balanced")}
    assert all(len(r["folds"]) == 3 for r in rows)
    last = max(r["round"] for r in rows)
    best = max((r for r in rows if r["round"] == last), key=lambda r: r["score"])
    assert info["best_params"]["C"] == best["C"]
    assert info["best_params"]["class_weight"] == (None if best["class_weight"] == "none"
                                                   else "balanced")
    choice = info["calibration_choice"]
    losses = choice["log_loss"]
    assert set(losses) == set(choice["ece"]) == {"isotonic", "sigmoid", "temperature"}
    assert info["calibration"] == choice["method"] == min(losses, key=losses.get)
    ova = auto.variants["svm_ova"]
    assert set(ova["calibration_choice"]["log_loss"]) == {"isotonic", "sigmoid"}
    assert ova["selection_metric"] == "roc_auc, mean over the 3 folds"


def test_temperature_bundle_maps_what_it_predicts(samples, tmp_path):
    from hrlc.mapping.predictor import BundlePredictor

    result = train_model(samples, calibration="temperature", compare=[], selection="none",
                         class_weight="none", **SMALL_GRID)
    bundle = result.bundle
    info = result.variants["svm_multiclass"]
    assert info["calibration"] == "temperature" and "calibration_choice" not in info
    beta = bundle.calibrators[0].a
    scores = bundle.decision_scores(samples)
    expected = np.exp(beta * scores)
    expected /= expected.sum(axis=1, keepdims=True)  # softmax(f / T), T = 1 / beta
    np.testing.assert_allclose(bundle.predict_proba(samples), expected, rtol=1e-10)
    loaded = load_bundle(bundle.save(tmp_path / "model.npz"))
    np.testing.assert_allclose(loaded.predict_proba(samples), expected, rtol=1e-10)
    features = samples[bundle.input_features].to_numpy(np.float64)
    mapped = BundlePredictor(loaded, dtype=np.float64).predict(features)
    np.testing.assert_allclose(mapped.probabilities, expected, rtol=1e-9)


def test_config_defaults_and_temperature_rules():
    config = TrainConfig()
    assert config.calibration == "auto" and config.class_weight == "auto"
    assert min(config.C) == 0.1 and max(config.C) == 1000
    assert max(config.gamma_factors) / min(config.gamma_factors) >= 100
    assert TrainConfig(class_weight=None).class_weight is None
    with pytest.raises(ValueError, match="does not store yet"):
        TrainConfig(classifier="ova", calibration="temperature")
    with pytest.raises(ValueError, match="set aggregation: score_softmax"):
        TrainConfig(compare=["ova"], calibration="temperature")
    with pytest.raises(ValueError, match="class_weight"):
        TrainConfig(class_weight="unbalanced")
    with pytest.raises(ValueError, match="halving_factor"):
        TrainConfig(halving_factor=0)


def test_ova_temperature_is_its_score_softmax_with_a_fitted_temperature(samples):
    from sklearn.calibration import _TemperatureScaling

    from hrlc.model import OneVsAllSVM, softmax
    from hrlc.model.svm import cv_splits

    names = [c for c in samples.columns if c.startswith("f")]
    X, y = samples[names].to_numpy(np.float64), samples["class"].to_numpy()
    groups = samples["block"].to_numpy()
    model = OneVsAllSVM(calibration="temperature", aggregation="score_softmax",
                        **SMALL_GRID).fit(X, y, groups)
    np.testing.assert_allclose(model.predict_proba(X[:20]), softmax(
        model.decision_scores(X[:20]), temperature=model.temperature_), rtol=1e-12)
    # the temperature is scikit-learn's on out-of-fold binary decision values
    splits = cv_splits(y, groups, n_folds=3)
    oof = np.zeros((len(y), 3))
    from sklearn.svm import SVC

    for k, params in enumerate(model.best_params_):
        for train, test in splits:
            svc = SVC(**params).fit(X[train], (y[train] == model.classes_[k]).astype(int))
            oof[test, k] = svc.decision_function(X[test])
    beta = _TemperatureScaling().fit(oof, np.searchsorted(model.classes_, y)).beta_
    assert model.temperature_ == pytest.approx(1 / beta, rel=1e-5)
    with pytest.raises(ValueError, match="set that aggregation"):
        OneVsAllSVM(calibration="temperature", **SMALL_GRID).fit(X, y, groups)
