"""The layout of a model bundle file (format version 2): fitted objects to JSON metadata
plus named arrays, and back (see :mod:`hrlc.model.bundle` for the entries and versions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hrlc.model import _state
from hrlc.model.calibration import Calibrator
from hrlc.model.pca import ScreePCA
from hrlc.model.svm import MulticlassSVM, OneVsAllSVM

if TYPE_CHECKING:
    from hrlc.model.bundle import ModelBundle

FORMAT = "hrlc-model"
VERSION = 2


def code(value):
    """Class codes as Python ints where they are integral (JSON keys are strings)."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value.item() if hasattr(value, "item") else value


def versions() -> dict:
    """Versions of the software that writes or reads a bundle."""
    import sklearn

    from hrlc import __version__

    return {"hrlc": __version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__}


def describe(bundle: ModelBundle, arrays: dict) -> dict:
    """The metadata of ``bundle``; its arrays are put in ``arrays``."""
    c = bundle.classifier
    svcs = c.svcs_ if bundle.kind == "ova" else [c.svc_]
    calibrators = None
    if c.calibrators_ is not None:
        calibrators = []
        for i, cal in enumerate(c.calibrators_):
            calibrators.append({"method": cal.method, "a": cal.a, "b": cal.b,
                                "x": _state.encode(cal.x, f"calibration/{i}/x", arrays),
                                "y": _state.encode(cal.y, f"calibration/{i}/y", arrays)})
    fitted = {k: getattr(c, k) for k in ("classes_", "n_features_in_", "best_params_",
                                         "cv_results_", "gamma_scale_", "n_support_vectors_",
                                         "n_unique_support_vectors_") if hasattr(c, k)}
    pca = None
    if bundle.pca is not None:
        p = bundle.pca
        pca = {"params": p.get_params(), "n_features_in_": p.n_features_in_,
               "n_components_": p.n_components_, "n_variance_": p.n_variance_,
               "n_elbow_": p.n_elbow_,
               "mean_": _state.encode(p.mean_, "pca/mean", arrays),
               "components_": _state.encode(p.components_, "pca/components", arrays),
               "explained_variance_ratio_": _state.encode(p.explained_variance_ratio_,
                                                          "pca/ratios", arrays)}
    probe = None
    if bundle.probe_X is not None:
        probe = {"X": _state.encode(bundle.probe_X, "probe/X", arrays),
                 "scores": _state.encode(bundle.probe_scores, "probe/scores", arrays)}
    from datetime import UTC, datetime

    return {
        "format": FORMAT, "version": VERSION, "created": datetime.now(UTC).isoformat(),
        "software": versions(), "input_features": bundle.input_features,
        "class_table": [[_state.encode(code(k), "ct", arrays), v]
                        for k, v in bundle.class_table.items()],
        "training": bundle.training,
        "impute": (None if bundle.impute_values is None else
                   _state.encode(bundle.impute_values, "impute/values", arrays)),
        "scaler": (None if bundle.scaler is None else
                   _state.dump_object(bundle.scaler, "scaler/", arrays)),
        "pca": pca,
        "classifier": {
            "kind": bundle.kind,
            "params": {k: _state.encode(v, f"params/{k}", arrays)
                       for k, v in c.get_params().items()},
            "fitted": {k: _state.encode(v, f"fitted/{k}", arrays) for k, v in fitted.items()},
            "svms": [_state.dump_object(s, f"svm/{i}/", arrays) for i, s in enumerate(svcs)],
            "calibrators": calibrators,
        },
        "probe": probe,
    }


def rebuild_classifier(spec: dict, arrays, *, version: int = VERSION):
    """The fitted classifier (and calibrators) described by ``describe`` in a bundle of
    format ``version``."""
    cls = OneVsAllSVM if spec["kind"] == "ova" else MulticlassSVM
    params = {k: _state.decode(v, arrays) for k, v in spec["params"].items()}
    if version < 2 and params.get("aggregation") == "softmax":
        # format 1 had one softmax: of the raw decision values, now "score_softmax"
        params["aggregation"] = "score_softmax"
    clf = cls(**params)
    for k, v in spec["fitted"].items():
        setattr(clf, k, _state.decode(v, arrays))
    svcs = [_state.load_object(s, arrays) for s in spec["svms"]]
    if spec["kind"] == "ova":
        clf.svcs_ = svcs
    else:
        clf.svc_ = svcs[0]
    clf.calibrators_ = None if spec["calibrators"] is None else [
        Calibrator(c["method"], x=_state.decode(c["x"], arrays), y=_state.decode(c["y"], arrays),
                   a=c["a"], b=c["b"]) for c in spec["calibrators"]]
    return clf


def rebuild_pca(spec: dict, arrays) -> ScreePCA:
    """The fitted PCA described by ``describe``."""
    pca = ScreePCA(**spec["params"])
    for key in ("n_features_in_", "n_components_", "n_variance_", "n_elbow_"):
        setattr(pca, key, spec[key])
    for key in ("mean_", "components_", "explained_variance_ratio_"):
        setattr(pca, key, _state.decode(spec[key], arrays))
    return pca
