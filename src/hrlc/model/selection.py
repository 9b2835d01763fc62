"""Feature selection: multicollinearity filtering with a hybrid ranking, RFECV, or none.

Multicollinearity filter (deterministic rule)
---------------------------------------------
1. Features with zero variance on the training samples are dropped.
2. Relevance of each feature to the class: mutual information
   (``mutual_info_classif``, fixed seed) or the ANOVA F statistic (``f_classif``).
3. Variance inflation factor ``VIF_j = [R^-1]_jj`` from the Pearson correlation matrix R
   (a ridge of 1e-9 on the diagonal keeps exactly collinear features finite, ~1e9).
4. Hybrid rank = rank of relevance (1 = most relevant) + rank of VIF (1 = least
   collinear); ties are broken by higher relevance, then by column order.
5. Features are visited best hybrid rank first; a feature is kept unless its absolute
   Pearson correlation with an already kept feature exceeds ``threshold``. Hence of every
   pair above the threshold the worse-ranked one is dropped, and no kept pair exceeds it.

RFECV
-----
scikit-learn's :class:`~sklearn.feature_selection.RFECV` with macro-F1 scoring and the
cross-validation splits given by the caller (grouped by spatial block). Importances come
from a linear SVM's coefficients or from permutation importances of an RBF SVM
(:class:`PermutationImportanceSVC`).

The selection step of training is :class:`FeatureSelector`: either of these, or none.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

SELECTIONS: tuple[str, ...] = ("none", "multicollinearity", "rfecv")


def correlation_matrix(X: np.ndarray) -> np.ndarray:
    """Pearson correlation (n_features, n_features) of X (n_samples, n_features); 0 for
    constant features (1 on the diagonal)."""
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    norm = np.sqrt((centred**2).sum(axis=0))
    safe = np.where(norm > 0, norm, 1.0)
    corr = (centred / safe).T @ (centred / safe)
    corr[norm == 0, :] = 0.0
    corr[:, norm == 0] = 0.0
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def variance_inflation(corr: np.ndarray, *, ridge: float = 1e-9) -> np.ndarray:
    """Variance inflation factors (n_features,) from a correlation matrix: diag(R^-1) >= 1."""
    n = corr.shape[0]
    if n == 1:
        return np.ones(1)
    inverse = np.linalg.inv(corr + ridge * np.eye(n))
    return np.maximum(np.diag(inverse), 1.0)


def relevance_scores(X: np.ndarray, y: np.ndarray, *, kind: str, random_state: int = 0,
                     ) -> np.ndarray:
    """Relevance (n_features,) of each feature to the class: mutual information (nats) or
    ANOVA F; NaN (constant features) become 0."""
    from sklearn.feature_selection import f_classif, mutual_info_classif

    if kind == "mutual_info":
        scores = mutual_info_classif(X, y, random_state=random_state)
    elif kind == "anova":
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = f_classif(X, y)[0]
    else:
        raise ValueError(f"unknown relevance {kind!r}; use 'mutual_info' or 'anova'")
    return np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0, posinf=np.finfo(float).max)


class MulticollinearityFilter(SelectorMixin, BaseEstimator):
    """Drop one feature of each highly correlated pair, choosing by relevance and VIF.

    See the module docstring for the exact rule.

    Parameters
    ----------
    threshold : float
        Largest absolute Pearson correlation allowed between two kept features (0-1].
    relevance : {"mutual_info", "anova"}
        Relevance score of the hybrid ranking.
    random_state : int
        Seed of the mutual-information estimator.

    Attributes
    ----------
    correlation_ : ndarray (n_features_in_, n_features_in_)
        Pearson correlation of the training features.
    relevance_, vif_ : ndarray (n_features_in_,)
    hybrid_rank_ : ndarray (n_features_in_,)
        Relevance rank + VIF rank (smaller is better).
    support_ : ndarray of bool (n_features_in_,)
    dropped_ : list of (int, int, float)
        (dropped feature, kept feature it correlates with, correlation); -1 and nan for
        constant features.
    """

    def __init__(self, threshold: float = 0.9, *,
                 relevance: Literal["mutual_info", "anova"] = "mutual_info",
                 random_state: int = 0):
        self.threshold = threshold
        self.relevance = relevance
        self.random_state = random_state

    def fit(self, X, y):
        """Rank the features of X (n_samples, n_features) against the classes y and filter."""
        from scipy.stats import rankdata

        X, y = validate_data(self, X, y, ensure_min_samples=2)
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        self.correlation_ = correlation_matrix(X)
        self.relevance_ = relevance_scores(X, y, kind=self.relevance,
                                           random_state=self.random_state)
        self.vif_ = variance_inflation(self.correlation_)
        self.hybrid_rank_ = rankdata(-self.relevance_) + rankdata(self.vif_)
        constant = np.ptp(X, axis=0) == 0
        order = np.lexsort((np.arange(X.shape[1]), -self.relevance_, self.hybrid_rank_))
        kept: list[int] = []
        self.dropped_ = [(int(j), -1, float("nan")) for j in np.flatnonzero(constant)]
        for j in order:
            if constant[j]:
                continue
            corr = np.abs(self.correlation_[j, kept]) if kept else np.zeros(0)
            if corr.size and corr.max() > self.threshold:
                worst = int(np.argmax(corr))
                self.dropped_.append((int(j), kept[worst], float(self.correlation_[j, kept[worst]])))
            else:
                kept.append(int(j))
        if not kept:  # every feature constant: keep the first so the pipeline stays defined
            kept = [0]
        self.support_ = np.zeros(X.shape[1], dtype=bool)
        self.support_[kept] = True
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_


class PermutationImportanceSVC(ClassifierMixin, BaseEstimator):
    """An RBF SVM whose ``feature_importances_`` are permutation importances (macro-F1).

    Used as the estimator of RFECV when ``importance="permutation"``: importances are
    measured on the samples the SVM was fitted on (RFECV scores each step on held-out
    blocks, so this does not bias the choice of the number of features).

    Parameters
    ----------
    C, gamma : float, float or "scale"
        RBF SVM parameters.
    n_repeats : int
        Permutations per feature.
    class_weight : None, "balanced" or dict
    random_state : int
    """

    def __init__(self, C: float = 10.0, gamma="scale", *, n_repeats: int = 3,
                 class_weight=None, random_state: int = 0):
        self.C = C
        self.gamma = gamma
        self.n_repeats = n_repeats
        self.class_weight = class_weight
        self.random_state = random_state

    def fit(self, X, y):
        from sklearn.inspection import permutation_importance
        from sklearn.svm import SVC

        X, y = validate_data(self, X, y)
        self.svc_ = SVC(C=self.C, gamma=self.gamma, class_weight=self.class_weight).fit(X, y)
        self.classes_ = self.svc_.classes_
        result = permutation_importance(self.svc_, X, y, scoring="f1_macro",
                                        n_repeats=self.n_repeats,
                                        random_state=self.random_state)
        self.feature_importances_ = result.importances_mean
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.svc_.predict(X)


def make_rfecv(*, importance: Literal["linear_svm", "permutation"] = "linear_svm",
               step: float = 0.05, min_features: int = 1, cv=3, class_weight=None,
               n_jobs: int | None = None, random_state: int = 0):
    """An unfitted RFECV scored by macro-F1.

    Parameters
    ----------
    importance : {"linear_svm", "permutation"}
        Linear SVM coefficients (fast) or permutation importances of an RBF SVM.
    step : float
        Features removed per step: an int >= 1, or a fraction of the initial count.
    min_features : int
        Fewest features to keep.
    cv : int or list of (train, test) index pairs
        Cross-validation; pass splits grouped by spatial block.
    """
    from sklearn.feature_selection import RFECV
    from sklearn.svm import LinearSVC

    if importance == "linear_svm":
        estimator = LinearSVC(C=1.0, class_weight=class_weight, max_iter=5000,
                              random_state=random_state)
    elif importance == "permutation":
        estimator = PermutationImportanceSVC(class_weight=class_weight,
                                             random_state=random_state)
    else:
        raise ValueError(f"unknown importance {importance!r}; use 'linear_svm' or 'permutation'")
    step = int(step) if step >= 1 else float(step)
    return RFECV(clone(estimator), step=step, min_features_to_select=min_features, cv=cv,
                 scoring="f1_macro", n_jobs=n_jobs)


class FeatureSelector(SelectorMixin, BaseEstimator):
    """The selection step of training: ``none``, ``multicollinearity`` or ``rfecv``.

    Parameters
    ----------
    method : {"none", "multicollinearity", "rfecv"}
        ``none`` keeps every feature; the others as :class:`MulticollinearityFilter`
        and :func:`make_rfecv`.
    threshold : float
        Largest absolute correlation between two kept features (multicollinearity, 0-1].
    relevance : {"mutual_info", "anova"}
        Relevance score of the multicollinearity ranking.
    importance : {"linear_svm", "permutation"}
        Importance of RFECV.
    step : float
        Features RFECV removes per step: a count >= 1, or a fraction of them.
    min_features : int
        Fewest features RFECV keeps (at most the number of features).
    n_folds : int
        Cross-validation folds of RFECV, stratified and grouped by the ``groups`` given
        to :meth:`fit` (spatial blocks), as the SVM search's.
    class_weight : None, "balanced" or dict
        Of the RFECV estimator.
    scaler : unfitted scikit-learn scaler or None
        When given, fitted on X and the features are chosen on the scaled values while
        :meth:`transform` passes the chosen columns through unscaled (the random forest
        reads unscaled features); None: X comes scaled.
    n_jobs : int or None
        RFECV workers (joblib convention).
    random_state : int
        Seed of the mutual information, the folds and the RFECV estimator.

    Attributes
    ----------
    support_ : ndarray of bool (n_features_in_,)
    selector_ : MulticollinearityFilter, RFECV or None
        The fitted selector (None for ``none``).
    scaler_ : fitted scaler or None
    """

    def __init__(self, method: Literal["none", "multicollinearity", "rfecv"]
                 = "multicollinearity", *, threshold: float = 0.9,
                 relevance: Literal["mutual_info", "anova"] = "mutual_info",
                 importance: Literal["linear_svm", "permutation"] = "linear_svm",
                 step: float = 0.05, min_features: int = 5, n_folds: int = 3,
                 class_weight=None, scaler=None, n_jobs: int | None = None,
                 random_state: int = 0):
        self.method = method
        self.threshold = threshold
        self.relevance = relevance
        self.importance = importance
        self.step = step
        self.min_features = min_features
        self.n_folds = n_folds
        self.class_weight = class_weight
        self.scaler = scaler
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y, groups=None):
        """Choose features of X (n_samples, n_features) for the classes y; ``groups``
        (n_samples,): spatial block of each sample, grouping the RFECV folds."""
        from sklearn.utils.multiclass import check_classification_targets

        X, y = validate_data(self, X, y, ensure_min_samples=2)
        check_classification_targets(y)
        if self.method not in SELECTIONS:
            raise ValueError(f"unknown selection {self.method!r}; use one of "
                             f"{', '.join(SELECTIONS)}")
        self.scaler_ = None if self.scaler is None else clone(self.scaler).fit(X)
        Xs = X if self.scaler_ is None else self.scaler_.transform(X)
        if self.method == "none":
            self.selector_ = None
            self.support_ = np.ones(X.shape[1], dtype=bool)
            return self
        if self.method == "multicollinearity":
            self.selector_ = MulticollinearityFilter(self.threshold, relevance=self.relevance,
                                                     random_state=self.random_state)
        else:
            from hrlc.model._grid_svm import cv_splits

            splits = cv_splits(y, groups, n_folds=self.n_folds, random_state=self.random_state)
            self.selector_ = make_rfecv(importance=self.importance, step=self.step,
                                        min_features=min(self.min_features, X.shape[1]),
                                        cv=splits, class_weight=self.class_weight,
                                        n_jobs=self.n_jobs, random_state=self.random_state)
        self.support_ = np.asarray(self.selector_.fit(Xs, y).get_support(), dtype=bool)
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_

    def summary(self, feature_names: list[str]) -> dict | None:
        """:func:`selection_summary` of the fitted selector (None for ``none``)."""
        check_is_fitted(self, "support_")
        return None if self.selector_ is None else selection_summary(self.selector_,
                                                                     feature_names)


def selection_summary(selector, feature_names: list[str]) -> dict:
    """Selected and dropped feature names and, per method, the evidence (JSON-ready)."""
    support = selector.get_support()
    summary: dict = {
        "selected": [n for n, keep in zip(feature_names, support) if keep],
        "dropped": [n for n, keep in zip(feature_names, support) if not keep],
    }
    if isinstance(selector, MulticollinearityFilter):
        summary["method"] = "multicollinearity"
        summary["threshold"] = selector.threshold
        summary["reasons"] = {
            feature_names[d]: ("constant" if k < 0 else
                               f"|r| = {abs(r):.3f} with {feature_names[k]}")
            for d, k, r in selector.dropped_}
        summary["relevance"] = dict(zip(feature_names, map(float, selector.relevance_)))
        summary["vif"] = dict(zip(feature_names, map(float, selector.vif_)))
    else:
        summary["method"] = "rfecv"
        scores = selector.cv_results_
        summary["n_features_curve"] = [int(n) for n in scores["n_features"]]
        summary["mean_f1_macro_curve"] = [float(s) for s in scores["mean_test_score"]]
        summary["ranking"] = dict(zip(feature_names, map(int, selector.ranking_)))
    return summary
