"""Training as a scikit-learn Pipeline: the pipeline composed from a TrainConfig predicts what
train_model's bundle predicts, fits its scaler once, clones, and lists the config."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, QuantileTransformer, StandardScaler

from hrlc.config.train import TrainConfig
from hrlc.errors import ConfigError
from hrlc.model import train_model
from hrlc.model.pipeline import STEPS, build_pipeline, fit_params
from hrlc.model.samples import feature_columns, sample_groups
from tests.model.conftest import SMALL_GRID

CONFIGS = {
    "multiclass-standard-multicollinearity": {},
    "ova-quantile-pca-impute": dict(classifier="ova", calibration="sigmoid", scaler="quantile",
                                    pca="average", nan_policy="impute"),
    "uncalibrated-minmax-rfecv-elbow": dict(classifier="multiclass_uncalibrated",
                                            scaler="minmax", selection="rfecv", rfecv_step=1,
                                            pca="elbow"),
    "forest-quantile": dict(classifier="random_forest", scaler="quantile", rf_trees=20),
}


def _training_rows(table, config: TrainConfig):
    """What train_model fits on here: the ``train`` rows of the split column (fewer than
    the cap), all feature columns, groups by block."""
    names = feature_columns(table, None)
    train = table[table["split"] == "train"]
    return (names, train[names].to_numpy(np.float64), train["class"].to_numpy(),
            sample_groups(train, by=config.cv_groups))


@pytest.fixture(scope="module", params=list(CONFIGS))
def fitted(request, samples):
    """train_model's result and the pipeline of the same config fitted on its rows."""
    options = dict(compare=[], **SMALL_GRID, **CONFIGS[request.param])
    table = samples.copy()
    if options.get("nan_policy") == "impute":
        table.loc[table.index[:40], "f2"] = np.nan  # train and test rows
    config = TrainConfig(**options)
    names, X, y, groups = _training_rows(table, config)
    pipeline = build_pipeline(config, n_samples=len(y))
    pipeline.fit(X, y, **fit_params(pipeline, groups))
    return train_model(table, **options), pipeline, config, table, names, X


def test_pipeline_predicts_what_the_bundle_predicts(fitted):
    result, pipeline, config, table, names, X_train = fitted
    bundle = result.bundle
    support = pipeline.named_steps["select"].get_support()
    assert bundle.input_features == [n for n, keep in zip(names, support) if keep]
    held = table[table["split"] == "test"]
    X = held[names].to_numpy(np.float64)
    np.testing.assert_array_equal(pipeline.predict(X), bundle.predict(held))
    if config.classifier == "multiclass_uncalibrated":
        assert not hasattr(pipeline, "predict_proba")
    else:
        np.testing.assert_array_equal(pipeline.predict_proba(X), bundle.predict_proba(held))
    if config.classifier != "random_forest":
        scores = pipeline[-1].decision_scores(pipeline[:-1].transform(X))
        np.testing.assert_array_equal(scores, bundle.decision_scores(held))
    if config.nan_policy == "impute":
        assert np.isnan(X).any() and np.isnan(X_train).any()
        np.testing.assert_array_equal(bundle.impute_values,
                                      np.nanmedian(X_train[:, support], axis=0))


def test_a_clone_is_unfitted_with_the_same_parameters(fitted):
    _, pipeline, _, table, names, _ = fitted
    copy = clone(pipeline)
    assert [name for name, _ in copy.steps] == list(STEPS)
    ours, theirs = pipeline.get_params(), copy.get_params()
    assert ours.keys() == theirs.keys()
    for key, value in ours.items():  # the estimators by their parameters; repr: nan
        if key != "steps" and not hasattr(value, "get_params"):
            assert repr(theirs[key]) == repr(value), key
    with pytest.raises(NotFittedError):
        copy.predict(table[names].to_numpy(np.float64))


@pytest.mark.parametrize("options", [
    dict(compare=["random_forest", "ova"], rf_trees=10),
    dict(classifier="random_forest", compare=["multiclass"], rf_trees=10, selection="rfecv"),
])
def test_the_scaler_is_fitted_once_on_every_feature(samples, monkeypatch, options):
    shapes = []
    fit = StandardScaler.fit

    def counting(self, X, *args, **kwargs):
        shapes.append(np.shape(X))
        return fit(self, X, *args, **kwargs)

    monkeypatch.setattr(StandardScaler, "fit", counting)
    result = train_model(samples, **SMALL_GRID, **options)
    assert shapes == [(result.data["n_train"], result.data["features"])]


