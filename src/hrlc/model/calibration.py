"""Calibrators as plain arrays, class probabilities from decision scores, expected
calibration error and reliability curves.

The calibrators are fitted by scikit-learn's ``CalibratedClassifierCV`` and kept as the
arrays that define them, so that the bundle and a fast predictor apply exactly the same
formula without scikit-learn objects:

- isotonic: ``p = interp(f, x, y)`` (piecewise linear through the thresholds, constant
  beyond them, as ``IsotonicRegression(out_of_bounds="clip")``);
- sigmoid (Platt): ``p = 1 / (1 + exp(a * f + b))``;
- temperature: ``u = exp(a * (f - b))`` with ``a`` = 1 / T and ``b`` the upper bound of
  the decision values, one per class: normalising the columns (the multiclass rule) gives
  ``softmax(f / T)``, so temperature scaling needs no other field than a calibrator's
  (``u`` alone is no probability; ``b`` keeps ``exp`` from overflowing).

Fitting and choosing among them: :mod:`hrlc.model.calibration_choice`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

CALIBRATIONS: tuple[str, ...] = ("isotonic", "sigmoid", "temperature")
#: How one-vs-all binary outputs become class probabilities (see
#: :func:`probabilities_from_scores`).
AGGREGATIONS: tuple[str, ...] = ("normalise", "softmax", "score_softmax")


@dataclass(frozen=True)
class Calibrator:
    """One class's map from an SVM decision value to a probability.

    Attributes
    ----------
    method : {"isotonic", "sigmoid", "temperature"}
    x, y : ndarray (n_thresholds,)
        Isotonic thresholds (increasing decision values) and their probabilities.
    a, b : float
        Platt sigmoid parameters; temperature: inverse temperature and shift.
    """

    method: Literal["isotonic", "sigmoid", "temperature"]
    x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    y: np.ndarray = field(default_factory=lambda: np.zeros(0))
    a: float = 0.0
    b: float = 0.0

    @classmethod
    def from_sklearn(cls, calibrator) -> Calibrator:
        """From a fitted ``IsotonicRegression`` or scikit-learn's sigmoid calibrator."""
        if hasattr(calibrator, "X_thresholds_"):
            if calibrator.increasing_ is not True or calibrator.out_of_bounds != "clip":
                raise ValueError("only increasing, clipped isotonic calibrators are supported")
            return cls("isotonic", x=np.asarray(calibrator.X_thresholds_, np.float64),
                       y=np.asarray(calibrator.y_thresholds_, np.float64))
        if hasattr(calibrator, "a_"):
            return cls("sigmoid", a=float(calibrator.a_), b=float(calibrator.b_))
        raise TypeError(f"unsupported calibrator {type(calibrator).__name__}")

    def predict(self, decision: np.ndarray) -> np.ndarray:
        """Probabilities (n,) from decision values (n,) (temperature: the unnormalised
        softmax term, see the module)."""
        decision = np.asarray(decision, dtype=np.float64)
        if self.method == "isotonic":
            return np.interp(decision, self.x, self.y)
        if self.method == "temperature":
            return np.exp(self.a * (decision - self.b))
        from scipy.special import expit

        return expit(-(self.a * decision + self.b))


def normalise_probabilities(proba: np.ndarray) -> np.ndarray:
    """Rows divided by their sum; rows summing to 0 become uniform (scikit-learn's rule)."""
    total = proba.sum(axis=1, keepdims=True)
    uniform = np.full_like(proba, 1.0 / proba.shape[1])
    return np.divide(proba, total, out=uniform, where=total != 0)


