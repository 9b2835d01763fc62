"""Accuracy figures of a classifier on held-out samples (JSON-ready dictionaries)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hrlc.model.calibration import expected_calibration_error, reliability_curves


#: The reference table's figures (plus ECE), in its column order.
HEADLINE: tuple[str, ...] = ("overall_accuracy", "macro_f1", "macro_recall", "macro_precision",
                             "ece")


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, *, classes: Sequence,
                           class_names: Mapping | None = None,
                           proba: np.ndarray | None = None, n_bins: int = 10) -> dict:
    """Overall accuracy, macro-F1, per-class precision/recall/F1, confusion matrix, and
    calibration figures when probabilities are given.

    Parameters
    ----------
    y_true, y_pred : ndarray (n,)
        Reference and predicted class codes.
    classes : sequence
        Class codes, in the order of the confusion matrix and of ``proba``'s columns.
    class_names : mapping, optional
        Code -> name.
    proba : ndarray (n, n_classes), optional
        Predicted probabilities.
    n_bins : int
        Bins of the calibration figures.

    Returns
    -------
    dict
        ``n``, ``overall_accuracy``, ``macro_f1``, ``macro_recall``, ``macro_precision``
        (unweighted means over ``classes``; a class never predicted has precision 0),
        ``per_class`` (code -> name, precision, recall, f1, support), ``confusion`` (rows:
        reference, columns: predicted, counts), ``ece`` (top-label), ``classwise_ece``
        (mean over classes) and ``log_loss`` (None without ``proba``: not applicable),
        and with ``proba`` ``reliability`` (per-class curves).
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    classes = list(classes)
    names = dict(class_names or {})
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0)
    confusion = confusion_matrix(y_true, y_pred, labels=classes)
    result = {
        "n": int(len(y_true)),
        "overall_accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))),
        # means of the per-class figures: scikit-learn's average="macro" with these labels
        "macro_f1": float(np.mean(f1)),
        "macro_recall": float(np.mean(recall)),
        "macro_precision": float(np.mean(precision)),
        "per_class": [
            {"code": _plain(c), "name": str(names.get(_plain(c), c)), "precision": float(p),
             "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, support)],
        "confusion": confusion.tolist(),
        "ece": None, "classwise_ece": None, "log_loss": None,
    }
    if proba is not None:
        index = {c: i for i, c in enumerate(classes)}
        y_index = np.array([index[c] for c in np.asarray(y_true).tolist()])
        curves = reliability_curves(y_index, proba, n_bins=n_bins)
        picked = np.clip(proba[np.arange(len(y_index)), y_index], 1e-15, 1.0)
        result.update(
            ece=expected_calibration_error(y_index, proba, n_bins=n_bins),
            classwise_ece=float(np.mean([c["ece"] for c in curves])),
            log_loss=float(-np.mean(np.log(picked))),
            reliability=curves,
        )
    return result


def _plain(value):
    """numpy scalars -> Python scalars (JSON keys and values)."""
    return value.item() if hasattr(value, "item") else value


def headline(metrics: Mapping) -> dict:
    """The figures of one variant in the reference table: OA, macro-F1, macro recall,
    macro precision, ECE (None where not applicable or not recorded)."""
    return {key: metrics.get(key) for key in HEADLINE}