# TrainConfig field, a value other than its default, the pipeline parameter, the base config
FIELDS = [
    ("correlation_threshold", 0.8, "select__threshold", {}),
    ("relevance", "anova", "select__relevance", {}),
    ("selection", "rfecv", "select__method", {}),
    ("rfecv_importance", "permutation", "select__importance", {}),
    ("rfecv_step", 2.0, "select__step", {}),
    ("rfecv_min_features", 3, "select__min_features", {}),
    ("cv_folds", 4, "select__n_folds", {}),
    ("cv_folds", 4, "classify__n_folds", {}),
    ("class_weight", "balanced", "select__class_weight", {}),
    ("class_weight", "balanced", "classify__class_weight", {}),
    ("seed", 7, "select__random_state", {}),
    ("seed", 7, "classify__random_state", {}),
    ("seed", 7, "scale__random_state", {"scaler": "quantile"}),
    ("quantile_output", "normal", "scale__output_distribution", {"scaler": "quantile"}),
    ("pca_variance", 0.8, "pca__variance", {"pca": "variance"}),
    ("pca", "elbow", "pca__rule", {"pca": "variance"}),
    ("calibration", "sigmoid", "classify__calibration", {}),
    ("labels", "probability", "classify__labels", {}),
    ("halving_factor", 2, "classify__halving_factor", {}),
    ("kernel_memory_mb", 100.0, "classify__kernel_memory_mb", {}),
    ("n_jobs", 1, "classify__n_jobs", {}),
    ("n_jobs", 1, "select__n_jobs", {}),
    ("C", (2.0,), "classify__C", {}),
    ("gamma_factors", (0.5,), "classify__gamma_factors", {}),
    ("aggregation", "softmax", "classify__aggregation", {"classifier": "ova"}),
    ("temperature", 2.0, "classify__temperature", {"classifier": "ova"}),
    ("rf_trees", 7, "classify__n_estimators", {"classifier": "random_forest"}),
]


@pytest.mark.parametrize(("field", "value", "param", "base"), FIELDS)
def test_get_params_lists_the_config(field, value, param, base):
    default = build_pipeline(TrainConfig(**base)).get_params()[param]
    given = build_pipeline(TrainConfig(**{**base, field: value})).get_params()[param]
    assert default != value and given == value


def test_steps_follow_the_config():
    steps = build_pipeline(TrainConfig(scaler="minmax", nan_policy="impute")).named_steps
    assert isinstance(steps["scale"], MinMaxScaler) and steps["pca"] == "passthrough"
    assert isinstance(steps["impute"], SimpleImputer) and steps["impute"].strategy == "median"
    steps = build_pipeline(TrainConfig(scaler="none", selection="none")).named_steps
    assert steps["impute"] == steps["scale"] == "passthrough"
    assert steps["select"].method == "none"
    quantile = build_pipeline(TrainConfig(scaler="quantile"), n_samples=300).named_steps
    assert isinstance(quantile["scale"], QuantileTransformer)
    assert quantile["scale"].n_quantiles == 300
    # the forest reads unscaled features: its selector scales to choose them
    forest = build_pipeline(TrainConfig(classifier="random_forest", pca="average"))
    assert forest.named_steps["scale"] == forest.named_steps["pca"] == "passthrough"
    assert isinstance(forest.named_steps["select"].scaler, StandardScaler)
    assert set(fit_params(forest, None)) == {"select__groups"}
    svm = build_pipeline(TrainConfig())
    assert set(fit_params(svm, np.zeros(3))) == {"select__groups", "classify__groups"}


def test_bad_options_are_config_errors(samples):
    with pytest.raises(ConfigError, match=r"'scaler':.*'standard'.*\(got 'robust'\)"):
        train_model(samples, scaler="robust", **SMALL_GRID)
    with pytest.raises(ConfigError, match=r"unknown key 'colour' \(allowed here: C, "):
        train_model(samples, colour="red", **SMALL_GRID)
