"""Calibrators fitted on out-of-fold decision values, and the method chosen by the folds.

The decision values are the search's own out-of-fold values (each row scored by the SVM
of the fold that left it out, :func:`hrlc.model.kernel_search.kernel_search`), so no SVM
is refitted for the calibration: this is ``CalibratedClassifierCV(ensemble=False)`` on
the same folds without its second round of fold fits. The calibrators themselves are
scikit-learn's (``IsotonicRegression``, the Platt sigmoid and temperature scaling of
``sklearn.calibration``), kept as :class:`~hrlc.model.calibration.Calibrator` arrays.

Methods are compared on *out-of-fold calibrated* probabilities: for each fold the
calibrators are fitted on the other folds' decision values and applied to this fold's (an
isotonic fit always wins on the rows it was fitted on). The criterion is the expected
calibration error (default) or the log loss; both are recorded.

Why ECE by default: the methods are monotone maps of the same decision values, so they
rank the rows alike and differ mainly in calibration, which ECE measures and the log loss
mixes with the penalty of a few zero probabilities. Isotonic regression gives probability
0 to the rows beyond its last step, which spatial folds (whole blocks left out) produce
often, and the log loss then prefers temperature scaling even where isotonic's
probabilities are the better calibrated on held-out rows
(``benchmarks/eval_train_real.py`` records, per data set, both out-of-fold criteria of
each method beside its held-out ECE).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hrlc.model.calibration import (Calibrator, expected_calibration_error,
                                    probabilities_from_scores)
from hrlc.threads import one_blas_thread

#: Calibration methods (``calibration`` option; ``auto`` chooses among them).
METHODS: tuple[str, ...] = ("isotonic", "sigmoid", "temperature")
#: What the chooser minimises (``calibration_metric``).
CRITERIA: tuple[str, ...] = ("ece", "log_loss")
#: Largest ``beta * (score range)`` of a temperature calibrator: ``exp`` of it stays far
#: from float64 overflow (709) and never underflows to 0.
_MAX_EXPONENT = 600.0


def ovr_score_range(n_classes: int) -> tuple[float, float]:
    """Bounds of ``SVC.decision_function`` (one-vs-rest shape) for ``n_classes`` classes:
    votes (0 .. n - 1) plus a confidence term in (-1/3, 1/3)."""
    return -1.0 / 3.0, n_classes - 1 + 1.0 / 3.0


@one_blas_thread()  # an optimiser over a few thousand values: BLAS threads only spin
def fit_temperature(scores: np.ndarray, y_index: np.ndarray, *,
                    sample_weight: np.ndarray | None = None) -> float:
    """Inverse temperature beta minimising the log loss of ``softmax(beta * scores)``.

    scikit-learn's temperature scaling (``minimize_scalar`` over log beta); a 1-d
    ``scores`` (two classes) is read as the logits (-f, f), so p1 = sigmoid(2 beta f).

    Parameters
    ----------
    scores : ndarray (n,) or (n, n_classes)
        Decision values (dimensionless).
    y_index : ndarray (n,)
        True class as a column index.
    """
    from sklearn.calibration import _TemperatureScaling

    return float(_TemperatureScaling().fit(np.asarray(scores, np.float64), y_index,
                                           sample_weight).beta_)


@one_blas_thread()  # as fit_temperature
def fit_calibrators(method: str, scores: np.ndarray, y_index: np.ndarray, *,
                    sample_weight=None, score_range: tuple[float, float] | None = None,
                    ) -> list[Calibrator]:
    """Calibrators of ``method`` fitted on decision values, as scikit-learn fits them.

    Parameters
    ----------
    method : {"isotonic", "sigmoid", "temperature"}
    scores : ndarray (n,) (two-class SVM: one calibrator, for class 1) or (n, n_classes)
        (one per column: one-vs-rest shaped multiclass or one-vs-all binary values).
    y_index : ndarray (n,)
        True class as a column index.
    sample_weight : None, ndarray (n,), or list of ndarray (one per column)
    score_range : (low, high)
        Bounds of the scores; needed by ``temperature`` with several columns.

    Returns
    -------
    list of Calibrator
        ``temperature`` with several columns: one ``Calibrator("temperature", a=beta,
        b=high)`` per column, ``exp(beta (f - high))``, so that normalising the columns
        (the multiclass rule) gives ``softmax(beta f)``; with two classes a sigmoid
        ``1 / (1 + exp(-2 beta f))``, scikit-learn's binary temperature scaling.
    """
    from sklearn.calibration import _SigmoidCalibration
    from sklearn.isotonic import IsotonicRegression

    scores = np.asarray(scores, np.float64)
    y_index = np.asarray(y_index)
    columns = scores.reshape(len(scores), -1)
    weights = (sample_weight if isinstance(sample_weight, list | tuple)
               else [sample_weight] * columns.shape[1])
    if method == "temperature":
        beta = fit_temperature(scores, y_index, sample_weight=weights[0])
        if scores.ndim == 1:
            return [Calibrator("sigmoid", a=-2.0 * beta, b=0.0)]
        if score_range is None:
            raise ValueError("temperature calibration of several columns needs their "
                             "score_range (the bounds of the decision values)")
        low, high = score_range
        beta = min(beta, _MAX_EXPONENT / (high - low))
        return [Calibrator("temperature", a=beta, b=float(high))] * columns.shape[1]
    if method not in METHODS:
        raise ValueError(f"calibration method must be one of {METHODS}, got {method!r}")
    out = []
    for k in range(columns.shape[1]):
        target = (y_index == (1 if scores.ndim == 1 else k)).astype(float)
        model = (IsotonicRegression(out_of_bounds="clip") if method == "isotonic"
                 else _SigmoidCalibration())
        out.append(Calibrator.from_sklearn(model.fit(columns[:, k], target, weights[k])))
    return out


def choose_calibration(scores: np.ndarray, y_index: np.ndarray, splits: Sequence, *,
                       methods: Sequence[str], n_classes: int, sample_weight=None,
                       score_range: tuple[float, float] | None = None,
                       aggregation: str = "normalise", temperature: float = 1.0,
                       n_bins: int = 10, criterion: str = "ece") -> tuple[str, dict]:
    """The method whose out-of-fold calibrated probabilities have the lowest ``criterion``.

    Parameters
    ----------
    scores, y_index, sample_weight, score_range
        As :func:`fit_calibrators` (out-of-fold decision values of all training rows).
    splits : list of (train, test) index arrays
        The search's folds: each fold's rows are calibrated by calibrators fitted on the
        other rows.
    methods : sequence of str
        Compared in this order (ties go to the first).
    aggregation, temperature
        How calibrated columns become probabilities
        (:func:`~hrlc.model.calibration.probabilities_from_scores`).
    n_bins : int
        Bins of the ECE.
    criterion : {"ece", "log_loss"}
        What is minimised (ties: the other, then the order of ``methods``).

    Returns
    -------
    method : str
    table : dict
        method -> {"log_loss": ..., "ece": ...} (unweighted, all training rows).
    """
    from sklearn.metrics import log_loss

    if criterion not in CRITERIA:
        raise ValueError(f"calibration criterion must be one of {CRITERIA}, got {criterion!r}")
    table = {}
    for method in methods:
        proba = np.zeros((len(y_index), n_classes))
        for train, test in splits:
            weight = sample_weight
            if isinstance(weight, list | tuple):
                weight = [w if w is None else w[train] for w in weight]
            elif weight is not None:
                weight = weight[train]
            calibrators = fit_calibrators(method, scores[train], y_index[train],
                                          sample_weight=weight, score_range=score_range)
            proba[test] = probabilities_from_scores(scores[test], calibrators,
                                                    aggregation=aggregation,
                                                    temperature=temperature)
        table[method] = {
            "log_loss": float(log_loss(y_index, proba, labels=np.arange(n_classes))),
            "ece": expected_calibration_error(y_index, proba, n_bins=n_bins)}
    other = "log_loss" if criterion == "ece" else "ece"
    best = min(methods, key=lambda m: (table[m][criterion], table[m][other],
                                       list(methods).index(m)))
    return best, table
