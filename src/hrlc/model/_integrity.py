"""Bundles verify themselves: a content checksum and a refusal of non-finite numbers.

Checksum record (``meta["integrity"]``, written by :meth:`hrlc.model.ModelBundle.save`,
checked by :func:`hrlc.model.load_bundle`)::

    {"algorithm": "sha256",
     "metadata": {key: sha256 of the canonical JSON (sorted keys, no spaces) of that
                  entry, read back from the file's JSON text; every top-level entry of the
                  metadata but this record},
     "arrays": {name: sha256 of "<dtype>|<shape>|" + the C-order bytes, for every array}}

(:func:`hrlc.io.checksum.json_digest` and :func:`~hrlc.io.checksum.array_digest`; the
bytes they hash must never change, or every bundle saved before would be refused as
modified: ``tests/model/test_old_bundles.py`` reads bundles written by hrlc 0.1.0.)

A digest per metadata entry and per array lets the message name what changed (e.g.
``metadata entry input_features``, ``array calibration/0/y``, an array added or
removed). The record is no signature: whoever edits a bundle on purpose can recompute
it; it catches an edited or damaged file, which the probe (decision values of a
few training rows, recomputed at loading) would otherwise blame on the scikit-learn
version, or not catch at all (reordered feature names, a NaN in a calibrator).

Bundles written before the record (no ``integrity`` key) are read as before, with a
warning. The record came with format version 1 (older hrlc versions ignore it); version 2
renamed an aggregation and version 3 added the random forest (see :mod:`hrlc.model.bundle`).

Non-finite numbers (NaN, inf) are refused anywhere in the arrays and in the numbers of
the fitted objects (calibrator ``a``/``b``, the SVM's ``_gamma`` ...), at saving and at
loading; the training record (``training``, ``cv_results_``) is left out.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from hrlc.io.checksum import array_digest, json_digest

ALGORITHM = "sha256"
#: The metadata sections that hold the fitted model (the others are records).
MODEL_SECTIONS = ("impute", "scaler", "pca", "classifier")
_RECORDS = ("cv_results_",)
_LISTED = 5


def _metadata_digests(meta: dict) -> dict[str, str]:
    body = {k: v for k, v in meta.items() if k != "integrity"}
    # read back from JSON first: tuples become lists and int keys strings, as in the file
    body = json.loads(json.dumps(body))
    return {key: json_digest(value) for key, value in sorted(body.items())}


def seal(meta: dict, arrays: dict[str, np.ndarray]) -> dict:
    """``meta`` with its checksum record over ``meta`` and ``arrays`` (a new dict)."""
    record = {"algorithm": ALGORITHM, "metadata": _metadata_digests(meta),
              "arrays": {name: array_digest(arrays[name]) for name in sorted(arrays)}}
    return {**{k: v for k, v in meta.items() if k != "integrity"}, "integrity": record}


def _differences(expected: dict, actual: dict, what: str) -> list[str]:
    changes = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            changes.append(f"{what} {name} was removed")
        elif name not in expected:
            changes.append(f"{what} {name} was added")
        elif expected[name] != actual[name]:
            changes.append(f"{what} {name} changed")
    return changes


def _listing(items: list[str]) -> str:
    more = f" and {len(items) - _LISTED} more" if len(items) > _LISTED else ""
    return ", ".join(items[:_LISTED]) + more


def verify(meta: dict, arrays: dict[str, np.ndarray], *, path: str | os.PathLike) -> bool:
    """Check the checksum record of a bundle read from ``path``.

    Returns
    -------
    bool
        True when the record matches, False when the bundle has none (written before
        bundles carried one).

    Raises
    ------
    CorruptFileError
        The metadata or an array differs from what was written, or an array was added
        or removed ("modified since it was written", naming them).
    """
    from hrlc.errors import CorruptFileError

    record = meta.get("integrity")
    if record is None:
        return False
    if (not isinstance(record, dict) or record.get("algorithm") != ALGORITHM
            or not isinstance(record.get("metadata"), dict)
            or not isinstance(record.get("arrays"), dict)):
        raise CorruptFileError(
            f"{path}: the model bundle's checksum record is damaged or of an unknown kind "
            f"({str(record)[:60]!r}); it was modified since it was written: restore the "
            "original file or train it again with `hrlc train`")
    changes = (_differences(record["metadata"], _metadata_digests(meta), "metadata entry")
               + _differences(record["arrays"], {name: array_digest(array) for name, array
                                                 in arrays.items()}, "array"))
    if changes:
        raise CorruptFileError(
            f"{path}: the model bundle was modified since it was written ({_listing(changes)})"
            ": its content no longer matches the checksum recorded when it was saved, so "
            "its predictions cannot be trusted; restore the original file or train it again "
            "with `hrlc train`")
    return True


def _scalar_problem(value: float) -> str:
    return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _walk(value, where: str, found: list[str]) -> None:
    """Non-finite JSON numbers of the metadata, decoding the forms of ``_state.encode``."""
    if isinstance(value, float) and not math.isfinite(value):
        found.append(f"{where} ({_scalar_problem(value)})")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _walk(item, f"{where}[{i}]", found)
    elif isinstance(value, dict):
        marker = next(iter(value)) if len(value) == 1 else None
        if marker == "float":
            _walk(float(value["float"]), where, found)
        elif marker in ("tuple", "list"):
            _walk(value[marker], where, found)
        elif marker == "dict":
            for key, item in value["dict"]:
                _walk(item, f"{where}.{key}", found)
        elif not ("array" in value and set(value) <= {"array", "scalar"}):
            # (arrays are checked on their own)
            for key, item in value.items():
                if key not in _RECORDS:
                    _walk(item, f"{where}.{key}", found)


def nonfinite_entries(meta: dict, arrays: dict[str, np.ndarray]) -> list[str]:
    """Where a bundle holds NaN or inf: ``"name (n NaN, m inf)"`` per array, then
    ``"section.path (NaN)"`` per number of the fitted objects in ``meta``."""
    found = []
    for name in sorted(arrays):
        array = np.asarray(arrays[name])
        if array.dtype.kind not in "fc":
            continue
        nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
        counts = [f"{n} {label}" for n, label in ((nan, "NaN"), (inf, "inf")) if n]
        if counts:
            found.append(f"{name} ({', '.join(counts)})")
    for section in MODEL_SECTIONS:
        _walk(meta.get(section), section, found)
    return found


def check_finite(meta: dict, arrays: dict[str, np.ndarray], *, path: str | os.PathLike,
                 saving: bool = False) -> None:
    """Refuse a bundle that holds NaN or inf, naming where.

    Raises
    ------
    CorruptFileError
        A bundle read from ``path`` holds them.
    TrainingDataError
        ``saving``: a model about to be written to ``path`` (or described by it) holds
        them.
    """
    from hrlc.errors import CorruptFileError, TrainingDataError

    found = nonfinite_entries(meta, arrays)
    if not found:
        return
    if saving:
        raise TrainingDataError(
            f"cannot save {path}: the model holds non-finite values ({_listing(found)}); a "
            "bundle must hold finite numbers only: check the training samples for NaN, inf "
            "or constant features (nan_policy) and train again")
    raise CorruptFileError(
        f"{path}: the model bundle holds non-finite values ({_listing(found)}); a bundle must "
        "hold finite numbers only (a NaN leaves a class never probable or gives one class "
        "every pixel): train it again with `hrlc train`")


def probe_message(path, *, saved: str | None, current: str, sealed: bool) -> str:
    """Why the probe's decision values were not reproduced, without blaming the
    scikit-learn version when it is the same."""
    if saved != current:
        note = "" if sealed else " (the bundle predates checksums, so an edit is also possible)"
        return (f"{path}: this installation (scikit-learn {current}) does not reproduce the "
                f"decision values recorded at training (scikit-learn {saved}){note}; install "
                "that version or retrain the model")
    if sealed:
        return (f"{path}: this installation does not reproduce the decision values recorded "
                f"at training with the same scikit-learn ({current}), although the bundle is "
                "unchanged since it was written; numpy or its BLAS may compute differently "
                "here: train the model again on this installation")
    return (f"{path}: the model does not reproduce the decision values recorded at training "
            f"with the same scikit-learn ({current}); the bundle was most likely edited since "
            "it was written (it predates bundle checksums): restore the original file or "
            "train it again with `hrlc train`")

