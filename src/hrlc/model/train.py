"""Training: samples -> scaler -> selection -> PCA -> SVM -> bundle, evaluated on held-out rows.

Every random choice (holdout, cap, folds, mutual information, forest) derives from ``seed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import get_args

import numpy as np
import pandas as pd

from hrlc.config.train import SvmKind, Variant, check_temperature
from hrlc.model._checks import TrainingDataError
from hrlc.model.bundle import ModelBundle
from hrlc.model.evaluation import classification_metrics
from hrlc.model.samples import (cap_training, class_table_from, data_checksum, feature_columns,
                                handle_nonfinite, holdout_masks, sample_groups)
from hrlc.model.selection import correlation_matrix, make_rfecv, selection_summary
from hrlc.model.svm import MulticlassSVM, OneVsAllSVM, cv_splits, uncalibrated

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
        (each method's out-of-fold log loss and ECE).
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


def _select(X, y, splits, names, *, selection, correlation_threshold, relevance,
            rfecv_importance, rfecv_step, rfecv_min_features, class_weight, n_jobs, seed):
    """Selected column positions and the selection summary (None when none)."""
    if selection == "none":
        return np.arange(X.shape[1]), None
    if selection == "multicollinearity":
        from hrlc.model.selection import MulticollinearityFilter

        selector = MulticollinearityFilter(correlation_threshold, relevance=relevance,
                                           random_state=seed).fit(X, y)
    else:
        selector = make_rfecv(importance=rfecv_importance, step=rfecv_step,
                              min_features=min(rfecv_min_features, X.shape[1]), cv=splits,
                              class_weight=class_weight, n_jobs=n_jobs,
                              random_state=seed).fit(X, y)
    return np.flatnonzero(selector.get_support()), selection_summary(selector, names)


def _class_weight(value):
    """The estimators' class_weight: ``"none"`` is None."""
    return None if value == "none" else value


def _svm(kind: str, cfg: Mapping):
    common = dict(C=tuple(cfg["C"]), gamma_factors=tuple(cfg["gamma_factors"]),
                  calibration=cfg["calibration"], labels=cfg["labels"], n_folds=cfg["cv_folds"],
                  class_weight=_class_weight(cfg["class_weight"]), n_jobs=cfg["n_jobs"],
                  halving_factor=cfg["halving_factor"],
                  kernel_memory_mb=cfg["kernel_memory_mb"], random_state=cfg["seed"])
    if kind == "ova":
        return OneVsAllSVM(aggregation=cfg["aggregation"], temperature=cfg["temperature"],
                           **common)
    if kind == "multiclass_uncalibrated":
        return MulticlassSVM(**{**common, "calibration": None, "labels": "decision"})
    return MulticlassSVM(**common)


def _check_variants(classifier: str, compare, *, calibration="auto",
                    aggregation="normalise") -> None:
    if classifier not in VARIANTS:
        raise ValueError(f"classifier must be one of {VARIANTS}, got {classifier!r}")
    unknown = [c for c in compare if c not in VARIANTS]
    if unknown:
        raise ValueError(f"compare takes variants of {VARIANTS}, got {unknown}")
    check_temperature(classifier=classifier, compare=compare, calibration=calibration,
                      aggregation=aggregation)


def _fit_svms(kinds, cfg: Mapping, Z, y, groups, step: Progress) -> tuple[dict, dict]:
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
        fitted[kind] = _svm(kind, cfg).fit(Z, y, groups)
        variants[kind] = {"fit_seconds": time.perf_counter() - start}
    return fitted, variants


def _evaluate(model, X_sets, y_sets, classes, names, bins, *, prepare=None) -> dict:
    """Metrics of ``model`` on each held-out set; for an SVM also the accuracy the other
    label rule (decision vote or most probable class) would give."""
    out = {}
    for split, X in X_sets.items():
        X = X if prepare is None else prepare(X)
        # an uncalibrated SVM has no predict_proba: ECE and log loss are not applicable
        proba = model.predict_proba(X) if hasattr(model, "predict_proba") else None
        pred = model.predict(X)
        metrics = classification_metrics(y_sets[split], pred, classes=classes,
                                         class_names=names, proba=proba, n_bins=bins)
        rule = getattr(model, "labels", None)
        if rule is not None and proba is not None:
            other = ("probability" if rule == "decision" else "decision")
            alt = (classes[np.argmax(proba, axis=1)] if other == "probability"
                   else model._decision_labels(X))
            m = classification_metrics(y_sets[split], alt, classes=classes)
            metrics["other_labels"] = {"rule": other, "overall_accuracy": m["overall_accuracy"],
                                       "macro_f1": m["macro_f1"]}
        out[split] = metrics
    return out


