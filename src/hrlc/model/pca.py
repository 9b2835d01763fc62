"""PCA with the number of components chosen by variance, by the scree elbow, or by both.

Rules (deterministic)
---------------------
- ``variance``: the smallest k whose cumulative explained-variance ratio reaches
  ``variance`` (e.g. 0.95).
- ``elbow``: on the scree curve (component 1..p against its explained-variance ratio),
  both axes scaled to [0, 1], the elbow is the point farthest *below* the straight line
  from the first to the last point (the knee of Satopaa et al. 2011, "Kneedle", without
  smoothing; ties go to the earlier point). The components *before* the elbow are kept
  (Cattell's convention: the elbow starts the flat tail), so three strong components
  followed by noise give k = 3. k is at least 1; a curve without a point below the line
  (e.g. a flat one) gives k = 1.
- ``average``: ceil((k_variance + k_elbow) / 2), the reference chain's compromise.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

PCA_RULES: tuple[str, ...] = ("none", "variance", "elbow", "average")


def variance_count(ratios: np.ndarray, threshold: float) -> int:
    """Smallest number of components whose cumulative variance ratio reaches ``threshold``."""
    if not 0 < threshold <= 1:
        raise ValueError(f"the variance threshold must be in (0, 1], got {threshold}")
    cumulative = np.cumsum(ratios) / np.sum(ratios)
    # 1e-12: a cumulative sum that lands exactly on the threshold must count as reaching it
    return int(min(np.searchsorted(cumulative, threshold - 1e-12) + 1, len(ratios)))


def elbow_count(ratios: np.ndarray) -> int:
    """Number of components at the elbow of a decreasing scree curve (module docstring)."""
    n = len(ratios)
    if n <= 2:
        return 1
    x = np.linspace(0.0, 1.0, n)
    span = ratios[0] - ratios[-1]
    if span <= 0:
        return 1
    y = (ratios - ratios[-1]) / span
    # distance below the chord y = 1 - x (up to a constant factor)
    below = (1.0 - x) - y
    elbow = int(np.argmax(below))  # 0-based position of the elbow point
    return max(elbow, 1) if below[elbow] > 0 else 1


class ScreePCA(TransformerMixin, BaseEstimator):
    """PCA keeping the number of components given by a rule (module docstring).

    Parameters
    ----------
    rule : {"variance", "elbow", "average"}
    variance : float
        Cumulative explained-variance threshold of the ``variance`` rule (0-1].

    Attributes
    ----------
    mean_ : ndarray (n_features_in_,)
    components_ : ndarray (n_components_, n_features_in_)
        Principal axes; ``transform(X) = (X - mean_) @ components_.T``.
    explained_variance_ratio_ : ndarray (n_features_in_ or n_samples,)
        Of *all* components (the scree curve), not just the kept ones.
    n_components_, n_variance_, n_elbow_ : int
        Kept components and the counts of the two rules.
    """

    def __init__(self, rule: Literal["variance", "elbow", "average"] = "average", *,
                 variance: float = 0.95):
        self.rule = rule
        self.variance = variance

    def fit(self, X, y=None):
        """Fit the principal axes on X (n_samples, n_features) and choose how many to keep."""
        from sklearn.decomposition import PCA

        X = validate_data(self, X, ensure_min_samples=2)
        if self.rule not in PCA_RULES[1:]:
            raise ValueError(f"unknown PCA rule {self.rule!r}; use one of "
                             f"{', '.join(PCA_RULES[1:])}")
        pca = PCA(svd_solver="full").fit(X)
        ratios = pca.explained_variance_ratio_
        if not np.all(np.isfinite(ratios)) or ratios.sum() <= 0:  # all features constant
            ratios = np.r_[1.0, np.zeros(len(ratios) - 1)]
        self.explained_variance_ratio_ = ratios
        self.n_variance_ = variance_count(ratios, self.variance)
        self.n_elbow_ = elbow_count(ratios)
        self.n_components_ = {"variance": self.n_variance_, "elbow": self.n_elbow_,
                              "average": math.ceil((self.n_variance_ + self.n_elbow_) / 2)
                              }[self.rule]
        self.mean_ = pca.mean_
        # contiguous: a bundle reloads it contiguous, and BLAS must take the same path
        self.components_ = np.ascontiguousarray(pca.components_[: self.n_components_])
        return self

    def transform(self, X):
        """Project X (n_samples, n_features_in_) on the kept axes: (n_samples, n_components_)."""
        check_is_fitted(self, "components_")
        X = validate_data(self, X, reset=False)
        return (X - self.mean_) @ self.components_.T

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "components_")
        return np.asarray([f"pc{i + 1}" for i in range(self.n_components_)], dtype=object)

    def summary(self) -> dict:
        """Counts and the scree curve, JSON-ready."""
        check_is_fitted(self, "components_")
        return {"rule": self.rule, "variance_threshold": self.variance,
                "n_components": int(self.n_components_), "n_variance": int(self.n_variance_),
                "n_elbow": int(self.n_elbow_),
                "explained_variance_ratio": [float(r) for r in self.explained_variance_ratio_],
                "kept_variance": float(self.explained_variance_ratio_[: self.n_components_].sum())}
