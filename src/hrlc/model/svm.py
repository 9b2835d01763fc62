"""RBF support-vector classifiers: multiclass (one-vs-one, calibrated or not) and
one-vs-all (calibrated).

Both search C and gamma on a grid by cross-validation grouped by spatial block
(``GridSearchCV`` over precomputed ``StratifiedGroupKFold`` splits, parallel through joblib)
and calibrate with ``CalibratedClassifierCV(ensemble=False)`` on the same splits: the SVM
is fitted once on all samples and its calibrators on out-of-fold decision values, so a
map needs one SVM (not one per fold). ``SVC(probability=True)`` is not used.

gamma is searched as multiples (``gamma_factors``) of scikit-learn's ``"scale"`` value
``1 / (n_features * var(X))``, so one grid suits any number of features.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from hrlc.model._checks import TrainingDataError, check_classes, check_fold_classes
from hrlc.model.calibration import AGGREGATIONS, calibrated_parts, probabilities_from_scores

LABEL_RULES: tuple[str, ...] = ("decision", "probability")


def cv_splits(y: np.ndarray, groups: np.ndarray | None, *, n_folds: int,
              random_state: int = 0, groups_by: str = "block",
              class_names: Mapping | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation splits: stratified and grouped by spatial block when ``groups``.

    ``groups_by`` (``"block"`` or ``"polygon"``, the ``cv_groups`` option) and
    ``class_names`` (code -> name) only word the messages.

    Raises
    ------
    TrainingDataError
        Fewer groups than folds, or a class missing from a training fold.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    y = np.asarray(y)
    if groups is None:
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=random_state)
        splits = list(splitter.split(np.zeros(len(y)), y))
    else:
        groups = np.asarray(groups)
        n_groups = np.unique(groups).size
        if n_groups < n_folds:
            raise TrainingDataError(
                f"the samples lie in {n_groups} polygon(s), fewer than the {n_folds} "
                "cross-validation folds grouped by polygon (cv_groups: polygon); add polygons "
                "or lower cv_folds" if groups_by == "polygon" else
                f"the samples lie in {n_groups} spatial block(s), fewer than the {n_folds} "
                "cross-validation folds; use smaller blocks or lower cv_folds")
        splitter = StratifiedGroupKFold(n_folds, shuffle=True, random_state=random_state)
        splits = list(splitter.split(np.zeros(len(y)), y, groups))
    check_fold_classes(y, splits, class_names=class_names, groups=groups, groups_by=groups_by)
    return splits


def gamma_scale(X: np.ndarray) -> float:
    """scikit-learn's ``gamma="scale"``: 1 / (n_features * var(X)), 1 when var(X) = 0."""
    variance = float(np.asarray(X, dtype=np.float64).var())
    return 1.0 / (X.shape[1] * variance) if variance > 0 else 1.0


def grid_search(svc, X, y, splits, *, Cs, gammas, scoring: str, n_jobs,
                sample_weight=None) -> tuple[dict, list]:
    """Best (C, gamma) of an SVC by cross-validation; ties go to the first grid point.

    Returns
    -------
    best : dict
        ``{"C": ..., "gamma": ...}``.
    results : list of dict
        C, gamma, mean and std of the test score for each grid point.
    """
    import warnings

    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(svc, {"C": list(Cs), "gamma": list(gammas)}, scoring=scoring,
                          cv=splits, n_jobs=n_jobs, refit=False, error_score=np.nan)
    with warnings.catch_warnings():
        # a test fold without positives makes ROC AUC undefined there: scored as NaN
        warnings.simplefilter("ignore", UserWarning)
        search.fit(X, y, **({} if sample_weight is None else {"sample_weight": sample_weight}))
    results = search.cv_results_
    folds = np.column_stack([results[f"split{k}_test_score"] for k in range(len(splits))])
    finite = np.isfinite(folds)
    if not finite.any(axis=1).all():
        raise TrainingDataError(f"a grid point scored in no fold ({scoring}); check that the "
                                "test part of each cross-validation fold holds every class")
    # a fold whose test part lacks the positive class has no ROC AUC: average the others
    means = np.where(finite, folds, 0).sum(axis=1) / finite.sum(axis=1)
    stds = np.array([np.std(row[ok]) for row, ok in zip(folds, finite)])
    table = [{"C": float(p["C"]), "gamma": float(p["gamma"]), "mean": float(m), "std": float(s)}
             for p, m, s in zip(results["params"], means, stds)]
    best = int(np.argmax(means))
    return {"C": table[best]["C"], "gamma": table[best]["gamma"]}, table


