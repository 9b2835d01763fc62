"""The model bundle: everything needed to predict, in one versioned file without pickle.

File format (version 3)
-----------------------
One ``.npz`` archive (``numpy.load(path, allow_pickle=False)`` reads it; the archive itself
is written and read by :mod:`hrlc.io.bundle_file`, its content is built here). The entry
``__meta__`` is UTF-8 JSON (as uint8) with ``format = "hrlc-model"``, ``version``, the
software versions, the input feature names in order, the class codes and class table,
the training record (configuration, data checksum, sample counts) and the description of
every fitted object; all other entries are the arrays those descriptions point to:

- ``impute/values`` (n_input,): medians replacing NaN (only with ``nan_policy: impute``);
- ``scaler/<attr>``: the fitted scikit-learn scaler's attributes (e.g. ``mean_``);
- ``pca/mean`` (n_input,), ``pca/components`` (n_model, n_input), ``pca/ratios``;
- ``svm/<i>/<attr>``: the fitted ``SVC``'s attributes, one SVM (multiclass) or one per
  class (one-vs-all): ``support_vectors_``, ``_dual_coef_``, ``_intercept_``,
  ``_n_support``, ``_gamma``, ``classes_`` ...;
- ``calibration/<i>/x``, ``calibration/<i>/y`` (isotonic) or ``calibration/a``,
  ``calibration/b`` (sigmoid), one calibrator per class;
- ``forest/<name>`` instead of the SVM entries for a random forest: its trees as arrays,
  all nodes concatenated (``offsets``, ``children_left``, ``children_right``,
  ``feature``, ``threshold``, ``missing_go_to_left``, ``leaf_value``, ``value``: the
  distinct class-probability rows of the leaves; see :class:`hrlc.model.forest.ForestArrays`);
- ``probe/X``, ``probe/scores``: a few training rows and their decision scores (a
  forest: probabilities), recomputed on loading to prove that this installation
  predicts what the trainer did.

Version 2 differs from version 1 in one name: the one-vs-all ``aggregation`` "softmax" is
now the softmax of the *calibrated* binary probabilities, and the softmax of the raw
decision values, which version 1 called "softmax", is "score_softmax". A version 1 bundle
is read with its "softmax" as "score_softmax", so it predicts what it did; hrlc versions
that know only version 1 refuse a version 2 bundle rather than misread its "softmax".
Version 3 adds the random forest; a bundle is written with the oldest version that holds
it (an SVM: 2, a forest: 3), so hrlc versions that know only version 2 still read SVM
bundles and refuse forests as "newer than this hrlc reads".

The metadata's ``integrity`` record holds a SHA-256 checksum of the metadata and of every
array, written at saving and checked at loading (:mod:`hrlc.model._integrity`): an
edited bundle is refused as "modified since it was written"; NaN or inf anywhere in the
model is refused at saving and at loading. Bundles written before the record load with a
warning. Only the scikit-learn classes listed in :data:`hrlc.model._state.TRUSTED` are
rebuilt; a forest is rebuilt from its arrays only, after checking that they form trees.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from hrlc.io.bundle_file import read_bundle_file, write_bundle_file
from hrlc.model import _integrity, _state
from hrlc.model._checks import check_feature_names
from hrlc.model._layout import (FORMAT, VERSION, code, describe, rebuild_classifier,
                                rebuild_pca, versions)
from hrlc.model.calibration import Calibrator
from hrlc.model.forest import ForestArrays
from hrlc.model.svm import OneVsAllSVM
from hrlc.model.svm_arrays import SvmArrays  # noqa: F401 (also hrlc.model.bundle.SvmArrays)


class ModelBundle:
    """A trained model: imputation, scaler, PCA, SVM(s) and calibrators or a random forest,
    with its features.

    Build it with :func:`hrlc.model.train_model`; save with :meth:`save`, load with
    :func:`load_bundle`.

    Parameters
    ----------
    input_features : list of str
        Feature names the model reads, in order (the selected features).
    classifier : MulticlassSVM, OneVsAllSVM, ForestArrays or RandomForestClassifier
        Fitted on ``transform`` of the training samples (a MulticlassSVM without
        calibration maps classes only: it has no probabilities). A fitted scikit-learn
        ``RandomForestClassifier`` is kept as its arrays (:class:`ForestArrays`), so that
        a trained and a loaded bundle predict alike.
    scaler : fitted scikit-learn scaler or None
    pca : ScreePCA or None
    impute_values : ndarray (n_input,) or None
        Replacement of NaN per input feature.
    class_table : dict
        code -> {"name": ..., "colour": ...}.
    training : dict
        Training record (configuration, checksums, counts); JSON-ready.
    """

    def __init__(self, *, input_features, classifier, scaler=None, pca=None,
                 impute_values=None, class_table=None, training=None):
        from sklearn.ensemble import RandomForestClassifier

        self.input_features = [str(f) for f in input_features]
        self.classifier = (ForestArrays.from_sklearn(classifier)
                           if isinstance(classifier, RandomForestClassifier) else classifier)
        self.scaler = scaler
        self.pca = pca
        self.impute_values = None if impute_values is None else np.asarray(impute_values,
                                                                            np.float64)
        self.class_table = {code(k): dict(v) for k, v in (class_table or {}).items()}
        self.training = dict(training or {})
        self.probe_X: np.ndarray | None = None
        self.probe_scores: np.ndarray | None = None
        self.metadata: dict = {}

    # ---- description -------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``"multiclass"``, ``"multiclass_uncalibrated"``, ``"ova"`` or
        ``"random_forest"`` (the ``classifier`` option it was trained with)."""
        if isinstance(self.classifier, ForestArrays):
            return "random_forest"
        if isinstance(self.classifier, OneVsAllSVM):
            return "ova"
        return "multiclass" if self.classifier.calibration is not None else (
            "multiclass_uncalibrated")

    @property
    def variant(self) -> str:
        """Report key of the classifier: ``svm_<kind>``, or ``random_forest``."""
        return self.kind if self.kind == "random_forest" else f"svm_{self.kind}"

    def summary(self) -> str:
        """One line: the variant, input features and what a pixel costs."""
        c = self.classifier
        cost = (f"{c.n_trees} trees, {c.n_nodes} nodes" if self.kind == "random_forest" else
                f"{self.n_support_vectors} support vectors")
        return f"{self.variant}, {len(self.input_features)} input features, {cost}"

    @property
    def classes(self) -> np.ndarray:
        """Class codes, in the order of the probability columns."""
        return self.classifier.classes_

    @property
    def class_names(self) -> dict:
        return {c: str(self.class_table.get(code(c), {}).get("name", c)) for c in
                self.classes.tolist()}

    @property
    def n_support_vectors(self) -> int:
        """Kernel evaluations per pixel (one-vs-all: shared samples counted once; a
        forest: 0)."""
        c = self.classifier
        if self.kind == "random_forest":
            return 0
        return int(getattr(c, "n_unique_support_vectors_", c.n_support_vectors_))

    def svm_arrays(self) -> list[SvmArrays]:
        """The SVM(s) as arrays: one (multiclass) or one per class in ``classes`` order.

        Raises
        ------
        TypeError
            The bundle holds a random forest (its arrays: ``classifier``).
        """
        if self.kind == "random_forest":
            raise TypeError("this bundle holds a random forest, not an SVM: its trees are "
                            "bundle.classifier (ForestArrays)")
        svcs = self.classifier.svcs_ if self.kind == "ova" else [self.classifier.svc_]
        return [SvmArrays.from_svc(s) for s in svcs]

    @property
    def calibrators(self) -> list[Calibrator] | None:
        """One calibrator per class (one for a two-class multiclass SVM), or None (also
        for a forest)."""
        return getattr(self.classifier, "calibrators_", None)

    def probability_rule(self) -> dict:
        """How labels and probabilities follow from the decision scores.

        ``kind``: as :attr:`kind`; ``labels``: ``decision`` (multiclass: the one-vs-one
        vote, as ``SVC.predict``; one-vs-all: the largest binary decision value) or
        ``probability`` (the most probable class); ``calibration`` (None: the uncalibrated
        multiclass SVM, no probabilities), ``aggregation``, ``temperature``: see
        :func:`hrlc.model.probabilities_from_scores`. A forest: labels ``probability``,
        aggregation ``tree_mean`` (the mean of its trees' leaf probabilities).
        """
        c = self.classifier
        if self.kind == "random_forest":
            return {"kind": self.kind, "calibration": None, "labels": c.labels,
                    "aggregation": "tree_mean", "temperature": 1.0}
        return {"kind": self.kind, "calibration": c.calibration, "labels": c.labels,
                "aggregation": getattr(c, "aggregation", "normalise"),
                "temperature": float(getattr(c, "temperature", 1.0))}

    def preprocessing_arrays(self) -> dict:
        """Imputation values, scaler parameters and PCA axes as plain arrays.

        ``transform(X) = ((impute(X) -> scaler) - pca_mean) @ pca_components.T``; see
        :func:`hrlc.model.scaling.scaler_arrays` for the scaler formula.
        """
        from hrlc.model.scaling import scaler_arrays

        return {"impute_values": self.impute_values, "scaler": scaler_arrays(self.scaler),
                "pca_mean": None if self.pca is None else self.pca.mean_,
                "pca_components": None if self.pca is None else self.pca.components_}

    # ---- features ----------------------------------------------------------------------
    def check_features(self, names, *, what: str = "the features") -> list[int]:
        """Positions of the input features in ``names``; raise listing missing/extra ones."""
        return check_feature_names(self.input_features, names, what=what)

    def check_cube(self, cube) -> list[int]:
        """Positions of the input features along a (feature, y, x) cube's ``feature`` coord.

        Raises
        ------
        FeatureMismatchError
            The cube lacks some of the model's features (missing and extra are listed).
        """
        return self.check_features(cube.coords["feature"].values.tolist(),
                                   what="the cube's features")

    def _matrix(self, X) -> np.ndarray:
        if hasattr(X, "columns"):
            from hrlc.model.samples import RESERVED

            candidates = [c for c in X.columns if c not in RESERVED]
            X = X[candidates].iloc[:, self.check_features(candidates)]
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.input_features):
            raise ValueError(f"expected (n_samples, {len(self.input_features)}) features in "
                             f"the order of input_features, got shape {X.shape}")
        return X

    # ---- prediction (reference path through scikit-learn) -------------------------------
    def transform(self, X) -> np.ndarray:
        """Model features (n, n_model) from input features X (n, n_input), float64.

        X is an array in ``input_features`` order or a DataFrame (columns by name).
        """
        X = self._matrix(X)
        if self.impute_values is not None:
            X = np.where(np.isnan(X), self.impute_values, X)
        if self.scaler is not None:
            X = self.scaler.transform(X)
        if self.pca is not None:
            X = self.pca.transform(X)
        return X

    def decision_scores(self, X) -> np.ndarray:
        """The classifier's decision scores of input features X (see the classifiers; a
        forest: its probabilities)."""
        return self.classifier.decision_scores(self.transform(X))

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n, n_classes) of input features X.

        Raises
        ------
        AttributeError
            The classifier is the uncalibrated multiclass SVM (no probabilities).
        """
        if not hasattr(self.classifier, "predict_proba"):
            raise AttributeError("this bundle's classifier is the uncalibrated multiclass SVM "
                                 "(classifier: multiclass_uncalibrated): it gives classes, "
                                 "no probabilities; train with classifier: multiclass for "
                                 "calibrated ones")
        return self.classifier.predict_proba(self.transform(X))

    def predict(self, X) -> np.ndarray:
        """Class codes (n,) of input features X."""
        return self.classifier.predict(self.transform(X))

    # ---- files -------------------------------------------------------------------------
    def _contents(self, target) -> tuple[dict, dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        meta = describe(self, arrays)
        _integrity.check_finite(meta, arrays, path=target, saving=True)
        return meta, arrays

    def check_finite(self) -> None:
        """Raise what :meth:`save` would: a TrainingDataError naming each NaN or inf of
        the model (arrays, calibrator parameters), before anything is written."""
        self._contents("the trained model")

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the bundle (atomically) to ``path`` (``.npz``) with its checksum record;
        returns the path.

        Raises
        ------
        TrainingDataError
            The model holds NaN or inf (named); nothing is written.
        OutputExistsError
            ``path`` exists and ``overwrite`` is false.
        """
        path = Path(path)
        meta, arrays = self._contents(path)
        return write_bundle_file(path, _integrity.seal(meta, arrays), arrays,
                                 overwrite=overwrite)


