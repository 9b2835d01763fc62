"""Training: samples -> imputer -> scaler -> selection -> PCA -> SVM -> bundle, evaluated on
held-out rows.

The steps are a scikit-learn Pipeline composed from the TrainConfig
(:func:`hrlc.model.pipeline.build_pipeline`), each fitted once; the compared variants reuse
its fitted steps. Every random choice (holdout, cap, folds, mutual information, forest)
derives from ``seed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import get_args

import numpy as np
import pandas as pd

from hrlc.config import validate_config
from hrlc.config.train import SvmKind, TrainConfig, Variant, check_temperature
from hrlc.model._checks import TrainingDataError
from hrlc.model.bundle import ModelBundle
from hrlc.model.evaluation import classification_metrics
from hrlc.model.pipeline import (build_pipeline, fit_params, fitted_scaler, fixed_class_weight,
                                 forest_features, make_classifier, svm_features, to_bundle,
                                 with_classifier)
from hrlc.model.samples import (cap_training, class_table_from, data_checksum, feature_columns,
                                handle_nonfinite, holdout_masks, sample_groups)
from hrlc.model.selection import correlation_matrix
from hrlc.model.svm import cv_splits, uncalibrated

Progress = Callable[[str], None]
_PROBE_ROWS = 16
#: SVMs a bundle can hold (``classifier``), and every variant (``compare``), in the order
#: of the reference chain's table; a variant's report key is ``svm_<kind>`` or
#: ``random_forest``.
SVM_KINDS: tuple[str, ...] = get_args(SvmKind)
VARIANTS: tuple[str, ...] = get_args(Variant)


@dataclass
class TrainResult:
    """A trained bundle and everything the report shows.

    Attributes
    ----------
    bundle : ModelBundle
    variants : dict
        Variant key (``svm_multiclass_uncalibrated``, ``svm_multiclass``, ``svm_ova``,
        ``random_forest``, in that order, those trained) -> {"test": metrics, "eval":
        metrics (when the table has an evaluation set), "fit_seconds", "n_support_vectors"
        or "n_nodes", ...}; metrics as :func:`~hrlc.model.classification_metrics` (ECE and
        log loss None for the uncalibrated SVM, which has no probabilities). An SVM's
        search: "best_params", "class_weight", "selection_metric" (what chose them),
        "cv_results" (every candidate's per-fold scores, per halving round), "calibration"
        (the method used) and, when ``calibration: auto`` chose it, "calibration_choice"
        (each method's out-of-fold log loss and ECE, and which of them chose).
    selection, pca : dict or None
        Summaries of the feature selection and of the PCA.
    correlation : dict
        ``before``/``after`` matrices and feature names.
    data : dict
        Row counts per split and class, non-finite counts, cap, checksum.
    areas : dict or None
        Olofsson et al. estimators of the bundle's classifier (when map areas are given).
    config : dict
    """

    bundle: ModelBundle
    variants: dict
    selection: dict | None
    pca: dict | None
    correlation: dict
    data: dict
    areas: dict | None = None
    config: dict = field(default_factory=dict)


def _quiet(step: str) -> None:
    pass


def _check_variants(classifier: str, compare, *, calibration="auto",
                    aggregation="normalise") -> None:
    if classifier not in VARIANTS:
        raise ValueError(f"classifier must be one of {VARIANTS}, got {classifier!r}")
    unknown = [c for c in compare if c not in VARIANTS]
    if unknown:
        raise ValueError(f"compare takes variants of {VARIANTS}, got {unknown}")
    check_temperature(classifier=classifier, compare=compare, calibration=calibration,
                      aggregation=aggregation)


def _validated(options: Mapping) -> TrainConfig:
    """The options as a TrainConfig; the variants first, in the words of their rules."""
    fields = TrainConfig.model_fields

    def given(name):
        return options.get(name, fields[name].get_default(call_default_factory=True))

    _check_variants(given("classifier"), given("compare"), calibration=given("calibration"),
                    aggregation=given("aggregation"))
    return validate_config(dict(options), TrainConfig, source="train_model options")


def _fit_svms(kinds, config: TrainConfig, Z, y, groups, step: Progress) -> tuple[dict, dict]:
    """Fitted SVM per kind and its variant record (fit time).

    The uncalibrated multiclass SVM is the calibrated one's SVM when both are trained
    (:func:`hrlc.model.svm.uncalibrated`): the same fit, not searched twice.
    """
    fitted, variants = {}, {}
    for kind in sorted(kinds, key=("multiclass", "ova", "multiclass_uncalibrated").index):
        step(f"SVM {kind}: grid search" + ("" if kind == "multiclass_uncalibrated" else
                                          " and calibration"))
        if kind == "multiclass_uncalibrated" and "multiclass" in fitted:
            fitted[kind] = uncalibrated(fitted["multiclass"])
            variants[kind] = {"fit_seconds": None, "svm_shared_with": "svm_multiclass"}
            continue
        start = time.perf_counter()
        fitted[kind] = make_classifier(config, kind).fit(Z, y, groups)
        variants[kind] = {"fit_seconds": time.perf_counter() - start}
    return fitted, variants


def _evaluate(model, X_sets, y_sets, classes, names, bins) -> dict:
    """Metrics of the fitted pipeline ``model`` on each held-out set (all feature columns);
    for an SVM also the accuracy the other label rule (decision vote or most probable
    class) would give."""
    out = {}
    clf = model[-1]
    for split, X in X_sets.items():
        Z = model[:-1].transform(X)
        # an uncalibrated SVM has no predict_proba: ECE and log loss are not applicable
        proba = clf.predict_proba(Z) if hasattr(clf, "predict_proba") else None
        pred = clf.predict(Z)
        metrics = classification_metrics(y_sets[split], pred, classes=classes,
                                         class_names=names, proba=proba, n_bins=bins)
        rule = getattr(clf, "labels", None)
        if rule is not None and proba is not None:
            other = ("probability" if rule == "decision" else "decision")
            alt = (classes[np.argmax(proba, axis=1)] if other == "probability"
                   else clf._decision_labels(Z))
            m = classification_metrics(y_sets[split], alt, classes=classes)
            metrics["other_labels"] = {"rule": other, "overall_accuracy": m["overall_accuracy"],
                                       "macro_f1": m["macro_f1"]}
        out[split] = metrics
    return out


def _fit_forest(model, config: TrainConfig, fitted: dict, X, y):
    """The RandomForest on ``model``'s selected (imputed, unscaled) features, as a fitted
    pipeline, and its record; with ``class_weight="auto"`` it takes the weighting the SVM
    search chose (the bundle's SVM, else the first compared one), else the fixed one."""
    start = time.perf_counter()
    svm = fitted.get(config.classifier, next(iter(fitted.values()), None))
    chosen = getattr(svm, "class_weight_", None)
    weight = (chosen if config.class_weight == "auto" and svm is not None
              and not isinstance(chosen, list) else fixed_class_weight(config))
    forest = make_classifier(config, "random_forest").set_params(class_weight=weight)
    pipeline = with_classifier(forest_features(model), forest).fit(X, y)
    return pipeline, {"fit_seconds": time.perf_counter() - start, "class_weight": weight,
                      "labels": "probability",
                      "n_nodes": int(sum(t.tree_.node_count for t in forest.estimators_)),
                      "mean_depth": float(np.mean([t.tree_.max_depth
                                                   for t in forest.estimators_]))}


def _check_held_out_classes(held: dict, y_train: np.ndarray, table: dict, *,
                            split: str) -> None:
    """A class in a held-out set but not in the training rows cannot be predicted."""
    known = set(np.unique(y_train).tolist())
    for part, rows in held.items():
        unknown = sorted(set(rows["class"].unique().tolist()) - known)
        if unknown:
            names = ", ".join(f"{c} ({table.get(c, {}).get('name', c)}: "
                              f"{int((rows['class'] == c).sum())} {part} rows)" for c in unknown)
            fix = ("add polygons of it, or drop it" if split == "polygon" else
                   "add polygons of it elsewhere, use smaller spatial blocks, or drop it")
            raise TrainingDataError(
                f"class {names} has no training rows: all its samples are in the {part} "
                f"set (split: {split}); {fix} (dataset: drop_small_classes)")


def train_model(samples: pd.DataFrame, *, class_table: Mapping | None = None,
                map_areas: Mapping | None = None, progress: Progress | None = None,
                **options) -> TrainResult:
    """Train the bundle's SVM and the comparison variants; evaluate on held-out rows.

    Parameters
    ----------
    samples : DataFrame
        One row per pixel: ``class`` (code), ``block``, ``split`` (for ``split="column"``),
        ``polygon_id`` (for ``split="polygon"``) and one float column per feature.
    class_table : mapping, optional
        code -> {"name", "colour"} (completed from the ``class_name`` column).
    map_areas : mapping, optional
        code -> mapped area of a land-cover map; gives the Olofsson et al. (2014)
        area-adjusted accuracy and class areas of the bundle's classifier.
    progress : callable, optional
        Called with the name of each step as it starts.
    **options
        See :class:`hrlc.config.train.TrainConfig` (one keyword per field), validated
        once, here.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        An unknown ``classifier`` or ``compare`` variant, or a temperature calibration
        the one-vs-all SVM cannot use.
    ConfigError
        Another option unknown or out of its range.
    TrainingDataError
        One class, a class with fewer samples than folds or absent from a training fold,
        non-finite features under ``nan_policy="reject"``, missing feature columns.
    """
    config = _validated(options)
    step = progress or _quiet
    step("preparing samples")
    names = feature_columns(samples, config.features)
    table = class_table_from(samples, class_table)
    clean, nonfinite = handle_nonfinite(samples, names, policy=config.nan_policy)
    masks = holdout_masks(clean, rule=config.split, test_fraction=config.test_fraction,
                          seed=config.seed)
    train = clean.loc[masks["train"]]
    y_all = train["class"].to_numpy()
    train = train.iloc[cap_training(y_all, max_samples=config.max_train_samples,
                                    seed=config.seed)]
    X = train[names].to_numpy(dtype=np.float64)
    y = train["class"].to_numpy()
    groups = sample_groups(train, by=config.cv_groups)
    held = {s: clean.loc[m] for s, m in masks.items() if s != "train"}
    _check_held_out_classes(held, y, table, split=config.split)
    # the folds are checked before anything is fitted, in words that name the classes
    cv_splits(y, groups, n_folds=config.cv_folds, random_state=config.seed,
              groups_by=config.cv_groups,
              class_names={c: v.get("name", c) for c, v in table.items()})

    step("selecting features")
    model = build_pipeline(config, n_samples=len(y))
    front = model[:3]  # impute, scale, select: the same step objects as the model's
    front.fit(X, y, **fit_params(front, groups))
    if config.pca != "none":
        step("PCA")
    features = svm_features(model, config)  # the fitted steps frozen: fits the PCA only
    Z = features.fit_transform(X)

    kinds = [k for k in SVM_KINDS if k == config.classifier or k in config.compare]
    fitted, fits = _fit_svms(kinds, config, Z, y, groups, step)
    models = {f"svm_{k}": with_classifier(features, fitted[k]) for k in kinds}
    forest_info = None
    if "random_forest" in (config.classifier, *config.compare):
        step("RandomForest")
        models["random_forest"], forest_info = _fit_forest(model, config, fitted, X, y)
    own = config.classifier == "random_forest"
    model.set_params(classify=models["random_forest" if own else
                                     f"svm_{config.classifier}"][-1])
    bundle = to_bundle(model, names, class_table=table,
                       training={"config": config.model_dump(),
                                 "data_sha256": data_checksum(samples),
                                 "n_train": int(len(y)), "features_offered": names})
    bundle.probe_X = forest_features(model).transform(X[:_PROBE_ROWS])
    bundle.probe_scores = bundle.decision_scores(bundle.probe_X)
    bundle.check_finite()  # before the report and the bundle are written, not at saving

    step("evaluating")
    classes = bundle.classes
    X_sets = {s: d[names].to_numpy(np.float64) for s, d in held.items()}
    y_sets = {s: d["class"].to_numpy() for s, d in held.items()}
    class_names = {c: v.get("name", str(c)) for c, v in table.items()}
    variants: dict = {}
    for kind in kinds:
        info = variants[f"svm_{kind}"] = fits[kind]
        info.update(_evaluate(models[f"svm_{kind}"], X_sets, y_sets, classes, class_names,
                              config.ece_bins))
        info.update(_search_record(fitted[kind]))
        if kind == "ova":
            info.update(aggregation=fitted[kind].aggregation)
    if forest_info is not None:
        forest_info.update(_evaluate(models["random_forest"], X_sets, y_sets, classes,
                                     class_names, config.ece_bins))
        variants["random_forest"] = forest_info

    areas = None
    if map_areas:
        from hrlc.model.olofsson import area_adjusted_accuracy

        area = [float(map_areas.get(c, map_areas.get(str(c), 0.0))) for c in classes.tolist()]
        counts = np.asarray(variants[bundle.variant]["test"]["confusion"]).T
        areas = area_adjusted_accuracy(counts, area, classes=classes, class_names=class_names)
    data = {"n_rows": int(len(samples)), "nonfinite": nonfinite, "features": len(names),
            "n_train_before_cap": int(len(y_all)), "n_train": int(len(y)),
            "split": config.split,
            "groups": config.cv_groups if groups is not None else "none (pixel folds)",
            "rows": {s: _class_counts(d["class"].to_numpy()) for s, d in
                     [("train", train), *held.items()]},
            "sha256": bundle.training["data_sha256"]}
    pca = features.named_steps["pca"]
    return TrainResult(bundle=bundle, variants=variants,
                       selection=model.named_steps["select"].summary(names),
                       pca=None if isinstance(pca, str) else pca.summary(),
                       correlation=_correlation(model, X, names),
                       data=data, areas=areas, config=config.model_dump())


def _correlation(model, X: np.ndarray, names: list[str]) -> dict:
    """Correlation of the scaled training features, all and the selected ones."""
    scaler = fitted_scaler(model)
    imputed = model[:1].transform(X)
    before = correlation_matrix(imputed if scaler is None else scaler.transform(imputed))
    sel = np.flatnonzero(model.named_steps["select"].get_support())
    return {"before": before, "after": before[np.ix_(sel, sel)], "names_before": names,
            "names_after": [names[i] for i in sel]}


def _search_record(model) -> dict:
    """What a variant's search chose and how (for the report): best parameters, the
    selection metric, every candidate's fold scores (``cv_results``), the calibration and,
    when ``auto`` chose it, the comparison (``calibration_choice``: the method, and the
    out-of-fold log loss and ECE of each)."""
    record = {"n_support_vectors": model.n_support_vectors_,
              "best_params": model.best_params_, "labels": model.labels,
              "calibration": model.calibration_, "class_weight": model.class_weight_,
              "selection_metric": model.selection_metric_, "cv_results": model.cv_results_}
    scores = model.calibration_scores_
    if scores is not None:
        record["calibration_choice"] = {
            "method": model.calibration_,
            "by": {"ece": "out-of-fold ECE",
                   "log_loss": "out-of-fold log loss"}[model.calibration_metric],
            "log_loss": {m: v["log_loss"] for m, v in scores.items()},
            "ece": {m: v["ece"] for m, v in scores.items()}}
    return record


def _class_counts(y: np.ndarray) -> dict:
    codes, counts = np.unique(y, return_counts=True)
    return {str(c): int(n) for c, n in zip(codes.tolist(), counts)}
