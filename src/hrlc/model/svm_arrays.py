"""A fitted RBF SVM as plain arrays, in libsvm's convention (what the map predictor reads)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SvmArrays:
    """A fitted RBF SVM in libsvm's convention (``hrlc.mapping.RbfSvm`` adds the pair structure).

    Attributes
    ----------
    support_vectors : ndarray (n_sv, n_model_features), float64
        Grouped by class in ``classes`` order, ``n_support`` per class.
    dual_coef : ndarray (n_classes - 1, n_sv)
        libsvm's coefficients (scikit-learn's ``_dual_coef_``, *not* sign-flipped).
    intercept : ndarray (n_pairs,)
        libsvm's ``-rho`` per pair (0,1), (0,2) ... (``_intercept_``).
    n_support : ndarray (n_classes,)
    gamma : float
        ``K(x, s) = exp(-gamma * |x - s|^2)``.
    classes : ndarray (n_classes,)
        Class codes (multiclass) or ``[0, 1]`` (one-vs-all: 1 = the bundle's class k).

    Notes
    -----
    Pair (i, j) decision ``d = sum_{s in i} dual_coef[j-1, s] K(x, s) + sum_{s in j}
    dual_coef[i, s] K(x, s) + intercept[p]``; it votes for i when d > 0. scikit-learn's
    ``decision_function`` is ``-d`` for two classes and the one-vs-rest transform
    ``votes + conf / (3 (|conf| + 1))`` (conf: sum of d for i, minus for j) otherwise.
    """

    support_vectors: np.ndarray
    dual_coef: np.ndarray
    intercept: np.ndarray
    n_support: np.ndarray
    gamma: float
    classes: np.ndarray

    @classmethod
    def from_svc(cls, svc) -> SvmArrays:
        return cls(support_vectors=np.asarray(svc.support_vectors_, np.float64),
                   dual_coef=np.asarray(svc._dual_coef_, np.float64),
                   intercept=np.asarray(svc._intercept_, np.float64),
                   n_support=np.asarray(svc.n_support_, np.int64), gamma=float(svc._gamma),
                   classes=np.asarray(svc.classes_))