def _fit_forest(X, y, fitted, classifier, class_weight, fixed_weight, *, rf_trees, n_jobs,
                seed):
    """The RandomForest on the selected (imputed, unscaled) features and its record; with
    ``class_weight="auto"`` it takes the weighting the SVM search chose (the bundle's SVM,
    else the first compared one), else the fixed one."""
    from sklearn.ensemble import RandomForestClassifier

    start = time.perf_counter()
    svm = fitted.get(classifier, next(iter(fitted.values()), None))
    chosen = getattr(svm, "class_weight_", None)
    weight = (chosen if class_weight == "auto" and svm is not None
              and not isinstance(chosen, list) else fixed_weight)
    forest = RandomForestClassifier(n_estimators=rf_trees, class_weight=weight, n_jobs=n_jobs,
                                    random_state=seed).fit(X, y)
    return forest, {"fit_seconds": time.perf_counter() - start, "class_weight": weight,
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
                features=None, split="column", test_fraction=0.3, max_train_samples=20000,
                nan_policy="reject", scaler="standard", quantile_output="uniform",
                selection="multicollinearity", correlation_threshold=0.9,
                relevance="mutual_info", rfecv_importance="linear_svm", rfecv_step=0.05,
                rfecv_min_features=5, pca="none", pca_variance=0.95, classifier="multiclass",
                compare=("random_forest",), calibration="auto", labels="decision",
                aggregation="normalise", temperature=1.0, C=(0.1, 1.0, 10.0, 100.0, 1000.0),
                gamma_factors=(0.1, 0.3, 1.0, 3.0, 10.0), halving_factor=3,
                kernel_memory_mb=6144.0, cv_folds=3, cv_groups="block", class_weight="auto",
                rf_trees=300, ece_bins=10, n_jobs=-1, seed=0) -> TrainResult:
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
        See :class:`hrlc.config.train.TrainConfig` (one keyword per field).

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingDataError
        One class, a class with fewer samples than folds or absent from a training fold,
        non-finite features under ``nan_policy="reject"``, missing feature columns.
    """
    cfg = {k: v for k, v in locals().items() if k not in ("samples", "class_table",
                                                           "map_areas", "progress")}
    _check_variants(classifier, compare, calibration=calibration, aggregation=aggregation)
    fixed_weight = None if class_weight in ("auto", "none") else class_weight
    step = progress or _quiet
    step("preparing samples")
    names = feature_columns(samples, features)
    table = class_table_from(samples, class_table)
    clean, nonfinite = handle_nonfinite(samples, names, policy=nan_policy)
    masks = holdout_masks(clean, rule=split, test_fraction=test_fraction, seed=seed)
    train = clean.loc[masks["train"]]
    y_all = train["class"].to_numpy()
    kept = cap_training(y_all, max_samples=max_train_samples, seed=seed)
    train = train.iloc[kept]
    X = train[names].to_numpy(dtype=np.float64)
    y = train["class"].to_numpy()
    groups = sample_groups(train, by=cv_groups)
    held = {s: clean.loc[m] for s, m in masks.items() if s != "train"}
    _check_held_out_classes(held, y, table, split=split)
    splits = cv_splits(y, groups, n_folds=cv_folds, random_state=seed, groups_by=cv_groups,
                       class_names={c: v.get("name", c) for c, v in table.items()})
    impute = np.nanmedian(X, axis=0) if nan_policy == "impute" else None
    if impute is not None:
        X = np.where(np.isnan(X), impute, X)

    step("selecting features")
    from hrlc.model.scaling import fit_scaler, make_scaler

    new_scaler = lambda: make_scaler(scaler, quantile_output=quantile_output,  # noqa: E731
                                     random_state=seed)
    scaled = fit_scaler(new_scaler(), X)
    Xs = X if scaled is None else scaled.transform(X)
    sel, selection_info = _select(
        Xs, y, splits, names, selection=selection, correlation_threshold=correlation_threshold,
        relevance=relevance, rfecv_importance=rfecv_importance, rfecv_step=rfecv_step,
        rfecv_min_features=rfecv_min_features, class_weight=fixed_weight, n_jobs=n_jobs,
        seed=seed)
    selected = [names[i] for i in sel]
    # per-feature scalers: refitting on the selected columns gives their parameters, so
    # the bundle (and the map) needs only the selected features
    bundle_scaler = fit_scaler(new_scaler(), X[:, sel])
    Z = X[:, sel] if bundle_scaler is None else bundle_scaler.transform(X[:, sel])
    pca_model, pca_info = None, None
    if pca != "none":
        step("PCA")
        from hrlc.model.pca import ScreePCA

        pca_model = ScreePCA(pca, variance=pca_variance).fit(Z)
        Z = pca_model.transform(Z)
        pca_info = pca_model.summary()

    kinds = [k for k in SVM_KINDS if k == classifier or k in compare]
    fitted, fits = _fit_svms(kinds, cfg, Z, y, groups, step)
    forest, forest_info = None, None
    if classifier == "random_forest" or "random_forest" in compare:
        step("RandomForest")
        forest, forest_info = _fit_forest(X[:, sel], y, fitted, classifier, class_weight,
                                          fixed_weight, rf_trees=rf_trees, n_jobs=n_jobs,
                                          seed=seed)
    own = classifier == "random_forest"  # the forest reads the selected features as they are

    def svm_features(X):  # the SVMs' scaling and PCA, whichever classifier the bundle holds
        Z = X if bundle_scaler is None else bundle_scaler.transform(X)
        return Z if pca_model is None else pca_model.transform(Z)

    bundle = ModelBundle(
        input_features=selected, classifier=forest if own else fitted[classifier],
        scaler=None if own else bundle_scaler, pca=None if own else pca_model,
        impute_values=None if impute is None else impute[sel],
        class_table=table,
        training={"config": cfg, "data_sha256": data_checksum(samples),
                  "n_train": int(len(y)), "features_offered": names})
    bundle.probe_X = X[:_PROBE_ROWS, sel]
    bundle.probe_scores = bundle.decision_scores(bundle.probe_X)
    bundle.check_finite()  # before the report and the bundle are written, not at saving

    step("evaluating")
    classes = bundle.classes
    X_sets = {s: _impute(d[selected].to_numpy(np.float64), None if impute is None else
                         impute[sel]) for s, d in held.items()}
    y_sets = {s: d["class"].to_numpy() for s, d in held.items()}
    class_names = {c: v.get("name", str(c)) for c, v in table.items()}
    variants: dict = {}
    for kind in kinds:
        model = fitted[kind]
        info = variants[f"svm_{kind}"] = fits[kind]
        info.update(_evaluate(model, X_sets, y_sets, classes, class_names, ece_bins,
                              prepare=svm_features))
        info.update(_search_record(model))
        if kind == "ova":
            info.update(aggregation=model.aggregation)
    if forest is not None:
        forest_info.update(_evaluate(forest, X_sets, y_sets, classes, class_names, ece_bins))
        variants["random_forest"] = forest_info

    areas = None
    if map_areas:
        from hrlc.model.olofsson import area_adjusted_accuracy

        area = [float(map_areas.get(c, map_areas.get(str(c), 0.0))) for c in classes.tolist()]
        counts = np.asarray(variants[bundle.variant]["test"]["confusion"]).T
        areas = area_adjusted_accuracy(counts, area, classes=classes, class_names=class_names)
    data = {"n_rows": int(len(samples)), "nonfinite": nonfinite, "features": len(names),
            "n_train_before_cap": int(len(y_all)), "n_train": int(len(y)),
            "split": split, "groups": cv_groups if groups is not None else "none (pixel folds)",
            "rows": {s: _class_counts(d["class"].to_numpy()) for s, d in
                     [("train", train), *held.items()]},
            "sha256": bundle.training["data_sha256"]}
    corr_before = correlation_matrix(Xs)
    return TrainResult(bundle=bundle, variants=variants, selection=selection_info, pca=pca_info,
                       correlation={"before": corr_before, "after": corr_before[np.ix_(sel, sel)],
                                    "names_before": names, "names_after": selected},
                       data=data, areas=areas, config=cfg)


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
            "method": model.calibration_, "by": "out-of-fold log loss",
            "log_loss": {m: v["log_loss"] for m, v in scores.items()},
            "ece": {m: v["ece"] for m, v in scores.items()}}
    return record


def _impute(X: np.ndarray, values: np.ndarray | None) -> np.ndarray:
    return X if values is None else np.where(np.isnan(X), values, X)


def _class_counts(y: np.ndarray) -> dict:
    codes, counts = np.unique(y, return_counts=True)
    return {str(c): int(n) for c, n in zip(codes.tolist(), counts)}