def softmax(scores: np.ndarray, *, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of scores (n, k) / temperature (max-shifted, so never overflows)."""
    z = np.asarray(scores, dtype=np.float64) / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def probabilities_from_scores(scores: np.ndarray, calibrators: list[Calibrator] | None, *,
                              aggregation: str = "normalise", temperature: float = 1.0,
                              ) -> np.ndarray:
    """Class probabilities (n, n_classes) from decision scores, as the classifiers do.

    Parameters
    ----------
    scores : ndarray (n, n_classes), or (n,) for a two-class multiclass SVM
        Decision values (multiclass: one-vs-rest shaped; one-vs-all: binary).
    calibrators : list of Calibrator or None
        One per column (one in the two-class case: ``p1 = cal(f)``, ``p0 = 1 - p1``,
        whatever the aggregation). Not used by ``score_softmax``.
    aggregation : {"normalise", "softmax", "score_softmax"}
        With ``u_k = calibrators[k](scores[:, k])``, the calibrated binary
        probabilities: ``normalise``: ``u_k / sum(u)`` (uniform when the sum is 0);
        ``softmax``: ``softmax(u / temperature)``, the reference chain's rule (its
        temperature is 1); ``score_softmax``: ``softmax(scores / temperature)`` over the
        raw decision values, calibration unused (format 1 bundles called it
        ``softmax``).
    temperature : float
        Of both softmaxes.
    """
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    scores = np.asarray(scores, dtype=np.float64)
    if aggregation == "score_softmax":
        return softmax(scores, temperature=temperature)
    if calibrators is None:
        raise ValueError(f"aggregation={aggregation!r} needs calibrated binary "
                         "probabilities; set calibration or use aggregation='score_softmax'")
    if scores.ndim == 1:
        p1 = calibrators[0].predict(scores)
        return np.column_stack([1.0 - p1, p1])
    calibrated = np.column_stack([c.predict(scores[:, k]) for k, c in enumerate(calibrators)])
    if aggregation == "softmax":
        return softmax(calibrated, temperature=temperature)
    return normalise_probabilities(calibrated)


def _bin_index(values: np.ndarray, n_bins: int) -> np.ndarray:
    # bins (0, 1/n], (1/n, 2/n], ...; 0 goes into the first bin
    return np.clip(np.ceil(values * n_bins).astype(int) - 1, 0, n_bins - 1)


def expected_calibration_error(y_index: np.ndarray, proba: np.ndarray, *, n_bins: int = 10,
                               ) -> float:
    """Top-label expected calibration error.

    ``ECE = sum_b |B_b| / N * |accuracy(B_b) - mean confidence(B_b)|`` over ``n_bins``
    equal-width bins of the predicted class's probability.

    Parameters
    ----------
    y_index : ndarray (n,)
        True class as a column index of ``proba``.
    proba : ndarray (n, n_classes)
        Predicted probabilities.
    n_bins : int

    Returns
    -------
    float
        0 (perfect) to 1.
    """
    proba = np.asarray(proba, dtype=np.float64)
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == np.asarray(y_index)).astype(float)
    bins = _bin_index(confidence, n_bins)
    total = 0.0
    for b in range(n_bins):
        members = bins == b
        if members.any():
            total += members.sum() * abs(correct[members].mean() - confidence[members].mean())
    return float(total / max(len(confidence), 1))


def reliability_curves(y_index: np.ndarray, proba: np.ndarray, *, n_bins: int = 10,
                       ) -> list[dict[str, list[float]]]:
    """Per class (one-vs-rest): mean predicted probability, observed frequency and count
    of each non-empty equal-width bin.

    Returns
    -------
    list of dict
        One per column of ``proba``: ``predicted``, ``observed``, ``count`` lists, and
        ``ece``: that class's binned calibration error (same formula as above).
    """
    proba = np.asarray(proba, dtype=np.float64)
    curves = []
    for k in range(proba.shape[1]):
        p = proba[:, k]
        hit = (np.asarray(y_index) == k).astype(float)
        bins = _bin_index(p, n_bins)
        predicted, observed, count = [], [], []
        for b in range(n_bins):
            members = bins == b
            if members.any():
                predicted.append(float(p[members].mean()))
                observed.append(float(hit[members].mean()))
                count.append(int(members.sum()))
        ece = sum(n * abs(o - q) for n, o, q in zip(count, observed, predicted)) / max(len(p), 1)
        curves.append({"predicted": predicted, "observed": observed, "count": count,
                       "ece": float(ece)})
    return curves
