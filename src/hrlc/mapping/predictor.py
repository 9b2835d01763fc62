"""A model bundle's predictions on a matrix of pixels, with the SVM kernel by GEMM.

:class:`BundlePredictor` follows the bundle's reference path
(:meth:`hrlc.model.ModelBundle.predict_proba`) step for step and replaces only the
kernel evaluation of scikit-learn's ``SVC.decision_function`` by
:class:`~hrlc.model.svm_kernel.FastRbfPredictor` (multiclass) or
:class:`~hrlc.model.svm_kernel.StackedRbfPredictor` (one-vs-all): the preprocessing
(imputation, scaler, PCA) is the bundle's ``transform`` in one pass
(:class:`~hrlc.mapping.preprocessing.Preprocessing`) and the probabilities come
from the model's :func:`~hrlc.model.probabilities_from_scores` with its calibrators.
A random-forest bundle needs no replacement: its trees are already evaluated by a
compiled kernel that gives scikit-learn's probabilities exactly
(:class:`hrlc.model.forest.ForestArrays`).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from hrlc.mapping.preprocessing import Preprocessing
from hrlc.model.svm_kernel import (FastRbfPredictor, RbfSvm, StackedRbfPredictor,
                                     confidence_term)
from hrlc.threads import SharedLimit


@dataclass(frozen=True)
class PixelPredictions:
    """Predictions of n pixels.

    Attributes
    ----------
    classes : ndarray (n,)
        Class codes.
    probabilities : ndarray (n, n_classes), float64, or None
        Per-class probability (None for an uncalibrated multiclass SVM).
    confidence : ndarray (n,), float64, 0-1
        Probability of the mapped class (uncalibrated: its share of the one-vs-one
        votes).
    margin : ndarray (n,), float64, 0-1
        Difference between the two highest probabilities (uncalibrated: vote shares).
    """

    classes: np.ndarray
    probabilities: np.ndarray | None
    confidence: np.ndarray
    margin: np.ndarray


class BundlePredictor:
    """Decision scores, probabilities and class codes of a :class:`~hrlc.model.ModelBundle`.

    Parameters
    ----------
    bundle : ModelBundle
        A loaded or freshly trained bundle (RBF SVMs or a random forest).
    dtype : numpy dtype
        Precision of the kernel GEMM: float32 (default; >= 99.99 % of labels equal to
        scikit-learn's) or float64 (the same labels). A forest ignores ``dtype``,
        ``memory_mb`` and ``refine``: its trees compare float32 features as
        scikit-learn's do, so its labels and probabilities are scikit-learn's.
    memory_mb : float
        Bound of the kernel matrix of one batch of pixels, MiB.
    refine : bool
        With float32: recompute in float64 the few pixels whose float32 result is not
        safe. The float32 decision values are taken as exact within ``refine_delta``,
        measured per model: ``REFINE_SAFETY`` times the largest float32 error of the
        decision values at the model's own support vectors (points on and near its
        decision boundaries), at least ``REFINE_DELTA``. A pixel is refined when its
        label could change within that error, or a probability could change by more
        than ``REFINE_TOLERANCE`` (or, with :meth:`predict`'s ``resolution``, when a
        stored value could change). Typically 1-2 % of the pixels, on steep isotonic
        steps and near one-vs-one decision boundaries; the labels then equal the
        float64 ones and the probabilities are within ``REFINE_TOLERANCE`` of them.
    """

    #: Smallest margin around a decision value kept for the float32 error.
    REFINE_DELTA = 2e-5
    #: ``refine_delta`` over the largest float32 error seen at the support vectors (the
    #: largest error over the pixels of a map was up to 1.5x that seen there).
    REFINE_SAFETY = 4.0
    #: Support vectors (at most) on which the float32 error is measured.
    REFINE_PROBES = 2048
    #: Largest probability change allowed within the float32 error before refining a
    #: pixel (with ``resolution`` None): the float32 probabilities are then within this of
    #: the float64 ones.
    REFINE_TOLERANCE = 1e-4

    def __init__(self, bundle, *, dtype=np.float32, memory_mb: float = 32.0,
                 refine: bool = True):
        self.bundle = bundle
        self.dtype = np.dtype(dtype)
        self.rule = bundle.probability_rule()
        self._transform = Preprocessing(bundle)
        self._forest = bundle.classifier if self.rule["kind"] == "random_forest" else None
        if self._forest is not None:
            self._svm = self._exact = None
            self.refine_delta = 0.0
            return
        models = [RbfSvm(**vars(arrays)) for arrays in bundle.svm_arrays()]
        kind = StackedRbfPredictor if self.rule["kind"] == "ova" else (
            lambda m, **kw: FastRbfPredictor(m[0], **kw))
        self._svm = kind(models, dtype=dtype, memory_mb=memory_mb)
        self._exact = (kind(models, dtype=np.float64, memory_mb=memory_mb)
                       if refine and self.dtype != np.float64 else None)
        self.refine_delta = self._refine_delta(models) if self._exact is not None else 0.0

    def _raw(self, svm, model_features: np.ndarray) -> np.ndarray:
        if self.rule["kind"] == "ova":
            return svm.decision_function(model_features)
        return svm.pairwise_decision(model_features)

    def _refine_delta(self, models) -> float:
        """Margin for the float32 error of this model's decision values."""
        probes = np.vstack([m.support_vectors for m in models])
        probes = probes[::max(1, -(-len(probes) // self.REFINE_PROBES))]
        error = np.abs(self._raw(self._svm, probes) - self._raw(self._exact, probes)).max()
        return max(self.REFINE_DELTA, self.REFINE_SAFETY * float(error))

    @property
    def classes(self) -> np.ndarray:
        """Class codes, in the order of the probability columns."""
        return np.asarray(self.bundle.classes)

    @property
    def has_probabilities(self) -> bool:
        return (self.rule["kind"] in ("ova", "random_forest")
                or self.rule["calibration"] is not None)

    @property
    def label_rule(self) -> str:
        """``probability`` (most probable class) or ``decision`` (the SVM's own label)."""
        default = "probability" if self.has_probabilities else "decision"
        rule = self.rule.get("labels", default)
        return rule if self.has_probabilities else "decision"

    def _scores(self, model_features: np.ndarray, svm=None, resolution: float | None = None,
                ) -> tuple[np.ndarray, np.ndarray | None]:
        """Decision scores as the bundle's, and the one-vs-one pairwise values (multiclass);
        float32 results that are not safe are recomputed in float64 (see ``refine`` and
        :meth:`predict`'s ``resolution``)."""
        svm = svm or self._svm
        raw = self._raw(svm, model_features)
        if self.rule["kind"] == "ova":
            scores, pairwise = raw, None
        else:
            pairwise, scores = raw, svm.ovr_decision(raw)
        if svm is self._svm and self._exact is not None:
            unsure = self._unsure(scores, pairwise, resolution)
            if unsure.any():
                exact, exact_pairs = self._scores(model_features[unsure], self._exact)
                scores[unsure] = exact
                if pairwise is not None:
                    pairwise[unsure] = exact_pairs
        return scores, pairwise

    def _unsure(self, scores: np.ndarray, pairwise: np.ndarray | None,
                resolution: float | None = None) -> np.ndarray:
        """Pixels whose label or probabilities could change within the float32 error.

        Each decision value is taken as exact within ``refine_delta``; for one-vs-rest
        shaped multiclass scores (votes plus an increasing function of a sum of n - 1
        pairwise values), the votes are fixed unless a pairwise value is that close to 0,
        and the sum is exact within ``(n - 1) refine_delta``, which bounds the score.
        The probabilities over these score intervals are bounded
        (:func:`probability_bounds`); a
        pixel is unsure when the bounds of a probability are more than
        ``REFINE_TOLERANCE`` apart (``resolution`` None), or round to different steps of
        ``resolution`` (the probability, confidence or margin as stored), or when its
        label is not the same over the box.
        """
        delta, columns = self.refine_delta, scores.reshape(len(scores), -1)
        unsure = np.zeros(len(scores), bool)
        low_scores, high_scores = scores - delta, scores + delta
        if pairwise is not None:  # a one-vs-one vote could flip
            unsure |= (np.abs(pairwise) < delta).any(axis=1)
            if scores.ndim == 2:  # votes fixed; each confidence within (n - 1) delta
                votes, confidence = self._svm.ovr_parts(pairwise)
                spread = (scores.shape[1] - 1) * delta
                low_scores = votes + confidence_term(confidence - spread)
                high_scores = votes + confidence_term(confidence + spread)
        elif self.label_rule == "decision" and columns.shape[1] > 1:
            top = np.sort(columns, axis=1)  # the largest binary decision value could change
            unsure |= top[:, -1] - top[:, -2] < 2 * delta
        if not self.has_probabilities:
            return unsure
        low, high = probability_bounds(low_scores, high_scores, self.bundle.calibrators,
                                       aggregation=self.rule["aggregation"],
                                       temperature=self.rule["temperature"])
        unsure |= ~(np.isfinite(low) & np.isfinite(high)).all(axis=1)
        if self.label_rule == "probability":  # the most probable class could change
            best = np.argmax(low, axis=1)
            rows = np.arange(len(best))
            others = high.copy()
            others[rows, best] = -np.inf
            unsure |= ~(low[rows, best] > others.max(axis=1))
        if resolution is None:
            return unsure | ((high - low).max(axis=1) > self.REFINE_TOLERANCE)
        steps = 1.0 / resolution
        ordered_low, ordered_high = np.sort(low, axis=1), np.sort(high, axis=1)
        margin_low = ordered_low[:, -1] - ordered_high[:, -2]
        margin_high = ordered_high[:, -1] - ordered_low[:, -2]
        for lower, upper in ((low, high), (margin_low, margin_high)):
            # widened by far more than the rounding of the bounds' own arithmetic
            moved = np.rint((lower - 1e-9) * steps) != np.rint((upper + 1e-9) * steps)
            unsure |= moved.reshape(len(unsure), -1).any(axis=1)
        return unsure

    def decision_scores(self, features: np.ndarray) -> np.ndarray:
        """As ``bundle.decision_scores``: features (n, n_input) in ``input_features`` order."""
        if self._forest is not None:
            return self._forest.predict_proba(self._transform(features))
        return self._scores(self._transform(features))[0]

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) from decision scores, by the bundle's rule
        (a forest's scores are its probabilities)."""
        from hrlc.model import probabilities_from_scores

        if self._forest is not None:
            return np.asarray(scores, dtype=np.float64)
        return probabilities_from_scores(scores, self.bundle.calibrators,
                                         aggregation=self.rule["aggregation"],
                                         temperature=self.rule["temperature"])

    def predict(self, features: np.ndarray, *, resolution: float | None = None,
                ) -> PixelPredictions:
        """Class codes, probabilities, confidence and margin of features (n, n_input).

        Labels follow the bundle's rule (``bundle.predict``): the most probable class, or
        the SVM's decision (multiclass: one-vs-one vote; one-vs-all: largest binary
        decision value). ``confidence`` is the probability of the mapped class, ``margin``
        the difference of the two highest probabilities.

        ``resolution`` (e.g. 0.01 for percent) says that the probabilities, confidence
        and margin will be stored as ``rint(value / resolution)``: float32 pixels are
        then refined only where the float32 error could change a stored value or the
        label, not wherever a probability could move by ``REFINE_TOLERANCE``. The stored
        values then equal those of the float64 path.

        A forest labels a pixel with its first most probable class (scikit-learn's rule);
        its probabilities are the mean of its trees' leaf probabilities.
        """
        if self._forest is not None:
            proba = self._forest.predict_proba(self._transform(features))
            return _with_confidence(self.classes, proba, np.argmax(proba, axis=1))
        scores, pairwise = self._scores(self._transform(features),
                                        resolution=resolution)
        if not self.has_probabilities:
            votes = self._svm.votes(pairwise)
            share = np.sort(votes, axis=1) / max(votes.shape[1] - 1, 1)
            return PixelPredictions(classes=self.classes[np.argmax(votes, axis=1)],
                                    probabilities=None, confidence=share[:, -1],
                                    margin=share[:, -1] - share[:, -2])
        proba = self.probabilities(scores)
        if self.label_rule == "probability":
            index = np.argmax(proba, axis=1)
        elif pairwise is not None:
            index = np.argmax(self._svm.votes(pairwise), axis=1)
        else:
            index = np.argmax(scores, axis=1)
        return _with_confidence(self.classes, proba, index)


def _with_confidence(classes: np.ndarray, proba: np.ndarray, index: np.ndarray,
                     ) -> PixelPredictions:
    """Predictions of the classes at ``index`` (n,) with probabilities (n, n_classes):
    confidence = the mapped class's probability, margin = the two highest's difference."""
    ordered = np.sort(proba, axis=1)
    return PixelPredictions(classes=classes[index], probabilities=proba,
                            confidence=proba[np.arange(len(index)), index],
                            margin=ordered[:, -1] - ordered[:, -2])


def probability_bounds(low_scores: np.ndarray, high_scores: np.ndarray, calibrators, *,
                       aggregation: str = "normalise", temperature: float = 1.0,
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest probability of each class (n, n_classes) over all decision
    scores between ``low_scores`` and ``high_scores`` (each (n, n_classes), or (n,) for a
    two-class multiclass SVM), by the rule of :func:`hrlc.model.probabilities_from_scores`.

    The calibrators are monotone, so each calibrated value spans the interval between
    its values at the two ends; a normalised probability ``u_k / sum(u)`` is lowest with
    ``u_k`` at its low end and the others at their high ends, and highest the other way
    round. Both softmaxes are such a ratio of ``v = exp(u / temperature)`` (``softmax``,
    of the calibrated values u) or ``exp(f / temperature)`` (``score_softmax``, of the
    scores f), increasing in u or f: the same bounds hold for v. NaN where the row sum
    could be 0 (``normalise``: scikit-learn's uniform fallback) unless it is 0
    throughout.
    """
    low_scores = np.asarray(low_scores, dtype=np.float64)
    high_scores = np.asarray(high_scores, dtype=np.float64)
    if aggregation == "score_softmax":
        u_low, u_high = _softmax_terms(low_scores, high_scores, temperature)
    elif low_scores.ndim == 1:  # two classes: p1 = cal(f), p0 = 1 - p1
        ends = np.stack([calibrators[0].predict(low_scores),
                         calibrators[0].predict(high_scores)])
        p1_low, p1_high = ends.min(axis=0), ends.max(axis=0)
        return (np.column_stack([1.0 - p1_high, p1_low]),
                np.column_stack([1.0 - p1_low, p1_high]))
    else:
        ends = np.stack([np.column_stack([c.predict(side[:, k])
                                          for k, c in enumerate(calibrators)])
                         for side in (low_scores, high_scores)])
        u_low, u_high = ends.min(axis=0), ends.max(axis=0)
        if aggregation == "softmax":
            u_low, u_high = _softmax_terms(u_low, u_high, temperature)
    total_low = u_low.sum(axis=1, keepdims=True)
    total_high = u_high.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = u_low / (total_high - u_high + u_low)
        high = u_high / (total_low - u_low + u_high)
    zero = (total_high == 0).ravel()
    low[zero] = high[zero] = 1.0 / low.shape[1]
    could_be_zero = ((total_low == 0).ravel()) & ~zero
    low[could_be_zero] = high[could_be_zero] = np.nan
    return low, high


def _softmax_terms(low: np.ndarray, high: np.ndarray, temperature: float,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``exp(x / temperature)`` at both ends, shifted by the rows' largest high end as
    :func:`hrlc.model.softmax` shifts (so a box of zero width gives its very numbers)."""
    low, high = low / temperature, high / temperature
    shift = high.max(axis=1, keepdims=True)
    return np.exp(low - shift), np.exp(high - shift)


#: Pins BLAS threads while a block is predicted (see :class:`hrlc.threads.SharedLimit`).
blas_threads = SharedLimit("blas")