class _GridSVM(ClassifierMixin, BaseEstimator):
    """Shared fit logic: validation, splits, gamma grid (see subclasses)."""

    def _prepare(self, X, y, groups):
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        if self.labels not in LABEL_RULES:
            raise ValueError(f"labels must be one of {LABEL_RULES}, got {self.labels!r}")
        if self.calibration not in (None, "isotonic", "sigmoid"):
            raise ValueError(f"calibration must be 'isotonic', 'sigmoid' or None, got "
                             f"{self.calibration!r}")
        if len(self.C) == 0 or len(self.gamma_factors) == 0:
            raise ValueError("the C and gamma_factors grids must not be empty")
        self.classes_ = check_classes(y, n_folds=self.n_folds)
        splits = cv_splits(y, groups, n_folds=self.n_folds, random_state=self.random_state)
        self.gamma_scale_ = gamma_scale(X)
        gammas = [float(f) * self.gamma_scale_ for f in self.gamma_factors]
        return X, y, splits, gammas

    def _fit_one(self, X, y, splits, gammas, *, sample_weight, scoring):
        """Grid search, then the SVM on all samples and its calibrators.

        Class weights arrive as per-sample weights: libsvm multiplies C by them exactly as
        by ``class_weight``, and ``CalibratedClassifierCV`` also weights the calibration
        with them, so the weights shift the probabilities too (and the labels when they
        follow the probabilities).
        """
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import SVC

        svc = SVC(kernel="rbf", cache_size=self.cache_size)
        best, table = grid_search(svc, X, y, splits, Cs=self.C, gammas=gammas, scoring=scoring,
                                  n_jobs=self.n_jobs, sample_weight=sample_weight)
        svc.set_params(**best)
        if self.calibration is None:
            return svc.fit(X, y, sample_weight=sample_weight), None, best, table
        ccv = CalibratedClassifierCV(svc, method=self.calibration, cv=splits, ensemble=False,
                                     n_jobs=self.n_jobs).fit(X, y, sample_weight=sample_weight)
        fitted, calibrators = calibrated_parts(ccv)
        return fitted, calibrators, best, table

    def predict(self, X):
        """Class codes (n_samples,), by the ``labels`` rule."""
        X = self._check(X)
        if self.labels == "probability" and self._has_proba():
            return self.classes_[np.argmax(self._proba(X), axis=1)]
        return self._decision_labels(X)

    def decision_scores(self, X):
        """The SVM decision values of X (see :meth:`_scores` of each classifier)."""
        return self._scores(self._check(X))

    def _check(self, X):
        check_is_fitted(self, "classes_")
        return validate_data(self, X, reset=False)