def load_bundle(path: str | os.PathLike, *, verify: bool = True) -> ModelBundle:
    """Read a bundle written by :meth:`ModelBundle.save`.

    Parameters
    ----------
    path : path
    verify : bool
        Recompute the stored probe predictions and fail if they changed (e.g. under
        another scikit-learn version). The checksum is always checked.

    Raises
    ------
    CorruptFileError
        Not a bundle, an unknown format version, modified since it was written (checksum),
        NaN or inf in the model, untrusted content, or predictions that differ from those
        recorded at training time.

    Warns
    -----
    UserWarning
        Saved with another scikit-learn version, or written before bundles carried a
        checksum (accepted: edits cannot be detected).
    """
    from hrlc.errors import CorruptFileError

    path = Path(path)
    meta, arrays = read_bundle_file(path)
    found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
    if found != FORMAT:
        raise CorruptFileError(f"{path}: not an hrlc model bundle (format {found!r}); give "
                               "the model.npz written by `hrlc train`")
    if meta.get("version", 0) > VERSION:
        raise CorruptFileError(f"{path}: bundle format version {meta['version']} is newer than "
                               f"this hrlc reads ({VERSION}); upgrade hrlc")
    sealed = _integrity.verify(meta, arrays, path=path)
    _integrity.check_finite(meta, arrays, path=path)
    if not sealed:
        warnings.warn(f"{path} was written before model bundles carried a checksum; it is "
                      "accepted, but an edit since it was written cannot be detected: save it "
                      "again (load_bundle(path).save(new_path)) or train it again to add one",
                      UserWarning, stacklevel=2)
    saved, current = meta["software"], versions()
    if saved.get("scikit-learn") != current["scikit-learn"]:
        warnings.warn(f"{path} was saved with scikit-learn {saved.get('scikit-learn')}, this is "
                      f"{current['scikit-learn']}; predictions are checked on the stored probe",
                      UserWarning, stacklevel=2)
    bundle = ModelBundle(
        input_features=meta["input_features"],
        classifier=rebuild_classifier(meta["classifier"], arrays,
                                      version=meta.get("version", 1), path=path),
        scaler=None if meta["scaler"] is None else _state.load_object(meta["scaler"], arrays),
        pca=None if meta["pca"] is None else rebuild_pca(meta["pca"], arrays),
        impute_values=None if meta["impute"] is None else _state.decode(meta["impute"], arrays),
        class_table={_state.decode(k, arrays): v for k, v in meta["class_table"]},
        training=meta["training"])
    bundle.metadata = {k: meta[k] for k in ("format", "version", "created", "software")}
    bundle.metadata["integrity"] = "verified" if sealed else "absent (written before checksums)"
    if meta["probe"] is not None:
        bundle.probe_X = _state.decode(meta["probe"]["X"], arrays)
        bundle.probe_scores = _state.decode(meta["probe"]["scores"], arrays)
        if verify and not np.allclose(bundle.decision_scores(bundle.probe_X),
                                      bundle.probe_scores, rtol=0, atol=1e-9):
            raise CorruptFileError(_integrity.probe_message(
                path, saved=saved.get("scikit-learn"), current=current["scikit-learn"],
                sealed=sealed))
    return bundle

