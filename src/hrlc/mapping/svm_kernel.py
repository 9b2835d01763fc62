"""Exact RBF-SVM decision values as one float32 matrix product per chunk of pixels.

scikit-learn's ``SVC.predict`` evaluates the kernel pixel by pixel inside libsvm; for a
tile of 10^8 pixels and thousands of support vectors that is hours. Here the kernel
between a chunk of pixels X (n, f) and all support vectors S (m, f) is

    K = exp(-gamma * (|x|^2 - 2 X S^T + |s|^2))

(one GEMM), and the decision values of all one-vs-one class pairs are a second GEMM
``K @ W`` where W (m, n_pairs) holds the dual coefficients of each pair's support
vectors (libsvm's layout, zeros elsewhere). Votes and the one-vs-rest shaped decision
function follow libsvm and scikit-learn exactly: a pair (i, j) votes for i when its
decision value is > 0, else for j; the predicted class is the first class with the
most votes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RbfSvm:
    """The arrays of a fitted RBF support-vector classifier, in libsvm's convention.

    Attributes
    ----------
    support_vectors : ndarray (n_sv, n_features)
        Grouped by class, in class order (``n_support`` per class).
    dual_coef : ndarray (n_classes - 1, n_sv)
        libsvm's dual coefficients (scikit-learn's private ``_dual_coef_``).
    intercept : ndarray (n_pairs,)
        ``-rho`` of each pair (0,1), (0,2), ..., (1,2), ... (``_intercept_``).
    n_support : ndarray (n_classes,)
        Number of support vectors of each class.
    gamma : float
        RBF kernel coefficient.
    classes : ndarray (n_classes,)
        Class labels in the order of ``n_support``.
    """

    support_vectors: np.ndarray
    dual_coef: np.ndarray
    intercept: np.ndarray
    n_support: np.ndarray
    gamma: float
    classes: np.ndarray

    @classmethod
    def from_sklearn(cls, svc) -> RbfSvm:
        """Take the arrays of a fitted ``sklearn.svm.SVC(kernel="rbf")``."""
        if getattr(svc, "kernel", None) != "rbf":
            raise ValueError(f"only RBF kernels are supported, got kernel={svc.kernel!r}")
        return cls(
            support_vectors=np.asarray(svc.support_vectors_, np.float64),
            dual_coef=np.asarray(svc._dual_coef_, np.float64),
            intercept=np.asarray(svc._intercept_, np.float64),
            n_support=np.asarray(svc.n_support_, np.int64),
            gamma=float(svc._gamma),
            classes=np.asarray(svc.classes_),
        )

    @property
    def pairs(self) -> list[tuple[int, int]]:
        n = len(self.n_support)
        return [(i, j) for i in range(n) for j in range(i + 1, n)]

    def pair_weights(self) -> np.ndarray:
        """W (n_sv, n_pairs): the dual coefficients of each pair's support vectors."""
        start = np.concatenate([[0], np.cumsum(self.n_support)])
        weights = np.zeros((self.support_vectors.shape[0], len(self.pairs)))
        for p, (i, j) in enumerate(self.pairs):
            si, sj = slice(start[i], start[i + 1]), slice(start[j], start[j + 1])
            weights[si, p] = self.dual_coef[j - 1, si]
            weights[sj, p] = self.dual_coef[i, sj]
        return weights


class FastRbfPredictor:
    """Pairwise decision values, votes and labels of an :class:`RbfSvm`, by GEMM.

    Parameters
    ----------
    model : RbfSvm
    dtype : numpy dtype
        float32 (default; the speed) or float64 (bit-for-bit labels with libsvm).
    """

    def __init__(self, model: RbfSvm, *, dtype=np.float32):
        self.model = model
        self.dtype = np.dtype(dtype)
        self._sv = model.support_vectors.astype(self.dtype)
        self._sv_sq = np.einsum("ij,ij->i", self._sv, self._sv)
        self._weights = model.pair_weights().astype(self.dtype)
        self._intercept = model.intercept.astype(self.dtype)

    def pairwise_decision(self, features: np.ndarray) -> np.ndarray:
        """libsvm decision values (n_pixels, n_pairs) for features (n_pixels, n_features)."""
        x = np.ascontiguousarray(features, dtype=self.dtype)
        sq_dist = x @ self._sv.T
        sq_dist *= -2
        sq_dist += np.einsum("ij,ij->i", x, x)[:, None]
        sq_dist += self._sv_sq[None, :]
        np.maximum(sq_dist, 0, out=sq_dist)  # rounding can make |x - s|^2 slightly negative
        sq_dist *= -self.model.gamma
        kernel = np.exp(sq_dist, out=sq_dist)
        return kernel @ self._weights + self._intercept

    def votes(self, decision: np.ndarray) -> np.ndarray:
        """One-vs-one votes (n_pixels, n_classes) from pairwise decision values."""
        n_classes = len(self.model.n_support)
        votes = np.zeros((decision.shape[0], n_classes), np.int32)
        for p, (i, j) in enumerate(self.model.pairs):
            wins_i = decision[:, p] > 0
            votes[:, i] += wins_i
            votes[:, j] += ~wins_i
        return votes

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Class labels (n_pixels,), as ``SVC.predict``."""
        return self.model.classes[np.argmax(self.votes(self.pairwise_decision(features)), axis=1)]

    def decision_function(self, features: np.ndarray) -> np.ndarray:
        """As ``SVC.decision_function`` with ``decision_function_shape="ovr"``.

        (n_pixels,) for two classes (positive favours ``classes[1]``), else
        (n_pixels, n_classes): votes plus a confidence term in (-1/3, 1/3).
        """
        decision = self.pairwise_decision(features).astype(np.float64)
        if len(self.model.n_support) == 2:
            return -decision[:, 0]
        n_classes = len(self.model.n_support)
        votes = np.zeros((decision.shape[0], n_classes))
        confidence = np.zeros_like(votes)
        for p, (i, j) in enumerate(self.model.pairs):
            confidence[:, i] += decision[:, p]
            confidence[:, j] -= decision[:, p]
            votes[:, i] += decision[:, p] >= 0
            votes[:, j] += decision[:, p] < 0
        return votes + confidence / (3 * (np.abs(confidence) + 1))