class MulticlassSVM(_GridSVM):
    """One RBF ``SVC`` (one-vs-one) with a grid search over C and gamma, calibrated.

    Parameters
    ----------
    C : sequence of float
        Grid of the penalty C.
    gamma_factors : sequence of float
        Grid of gamma, as multiples of ``1 / (n_features * var(X))``.
    calibration : {"isotonic", "sigmoid"} or None
        Calibration of the one-vs-rest decision values; ``None``: the uncalibrated SVM,
        labels by its vote and no ``predict_proba`` (libsvm's vote is no probability).
    labels : {"decision", "probability"}
        ``decision``: the SVM's own label (the one-vs-one vote; one-vs-all: the largest
        binary decision value), so calibration never changes a label, accuracy or
        macro-F1; ``argmax(predict_proba)`` may then differ from ``predict`` on a few
        samples, as with libsvm's own probabilities. ``probability``: the most probable
        class (consistent with the probabilities; on imbalanced classes it favours the
        frequent ones: higher accuracy, lower macro-F1).
    n_folds : int
        Cross-validation folds (grouped by the ``groups`` passed to ``fit``).
    class_weight : None, "balanced" or dict
        As ``SVC(class_weight=...)``, applied as sample weights to the SVM *and* its
        calibration, so that the weights move the probabilities and labels.
    n_jobs : int or None
        joblib workers of the grid search and the calibration.
    cache_size : float
        libsvm kernel cache, MB.
    random_state : int
        Seed of the fold assignment.

    Attributes
    ----------
    svc_ : sklearn.svm.SVC
        Fitted on all samples with the best parameters.
    calibrators_ : list of Calibrator or None
        One per class (one for two classes), on ``svc_.decision_function``.
    best_params_ : dict
    cv_results_ : list of dict
    gamma_scale_ : float
    n_support_vectors_ : int
    """

    def __init__(self, C=(1.0, 10.0, 100.0), gamma_factors=(0.3, 1.0, 3.0), *,
                 calibration: Literal["isotonic", "sigmoid"] | None = "isotonic",
                 labels: Literal["decision", "probability"] = "decision",
                 n_folds: int = 3, class_weight=None, n_jobs: int | None = None,
                 cache_size: float = 500.0, random_state: int = 0):
        self.C = C
        self.gamma_factors = gamma_factors
        self.calibration = calibration
        self.labels = labels
        self.n_folds = n_folds
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.cache_size = cache_size
        self.random_state = random_state

    def fit(self, X, y, groups=None):
        """Fit on X (n_samples, n_features) and class codes y; ``groups``: spatial blocks."""
        if self.calibration is None and self.labels == "probability":
            raise ValueError("labels='probability' needs calibrated probabilities, got "
                             "calibration=None; set calibration or use labels='decision'")
        X, y, splits, gammas = self._prepare(X, y, groups)
        weight = None if self.class_weight is None else compute_sample_weight(
            self.class_weight, y)
        self.svc_, self.calibrators_, self.best_params_, self.cv_results_ = self._fit_one(
            X, y, splits, gammas, sample_weight=weight, scoring="f1_macro")
        self.n_support_vectors_ = int(self.svc_.n_support_.sum())
        return self

    def _has_proba(self):
        return self.calibration is not None

    def _scores(self, X):
        """``SVC.decision_function`` (one-vs-rest shape): (n_samples, n_classes), or
        (n_samples,) for two classes (positive favours ``classes_[1]``)."""
        return self.svc_.decision_function(X)

    def _decision_labels(self, X):
        return self.svc_.predict(X)  # the one-vs-one vote

    def _proba(self, X):
        return probabilities_from_scores(self._scores(X), self.calibrators_,
                                         aggregation="normalise")

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Calibrated probabilities (n_samples, n_classes), rows summing to 1."""
        return self._proba(self._check(X))


class OneVsAllSVM(_GridSVM):
    """One calibrated binary RBF SVM per class, each with its own C/gamma search.

    Parameters
    ----------
    aggregation : {"normalise", "softmax", "score_softmax"}
        How the calibrated binary probabilities u become class probabilities:
        ``normalise``: ``u / sum(u)``; ``softmax``: ``softmax(u / temperature)`` (the
        reference chain's rule); ``score_softmax``: ``softmax(f / temperature)`` over the
        raw binary decision values f, calibration unused.
    temperature : float
        Of both softmaxes.
    scoring : str
        Score of each binary grid search (default ROC AUC: the ranking of decision values
        is what the aggregation uses).
    (other parameters as :class:`MulticlassSVM`; a dict ``class_weight`` weights every
    sample by its class's weight in every binary problem, "balanced" balances each binary
    problem.)

    Attributes
    ----------
    svcs_ : list of sklearn.svm.SVC
        Binary SVMs (labels 0 = rest, 1 = the class), in ``classes_`` order.
    calibrators_ : list of Calibrator or None
    best_params_, cv_results_ : list
        Per class.
    n_support_vectors_ : int
        Sum over the binary SVMs; ``n_unique_support_vectors_`` counts shared training
        samples once.
    """

    def __init__(self, C=(1.0, 10.0, 100.0), gamma_factors=(0.3, 1.0, 3.0), *,
                 calibration: Literal["isotonic", "sigmoid"] | None = "isotonic",
                 aggregation: Literal["normalise", "softmax", "score_softmax"] = "normalise",
                 temperature: float = 1.0,
                 labels: Literal["decision", "probability"] = "decision",
                 scoring: str = "roc_auc", n_folds: int = 3, class_weight=None,
                 n_jobs: int | None = None, cache_size: float = 500.0, random_state: int = 0):
        self.C = C
        self.gamma_factors = gamma_factors
        self.calibration = calibration
        self.labels = labels
        self.aggregation = aggregation
        self.temperature = temperature
        self.scoring = scoring
        self.n_folds = n_folds
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.cache_size = cache_size
        self.random_state = random_state

    def fit(self, X, y, groups=None):
        """Fit on X (n_samples, n_features) and class codes y; ``groups``: spatial blocks."""
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got "
                             f"{self.aggregation!r}")
        if self.aggregation != "score_softmax" and self.calibration is None:
            raise ValueError(f"aggregation={self.aggregation!r} needs calibrated binary "
                             "probabilities; set calibration or use "
                             "aggregation='score_softmax'")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        X, y, splits, gammas = self._prepare(X, y, groups)
        parts = []
        for code in self.classes_:
            target = (y == code).astype(int)
            parts.append(self._fit_one(X, target, splits, gammas, scoring=self.scoring,
                                       sample_weight=self._binary_weight(y, target)))
        self.svcs_ = [p[0] for p in parts]
        self.calibrators_ = None if self.calibration is None else [p[1][0] for p in parts]
        self.best_params_ = [p[2] for p in parts]
        self.cv_results_ = [p[3] for p in parts]
        self.n_support_vectors_ = int(sum(s.support_.size for s in self.svcs_))
        self.n_unique_support_vectors_ = int(np.unique(
            np.concatenate([s.support_ for s in self.svcs_])).size)
        return self

    def _binary_weight(self, y, target):
        if self.class_weight is None:
            return None
        if isinstance(self.class_weight, str):
            return compute_sample_weight(self.class_weight, target)
        return compute_sample_weight(self.class_weight, y)

    def _has_proba(self):
        return True

    def _scores(self, X):
        """Binary decision values (n_samples, n_classes): column k favours class k."""
        return np.column_stack([svc.decision_function(X) for svc in self.svcs_])

    def _decision_labels(self, X):
        return self.classes_[np.argmax(self._scores(X), axis=1)]

    def _proba(self, X):
        return probabilities_from_scores(self._scores(X), self.calibrators_,
                                         aggregation=self.aggregation,
                                         temperature=self.temperature)

    def predict_proba(self, X):
        """Probabilities (n_samples, n_classes), rows summing to 1."""
        return self._proba(self._check(X))


def uncalibrated(model: MulticlassSVM) -> MulticlassSVM:
    """A fitted calibrated :class:`MulticlassSVM` without its calibration.

    ``CalibratedClassifierCV(ensemble=False)`` fits the SVM on all samples exactly as
    ``fit`` with ``calibration=None`` does (same grid search, same folds, same weights),
    so the SVM is shared rather than searched and fitted again: the result predicts
    what ``MulticlassSVM(calibration=None, labels="decision", ...).fit`` would (its
    vote), and has no ``predict_proba``.
    """
    check_is_fitted(model, "svc_")
    if model.calibration is None:
        return model
    bare = clone(model).set_params(calibration=None, labels="decision")
    for name, value in vars(model).items():
        if name.endswith("_") and not name.startswith("_"):
            setattr(bare, name, value)
    bare.calibrators_ = None
    return bare
