"""What the RBF SVM classifiers of :mod:`hrlc.model.svm` share: cross-validation splits,
the gamma scale, validation and the search."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from hrlc.model._checks import TrainingDataError, check_classes, check_fold_classes
from hrlc.model.calibration_choice import METHODS
from hrlc.model.kernel_search import kernel_search

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


class _GridSVM(ClassifierMixin, BaseEstimator):
    """Shared fit logic: validation, splits, gamma grid, search (see subclasses)."""

    _CALIBRATIONS = (None, "auto", *METHODS)

    def _prepare(self, X, y, groups):
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        if self.labels not in LABEL_RULES:
            raise ValueError(f"labels must be one of {LABEL_RULES}, got {self.labels!r}")
        if self.calibration not in self._CALIBRATIONS:
            raise ValueError(f"calibration must be one of {self._CALIBRATIONS}, got "
                             f"{self.calibration!r}")
        if len(self.C) == 0 or len(self.gamma_factors) == 0:
            raise ValueError("the C and gamma_factors grids must not be empty")
        if not (isinstance(self.class_weight, dict) or self.class_weight in (
                None, "balanced", "auto")):
            raise ValueError("class_weight must be None, 'balanced', 'auto' or a dict code "
                             f"-> weight, got {self.class_weight!r}")
        if int(self.halving_factor) != self.halving_factor or self.halving_factor < 1:
            raise ValueError("halving_factor must be a whole number >= 1 (1: no halving), "
                             f"got {self.halving_factor!r}")
        self.classes_ = check_classes(y, n_folds=self.n_folds)
        splits = cv_splits(y, groups, n_folds=self.n_folds, random_state=self.random_state)
        self.gamma_scale_ = gamma_scale(X)
        gammas = [float(f) * self.gamma_scale_ for f in self.gamma_factors]
        return X, y, splits, gammas

    def _weightings(self, y, target) -> dict:
        """Weightings searched: name -> per-sample weights of ``target``'s problem.

        "balanced" balances ``target`` (the binary problem of one-vs-all); a dict weights
        every sample by its class in ``y``. Class weights act as per-sample weights: libsvm
        multiplies C by them exactly as by ``class_weight``.
        """
        cw = self.class_weight
        if cw is None:
            return {"none": None}
        if isinstance(cw, dict):
            return {"given": compute_sample_weight(cw, y)}
        balanced = {"balanced": compute_sample_weight("balanced", target)}
        return balanced if cw == "balanced" else {"none": None, **balanced}

    def _search(self, X, target, splits, gammas, weightings, *, scoring, pooled):
        return kernel_search(
            X, target, splits, Cs=[float(c) for c in self.C], gammas=gammas,
            weightings=weightings, scoring=scoring, pooled=pooled, n_jobs=self.n_jobs,
            cache_size=self.cache_size, halving_factor=int(self.halving_factor),
            kernel_memory_mb=self.kernel_memory_mb, random_state=self.random_state)

    def _chosen_weight(self, name: str):
        return {"none": None, "balanced": "balanced", "given": self.class_weight}[name]

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
