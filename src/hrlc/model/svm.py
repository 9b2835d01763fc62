"""RBF support-vector classifiers: multiclass (one-vs-one, calibrated or not) and
one-vs-all (calibrated).

Both search C, gamma and (``class_weight="auto"``) no vs balanced class weights by
cross-validation grouped by spatial block, on kernels shared by every C, fold and
weighting, with successive halving (:func:`hrlc.model.kernel_search.kernel_search`), and
calibrate on the search's own out-of-fold decision values (isotonic, sigmoid or
temperature scaling, or the one of these with the lowest out-of-fold calibration error
or log loss: :mod:`hrlc.model.calibration_choice`). The final SVM is a plain RBF ``SVC`` fitted on all
samples, so a map needs one SVM (not one per fold). ``SVC(probability=True)`` is not used.

gamma is searched as multiples (``gamma_factors``) of scikit-learn's ``"scale"`` value
``1 / (n_features * var(X))``, so one grid suits any number of features.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.base import clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from hrlc.model._grid_svm import LABEL_RULES, _GridSVM, cv_splits, gamma_scale
from hrlc.model.calibration import AGGREGATIONS, probabilities_from_scores
from hrlc.model.calibration_choice import (METHODS, choose_calibration, fit_calibrators,
                                           fit_temperature, ovr_score_range)
from hrlc.model.svm_kernel import FastRbfPredictor, RbfSvm, StackedRbfPredictor

__all__ = ["LABEL_RULES", "MulticlassSVM", "OneVsAllSVM", "cv_splits", "gamma_scale",
           "uncalibrated"]


class MulticlassSVM(_GridSVM):
    """One RBF ``SVC`` (one-vs-one) with a search over C, gamma and class weights, calibrated.

    Parameters
    ----------
    C : sequence of float
        Grid of the penalty C.
    gamma_factors : sequence of float
        Grid of gamma, as multiples of ``1 / (n_features * var(X))``.
    calibration : {"isotonic", "sigmoid", "temperature", "auto"} or None
        Calibration of the one-vs-rest decision values f, fitted on the search's
        out-of-fold values: per class isotonic or Platt sigmoid (then normalised), or
        temperature scaling ``softmax(f / T)``; ``auto``: the one with the lowest
        out-of-fold ``calibration_metric`` (``calibration_scores_``). ``None``: the
        uncalibrated SVM,
        labels by its vote and no ``predict_proba`` (libsvm's vote is no probability).
    calibration_metric : {"ece", "log_loss"}
        What ``calibration="auto"`` minimises: the expected calibration error (default)
        or the log loss of the out-of-fold calibrated probabilities.
    labels : {"decision", "probability"}
        ``decision``: the SVM's own label (the one-vs-one vote; one-vs-all: the largest
        binary decision value), so calibration never changes a label, accuracy or
        macro-F1; ``argmax(predict_proba)`` may then differ from ``predict`` on a few
        samples, as with libsvm's own probabilities. ``probability``: the most probable
        class (consistent with the probabilities; on imbalanced classes it favours the
        frequent ones: higher accuracy, lower macro-F1).
    n_folds : int
        Cross-validation folds (grouped by the ``groups`` passed to ``fit``).
    class_weight : None, "balanced", "auto" or dict
        As ``SVC(class_weight=...)``, applied as sample weights to the SVM; ``auto``:
        none or balanced, whichever the search scores higher. The calibration is
        weighted too only with ``labels="probability"`` (the weights must then move the
        labels through the probabilities); with ``labels="decision"`` the weights move
        the SVM's labels and the probabilities estimate the class frequencies of the
        training rows, unweighted: balanced weights would calibrate for a world of equal
        classes (compare the held-out ECE in ``benchmarks/results/train_real.md``).
    n_jobs : int or None
        Threads of the search (joblib convention, -1: all cores).
    cache_size : float
        libsvm kernel cache, MB.
    halving_factor : int
        Successive halving of the grid (1: every candidate on all rows).
    kernel_memory_mb : float
        Bound of the kernel matrices held at once, MB (8 n^2 bytes for n rows).
    random_state : int
        Seed of the fold assignment and of the halving subsamples.

    Attributes
    ----------
    svc_ : sklearn.svm.SVC
        RBF, fitted on all samples with the best parameters.
    calibrators_ : list of Calibrator or None
        One per class (one for two classes), on ``svc_.decision_function``.
    calibration_ : str or None
        The calibration method used (``auto`` resolved).
    calibration_scores_ : dict or None
        With ``calibration="auto"``: method -> out-of-fold ``log_loss`` and ``ece``.
    calibration_candidates_ : dict or None
        With ``calibration="auto"``: method -> its calibrators fitted on all out-of-fold
        values (``calibrators_`` is the chosen one's), to compare the methods on other
        rows (``benchmarks/eval_train_real.py``); not stored in a bundle.
    best_params_ : dict
        ``C``, ``gamma``, ``class_weight`` (``SVC(**best_params_)`` is the final SVM).
    class_weight_ : None, "balanced" or dict
    cv_results_ : list of dict
        Every candidate of every halving round (see ``SearchResult.table``).
    selection_metric_ : str
    gamma_scale_ : float
    n_support_vectors_ : int
    """

    def __init__(self, C=(1.0, 10.0, 100.0), gamma_factors=(0.3, 1.0, 3.0), *,
                 calibration: Literal["isotonic", "sigmoid", "temperature", "auto"] | None
                 = "isotonic", calibration_metric: Literal["ece", "log_loss"] = "ece",
                 labels: Literal["decision", "probability"] = "decision",
                 n_folds: int = 3, class_weight=None, n_jobs: int | None = None,
                 cache_size: float = 500.0, halving_factor: int = 3,
                 kernel_memory_mb: float = 6144.0, random_state: int = 0):
        self.C = C
        self.gamma_factors = gamma_factors
        self.calibration = calibration
        self.calibration_metric = calibration_metric
        self.labels = labels
        self.n_folds = n_folds
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.cache_size = cache_size
        self.halving_factor = halving_factor
        self.kernel_memory_mb = kernel_memory_mb
        self.random_state = random_state

    def fit(self, X, y, groups=None):
        """Fit on X (n_samples, n_features) and class codes y; ``groups``: spatial blocks."""
        if self.calibration is None and self.labels == "probability":
            raise ValueError("labels='probability' needs calibrated probabilities, got "
                             "calibration=None; set calibration or use labels='decision'")
        X, y, splits, gammas = self._prepare(X, y, groups)
        weightings = self._weightings(y, y)
        found = self._search(X, y, splits, gammas, weightings, scoring="f1_macro",
                             pooled=True)
        self.svc_ = found.svc
        self.class_weight_ = self._chosen_weight(found.best.weighting)
        self.best_params_ = {**found.best.params(), "class_weight": self.class_weight_}
        self.cv_results_, self.selection_metric_ = found.table, found.selection_metric
        self.n_support_vectors_ = int(self.svc_.n_support_.sum())
        self.calibrators_ = self.calibration_ = self.calibration_scores_ = None
        self.calibration_candidates_ = None
        if self.calibration is not None:
            y_index = np.searchsorted(self.classes_, y)
            weight = _calibration_weight(self, weightings[found.best.weighting])
            kw = {"sample_weight": weight, "score_range": ovr_score_range(len(self.classes_))}
            self.calibration_ = self.calibration
            if self.calibration == "auto":
                self.calibration_, self.calibration_scores_ = choose_calibration(
                    found.oof_decision, y_index, splits, methods=METHODS,
                    n_classes=len(self.classes_), criterion=self.calibration_metric, **kw)
                self.calibration_candidates_ = {
                    m: fit_calibrators(m, found.oof_decision, y_index, **kw) for m in METHODS}
                self.calibrators_ = self.calibration_candidates_[self.calibration_]
            else:
                self.calibrators_ = fit_calibrators(self.calibration_, found.oof_decision,
                                                    y_index, **kw)
        return self

    def _has_proba(self):
        return self.calibration is not None

    def _scores(self, X):
        """``SVC.decision_function`` (one-vs-rest shape): (n_samples, n_classes), or
        (n_samples,) for two classes (positive favours ``classes_[1]``); by float64 GEMM
        (:func:`_gemm`)."""
        return _gemm(self.svc_).decision_function(X)

    def _decision_labels(self, X):
        return _gemm(self.svc_).predict(X)  # the one-vs-one vote

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
    calibration : {"isotonic", "sigmoid", "auto", "temperature"} or None
        Per binary SVM; ``auto``: isotonic or sigmoid, whichever gives the lower
        out-of-fold ``calibration_metric`` of the aggregated probabilities.
        ``temperature`` (with
        ``aggregation="score_softmax"`` only): the ``score_softmax`` of the decision
        values with a temperature fitted on the out-of-fold values (``temperature_``)
        instead of ``temperature``.
    aggregation : {"normalise", "softmax", "score_softmax"}
        How the calibrated binary probabilities u become class probabilities:
        ``normalise``: ``u / sum(u)``; ``softmax``: ``softmax(u / temperature)`` (the
        reference chain's rule); ``score_softmax``: ``softmax(f / temperature)`` over the
        raw binary decision values f, calibration unused.
    temperature : float
        Of both softmaxes.
    scoring : str
        Score of each binary search, mean over the folds (default ROC AUC: the ranking
        of decision values is what the aggregation uses).
    (other parameters as :class:`MulticlassSVM`; a dict ``class_weight`` weights every
    sample by its class's weight in every binary problem, "balanced" balances each binary
    problem, "auto" chooses per binary problem.)

    Attributes
    ----------
    svcs_ : list of sklearn.svm.SVC
        Binary SVMs (labels 0 = rest, 1 = the class), in ``classes_`` order.
    calibrators_ : list of Calibrator or None
    calibration_, calibration_scores_ : as :class:`MulticlassSVM`
    temperature_ : float
        The temperature of ``score_softmax`` (fitted with ``calibration="temperature"``).
    best_params_, cv_results_, class_weight_ : list
        Per class.
    n_support_vectors_ : int
        Sum over the binary SVMs; ``n_unique_support_vectors_`` counts shared training
        samples once.
    """

    _CALIBRATIONS = (None, "auto", "isotonic", "sigmoid", "temperature")

    def __init__(self, C=(1.0, 10.0, 100.0), gamma_factors=(0.3, 1.0, 3.0), *,
                 calibration: Literal["isotonic", "sigmoid", "temperature", "auto"] | None
                 = "isotonic", calibration_metric: Literal["ece", "log_loss"] = "ece",
                 aggregation: Literal["normalise", "softmax", "score_softmax"] = "normalise",
                 temperature: float = 1.0,
                 labels: Literal["decision", "probability"] = "decision",
                 scoring: str = "roc_auc", n_folds: int = 3, class_weight=None,
                 n_jobs: int | None = None, cache_size: float = 500.0,
                 halving_factor: int = 3, kernel_memory_mb: float = 6144.0,
                 random_state: int = 0):
        self.C = C
        self.gamma_factors = gamma_factors
        self.calibration = calibration
        self.calibration_metric = calibration_metric
        self.labels = labels
        self.aggregation = aggregation
        self.temperature = temperature
        self.scoring = scoring
        self.n_folds = n_folds
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.cache_size = cache_size
        self.halving_factor = halving_factor
        self.kernel_memory_mb = kernel_memory_mb
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
        if self.calibration == "temperature" and self.aggregation != "score_softmax":
            raise ValueError("calibration='temperature' of the one-vs-all SVM fits the "
                             "temperature of aggregation='score_softmax'; set that "
                             f"aggregation (got {self.aggregation!r}) or another calibration")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        X, y, splits, gammas = self._prepare(X, y, groups)
        found, weights = [], []
        for code in self.classes_:
            target = (y == code).astype(int)
            weightings = self._weightings(y, target)
            found.append(self._search(X, target, splits, gammas, weightings,
                                      scoring=self.scoring, pooled=False))
            weights.append(_calibration_weight(self, weightings[found[-1].best.weighting]))
        self.svcs_ = [f.svc for f in found]
        self.class_weight_ = [self._chosen_weight(f.best.weighting) for f in found]
        self.best_params_ = [{**f.best.params(), "class_weight": w}
                             for f, w in zip(found, self.class_weight_)]
        self.cv_results_ = [f.table for f in found]
        self.selection_metric_ = found[0].selection_metric
        self.n_support_vectors_ = int(sum(s.support_.size for s in self.svcs_))
        self.n_unique_support_vectors_ = int(np.unique(
            np.concatenate([s.support_ for s in self.svcs_])).size)
        self._calibrate(np.column_stack([f.oof_decision for f in found]),
                        np.searchsorted(self.classes_, y), splits, weights)
        return self

    def _calibrate(self, scores, y_index, splits, weights) -> None:
        self.temperature_ = float(self.temperature)
        self.calibrators_ = self.calibration_ = self.calibration_scores_ = None
        if self.calibration is None:
            return
        if self.calibration == "temperature":
            self.calibration_ = "temperature"
            self.temperature_ = 1.0 / fit_temperature(scores, y_index)
            return
        self.calibration_ = self.calibration
        if self.calibration == "auto":
            self.calibration_, self.calibration_scores_ = choose_calibration(
                scores, y_index, splits, methods=("isotonic", "sigmoid"),
                n_classes=len(self.classes_), sample_weight=weights,
                aggregation=self.aggregation, temperature=self.temperature,
                criterion=self.calibration_metric)
        self.calibrators_ = fit_calibrators(self.calibration_, scores, y_index,
                                            sample_weight=weights)

    def _has_proba(self):
        return True

    def _scores(self, X):
        """Binary decision values (n_samples, n_classes): column k favours class k (as
        each ``SVC.decision_function``, by float64 GEMM: :func:`_gemm`)."""
        return _gemm(self.svcs_).decision_function(X)

    def _decision_labels(self, X):
        return self.classes_[np.argmax(self._scores(X), axis=1)]

    def _proba(self, X):
        # temperature_ differs from temperature only with calibration="temperature"; a
        # bundle restores the parameters (and refuses that calibration for now)
        return probabilities_from_scores(self._scores(X), self.calibrators_,
                                         aggregation=self.aggregation,
                                         temperature=getattr(self, "temperature_",
                                                             self.temperature))

    def predict_proba(self, X):
        """Probabilities (n_samples, n_classes), rows summing to 1."""
        return self._proba(self._check(X))


def _calibration_weight(model, weight):
    """The sample weights of the calibration: the SVM's only with ``labels="probability"``
    (see ``class_weight`` of :class:`MulticlassSVM`)."""
    return weight if model.labels == "probability" else None


def _gemm(fitted):
    """The float64 GEMM predictor of ``fitted``: an ``SVC``, or the list of a one-vs-all
    model's binary ``SVC``.

    libsvm evaluates the kernel one sample at a time on one core; one GEMM per batch of
    samples gives the same decision values (float64: equal to rounding, ~1e-13) several
    times faster, which is most of the held-out evaluation's time with many support
    vectors (:mod:`hrlc.model.svm_kernel`). Built per call (arranging the arrays costs
    far less than one batch), so predicting leaves the estimator unchanged.
    """
    if isinstance(fitted, list):
        return StackedRbfPredictor([RbfSvm.from_sklearn(s) for s in fitted], dtype=np.float64)
    return FastRbfPredictor(RbfSvm.from_sklearn(fitted), dtype=np.float64)


def uncalibrated(model: MulticlassSVM) -> MulticlassSVM:
    """A fitted calibrated :class:`MulticlassSVM` without its calibration.

    The calibration is fitted on the search's out-of-fold decision values and never
    touches the SVM, which is fitted on all samples exactly as ``fit`` with
    ``calibration=None`` fits it (same search, same folds, same weights), so the SVM is
    shared rather than searched and fitted again: the result predicts what
    ``MulticlassSVM(calibration=None, labels="decision", ...).fit`` would (its vote), and
    has no ``predict_proba``.
    """
    check_is_fitted(model, "svc_")
    if model.calibration is None:
        return model
    bare = clone(model).set_params(calibration=None, labels="decision")
    for name, value in vars(model).items():
        if name.endswith("_") and not name.startswith("_"):
            setattr(bare, name, value)
    bare.calibrators_ = bare.calibration_ = bare.calibration_scores_ = None
    bare.calibration_candidates_ = None
    return bare
