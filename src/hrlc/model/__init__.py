"""SVM land-cover classification: scaling, feature selection, PCA, calibrated SVMs, report.

``train_model(samples, **TrainConfig)`` trains and evaluates; its ``bundle`` holds all a
map needs (:class:`ModelBundle`, saved without pickle, read back by :func:`load_bundle`).
"""

from hrlc.io.checksum import file_checksum  # re-exported: hrlc.model.file_checksum
from hrlc.model._checks import FeatureMismatchError, TrainingDataError, check_feature_names
from hrlc.model.bundle import ModelBundle, SvmArrays, load_bundle
from hrlc.model.calibration import (AGGREGATIONS, Calibrator, expected_calibration_error,
                                    normalise_probabilities, probabilities_from_scores,
                                    reliability_curves, softmax)
from hrlc.model.evaluation import classification_metrics
from hrlc.model.olofsson import area_adjusted_accuracy
from hrlc.model.pca import ScreePCA, elbow_count, variance_count
from hrlc.model.scaling import make_scaler, scaler_arrays
from hrlc.model.selection import (MulticollinearityFilter, PermutationImportanceSVC,
                                  correlation_matrix, make_rfecv, variance_inflation)
from hrlc.model.svm import MulticlassSVM, OneVsAllSVM, uncalibrated
from hrlc.model.train import SVM_KINDS, VARIANTS, TrainResult, train_model

__all__ = [
    "AGGREGATIONS",
    "Calibrator",
    "FeatureMismatchError",
    "ModelBundle",
    "MulticlassSVM",
    "MulticollinearityFilter",
    "OneVsAllSVM",
    "PermutationImportanceSVC",
    "SVM_KINDS",
    "ScreePCA",
    "SvmArrays",
    "TrainResult",
    "TrainingDataError",
    "VARIANTS",
    "area_adjusted_accuracy",
    "check_feature_names",
    "classification_metrics",
    "correlation_matrix",
    "elbow_count",
    "expected_calibration_error",
    "file_checksum",
    "load_bundle",
    "make_rfecv",
    "make_scaler",
    "normalise_probabilities",
    "probabilities_from_scores",
    "reliability_curves",
    "scaler_arrays",
    "softmax",
    "train_model",
    "uncalibrated",
    "variance_count",
    "variance_inflation",
]
