"""The layout of a model bundle file (format versions 1-3): fitted objects to JSON metadata
plus named arrays, and back (see :mod:`hrlc.model.bundle` for the entries and versions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hrlc.model import _state
from hrlc.model.calibration import Calibrator
from hrlc.model.forest import ForestArrays
from hrlc.model.pca import ScreePCA
from hrlc.model.svm import MulticlassSVM, OneVsAllSVM
from hrlc.versions import library_versions

if TYPE_CHECKING:
    from hrlc.model.bundle import ModelBundle

FORMAT = "hrlc-model"
#: The newest format version this hrlc reads. A bundle is written with the oldest version
#: that holds it: 2 for an SVM, 3 for a random forest (which version 2 readers refuse as
#: "newer than this hrlc reads" instead of failing on its unknown classifier).
VERSION = 3
_SVM_VERSION = 2


def code(value):
    """Class codes as Python ints where they are integral (JSON keys are strings)."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value.item() if hasattr(value, "item") else value


def versions() -> dict:
    """Versions of the software that writes or reads a bundle: ``hrlc``,
    ``scikit-learn`` and ``numpy`` (:func:`hrlc.versions.library_versions`)."""
    return library_versions(("hrlc", "scikit-learn", "numpy"))


def _describe_forest(forest: ForestArrays, arrays: dict) -> dict:
    return {"kind": "random_forest", "n_features": forest.n_features,
            "allow_nan": forest.allow_nan,
            "params": {k: _state.encode(v, f"params/{k}", arrays)
                       for k, v in forest.params.items()},
            "arrays": {name: _state.encode(a, f"forest/{name}", arrays)
                       for name, a in forest.arrays().items()}}


def _describe_svm(bundle: ModelBundle, arrays: dict) -> dict:
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
                                         "n_unique_support_vectors_", "calibration_",
                                         "selection_metric_", "temperature_")
             if hasattr(c, k)}
    if hasattr(c, "class_weight_") and isinstance(c.class_weight_, (str, type(None))):
        fitted["class_weight_"] = c.class_weight_  # a dict's int keys would not survive JSON
    return {
        "kind": bundle.kind,
        "params": {k: _state.encode(v, f"params/{k}", arrays) for k, v in c.get_params().items()},
        "fitted": {k: _state.encode(v, f"fitted/{k}", arrays) for k, v in fitted.items()},
        "svms": [_state.dump_object(s, f"svm/{i}/", arrays) for i, s in enumerate(svcs)],
        "calibrators": calibrators,
    }


def describe(bundle: ModelBundle, arrays: dict) -> dict:
    """The metadata of ``bundle``; its arrays are put in ``arrays``."""
    forest = bundle.kind == "random_forest"
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
        "format": FORMAT, "version": VERSION if forest else _SVM_VERSION,
        "created": datetime.now(UTC).isoformat(),
        "software": versions(), "input_features": bundle.input_features,
        "class_table": [[_state.encode(code(k), "ct", arrays), v]
                        for k, v in bundle.class_table.items()],
        "training": bundle.training,
        "impute": (None if bundle.impute_values is None else
                   _state.encode(bundle.impute_values, "impute/values", arrays)),
        "scaler": (None if bundle.scaler is None else
                   _state.dump_object(bundle.scaler, "scaler/", arrays)),
        "pca": pca,
        "classifier": (_describe_forest(bundle.classifier, arrays) if forest else
                       _describe_svm(bundle, arrays)),
        "probe": probe,
    }


def _rebuild_forest(spec: dict, arrays, path) -> ForestArrays:
    from hrlc.errors import CorruptFileError

    try:
        return ForestArrays.from_arrays(
            {name: _state.decode(v, arrays) for name, v in spec["arrays"].items()},
            n_features=spec["n_features"], allow_nan=spec["allow_nan"],
            params={k: _state.decode(v, arrays) for k, v in spec["params"].items()})
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(f"{path}: the model bundle's random forest is damaged ({exc}); "
                               "train it again with `hrlc train`") from None


def rebuild_classifier(spec: dict, arrays, *, version: int = VERSION, path="the bundle"):
    """The fitted classifier (and calibrators) described by ``describe`` in a bundle of
    format ``version`` read from ``path``.

    Raises
    ------
    CorruptFileError
        A random forest whose arrays do not form valid trees.
    """
    if spec["kind"] == "random_forest":
        return _rebuild_forest(spec, arrays, path)
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
