"""Training as a scikit-learn :class:`~sklearn.pipeline.Pipeline` composed from a TrainConfig.

Every pipeline has the five steps of :data:`STEPS`, ``"passthrough"`` where one does nothing:

- ``impute``: ``SimpleImputer(strategy="median")`` with ``nan_policy: impute`` (the training
  medians of each feature);
- ``scale``: the scaler of ``scaler`` (:func:`~hrlc.model.scaling.make_scaler`);
- ``select``: :class:`~hrlc.model.selection.FeatureSelector` (``none``,
  ``multicollinearity``, ``rfecv``), fitted on the scaled features;
- ``pca``: :class:`~hrlc.model.pca.ScreePCA` (``variance``, ``elbow``, ``average``);
- ``classify``: :class:`~hrlc.model.svm.MulticlassSVM` (calibrated or not),
  :class:`~hrlc.model.svm.OneVsAllSVM` or a ``RandomForestClassifier``.

The random forest reads the selected features unscaled, but they are chosen on the scaled
ones, as for the SVMs: its pipeline passes ``scale`` and ``pca`` through and gives the
scaler to the selector (``FeatureSelector(scaler=...)``), so either shape fits its scaler
once.

The spatial groups of the cross-validation reach the steps that take them (the selector's
RFECV folds, the SVM search) as fit parameters, ``select__groups`` and
``classify__groups`` (:func:`fit_params`): scikit-learn's Pipeline routes ``step__param``
without metadata routing, which stays off (it is a global switch).

The variants of one training share fitted steps: :func:`svm_features` and
:func:`forest_features` rebuild the features of either classifier from a fitted pipeline,
its fitted steps frozen (:class:`~sklearn.frozen.FrozenEstimator`), so that nothing is
fitted twice, and :func:`to_bundle` turns a fitted pipeline into a
:class:`~hrlc.model.bundle.ModelBundle` (the selected features only).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from hrlc.config.train import TrainConfig
from hrlc.model.bundle import ModelBundle
from hrlc.model.scaling import make_scaler, restrict_scaler

#: Step names of every training pipeline, in order.
STEPS: tuple[str, ...] = ("impute", "scale", "select", "pca", "classify")
_PASS = "passthrough"


def fixed_class_weight(config: TrainConfig):
    """The class weight of the selection and of the forest when no SVM chose one: None for
    ``auto`` and ``none``, else ``balanced`` or the code -> weight mapping."""
    return None if config.class_weight in ("auto", "none") else config.class_weight


def make_classifier(config: TrainConfig, kind: str):
    """An unfitted classifier of variant ``kind`` (``multiclass``,
    ``multiclass_uncalibrated``, ``ova`` or ``random_forest``) with the options of
    ``config`` (a forest's ``class_weight: auto`` is None here:
    :func:`hrlc.model.train_model` gives it the weighting the SVM search chose)."""
    if kind == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=config.rf_trees,
                                      class_weight=fixed_class_weight(config),
                                      n_jobs=config.n_jobs, random_state=config.seed)
    from hrlc.model.svm import MulticlassSVM, OneVsAllSVM

    common = dict(C=tuple(config.C), gamma_factors=tuple(config.gamma_factors),
                  calibration=config.calibration,
                  calibration_metric=config.calibration_metric, labels=config.labels,
                  n_folds=config.cv_folds,
                  class_weight=None if config.class_weight == "none" else config.class_weight,
                  n_jobs=config.n_jobs, halving_factor=config.halving_factor,
                  kernel_memory_mb=config.kernel_memory_mb, random_state=config.seed)
    if kind == "ova":
        return OneVsAllSVM(aggregation=config.aggregation, temperature=config.temperature,
                           **common)
    if kind == "multiclass_uncalibrated":
        return MulticlassSVM(**{**common, "calibration": None, "labels": "decision"})
    if kind == "multiclass":
        return MulticlassSVM(**common)
    raise ValueError(f"unknown classifier {kind!r}; use multiclass, multiclass_uncalibrated, "
                     "ova or random_forest")


def _scaler(config: TrainConfig, n_samples: int | None):
    n_quantiles = 1000 if n_samples is None else max(1, min(1000, int(n_samples)))
    return make_scaler(config.scaler, n_quantiles=n_quantiles,
                       quantile_output=config.quantile_output, random_state=config.seed)


def _pca(config: TrainConfig):
    from hrlc.model.pca import ScreePCA

    return _PASS if config.pca == "none" else ScreePCA(config.pca, variance=config.pca_variance)


def build_pipeline(config: TrainConfig, *, n_samples: int | None = None) -> Pipeline:
    """The unfitted training pipeline of ``config`` (steps :data:`STEPS`).

    Parameters
    ----------
    config : TrainConfig
    n_samples : int, optional
        Training rows the pipeline will be fitted on: the quantile scaler keeps at most
        that many quantiles (scikit-learn would lower them with a warning).

    Returns
    -------
    Pipeline
        Fit it with ``pipeline.fit(X, y, **fit_params(pipeline, groups))``: X
        (n_samples, n_features) float64 in the order of the feature names, y class codes,
        groups the spatial block of each sample (or None).
    """
    from sklearn.impute import SimpleImputer

    from hrlc.model.selection import FeatureSelector

    forest = config.classifier == "random_forest"
    scaler = _scaler(config, n_samples)
    # keep_empty_features: a feature without a value keeps its column (imputed 0, then
    # constant), so that the columns stay those of the feature names
    impute = (SimpleImputer(strategy="median", keep_empty_features=True)
              if config.nan_policy == "impute" else _PASS)
    select = FeatureSelector(
        config.selection, threshold=config.correlation_threshold, relevance=config.relevance,
        importance=config.rfecv_importance, step=config.rfecv_step,
        min_features=config.rfecv_min_features, n_folds=config.cv_folds,
        class_weight=fixed_class_weight(config), scaler=scaler if forest else None,
        n_jobs=config.n_jobs, random_state=config.seed)
    return Pipeline([("impute", impute),
                     ("scale", _PASS if forest or scaler is None else scaler),
                     ("select", select),
                     ("pca", _PASS if forest else _pca(config)),
                     ("classify", make_classifier(config, config.classifier))])


def fit_params(pipeline: Pipeline, groups: np.ndarray | None) -> dict:
    """``{"<step>__groups": groups}`` for the steps whose ``fit`` takes ``groups``
    (n_samples,), for ``pipeline.fit(X, y, **fit_params(pipeline, groups))``."""
    return {f"{name}__groups": groups for name, step in pipeline.steps
            if not isinstance(step, str)
            and "groups" in inspect.signature(step.fit).parameters}


def _frozen(step):
    return step if isinstance(step, str) else FrozenEstimator(step)


def fitted_scaler(model: Pipeline):
    """The scaler fitted on all features: the ``scale`` step, or the one the forest's
    selector fitted; None without scaling."""
    scale = model.named_steps["scale"]
    return model.named_steps["select"].scaler_ if isinstance(scale, str) else scale


def svm_features(model: Pipeline, config: TrainConfig) -> Pipeline:
    """The SVMs' features (impute -> scale -> select -> PCA) from ``model``, whose
    ``impute``, ``scale`` and ``select`` are fitted.

    The fitted steps are frozen; the PCA is ``model``'s own step (the forest's pipeline
    has none: a new one of ``config``), fitted by the returned pipeline's ``fit``.
    """
    steps = model.named_steps
    scaler = fitted_scaler(model)
    pca = _pca(config) if isinstance(steps["pca"], str) else steps["pca"]
    return Pipeline([("impute", _frozen(steps["impute"])),
                     ("scale", _PASS if scaler is None else _frozen(scaler)),
                     ("select", _frozen(steps["select"])), ("pca", pca)])


def forest_features(model: Pipeline) -> Pipeline:
    """The random forest's features from ``model`` (fitted ``impute`` and ``select``,
    frozen): the selected input features, imputed, unscaled; also what a bundle reads."""
    steps = model.named_steps
    return Pipeline([("impute", _frozen(steps["impute"])), ("scale", _PASS),
                     ("select", _frozen(steps["select"])), ("pca", _PASS)])


def with_classifier(features: Pipeline, classifier) -> Pipeline:
    """``features`` followed by the ``classify`` step ``classifier``."""
    return Pipeline([*features.steps, ("classify", classifier)])


def to_bundle(model: Pipeline, feature_names: list[str], *, class_table: Mapping,
              training: Mapping) -> ModelBundle:
    """The :class:`ModelBundle` of a fitted training pipeline.

    The bundle reads the selected features only: the imputation values and the scaler
    are restricted to them (:func:`~hrlc.model.scaling.restrict_scaler`), the PCA and the
    classifier are the pipeline's. It predicts what ``model`` predicts on all features.

    Parameters
    ----------
    model : Pipeline
        Fitted, steps :data:`STEPS`.
    feature_names : list of str
        Names of the columns ``model`` was fitted on, in order.
    class_table : mapping
        code -> {"name", "colour"}.
    training : mapping
        The training record (configuration, checksums, counts), JSON-ready.
    """
    steps = model.named_steps
    support = steps["select"].get_support()
    if len(feature_names) != support.size:
        raise ValueError(f"the pipeline was fitted on {support.size} features, got "
                         f"{len(feature_names)} names; give the names of its columns in order")
    impute, scale, pca = steps["impute"], steps["scale"], steps["pca"]
    return ModelBundle(
        input_features=[n for n, keep in zip(feature_names, support) if keep],
        classifier=steps["classify"],
        scaler=None if isinstance(scale, str) else restrict_scaler(scale, support),
        pca=None if isinstance(pca, str) else pca,
        impute_values=None if isinstance(impute, str) else impute.statistics_[support],
        class_table=class_table, training=training)
