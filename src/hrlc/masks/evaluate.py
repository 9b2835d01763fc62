"""Scores of cloud masks against reference masks (CloudSEN12 codes).

The confusion matrix counts pixels whose reference is valid (not 255): rows are the
reference classes 0 clear, 1 thick cloud, 2 thin cloud, 3 cloud shadow; columns the
predicted classes and a fifth column for predictions of no data (a pixel the method
gave up on counts against the recall of its reference class and in no precision).

Per class: precision ``TP / (TP + FP)``, recall ``TP / (TP + FN)``, F1 (their harmonic
mean) and IoU ``TP / (TP + FP + FN)``; ``cloud`` merges thick and thin cloud (the
class most comparisons report), ``support`` is the number of reference pixels.
Undefined ratios (no prediction, no reference pixel) are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np
import xarray as xr

from hrlc.errors import GridMismatchError

#: Scored classes (CloudSEN12 code -> name); "cloud" is thick and thin together.
CLASSES = {0: "clear", 1: "thick cloud", 2: "thin cloud", 3: "cloud shadow"}
GROUPS = {"clear": (0,), "thick cloud": (1,), "thin cloud": (2,), "cloud": (1, 2),
          "cloud shadow": (3,)}
_N = len(CLASSES) + 1  # + "no data" predicted


def _index(codes: np.ndarray) -> np.ndarray:
    """Class code -> row/column (0-3 as they are, anything else -> 4, no data)."""
    codes = np.asarray(codes)
    return np.where(codes < len(CLASSES), codes, len(CLASSES)).astype(np.int64)


def _block_counts(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    valid = np.asarray(ref) != 255
    flat = _index(ref[valid]) * _N + _index(pred[valid])
    return np.bincount(flat, minlength=_N * _N)


@dataclass(frozen=True)
class MaskScores:
    """Confusion matrix and per-class scores of one predicted mask.

    Attributes
    ----------
    confusion : ndarray (4, 5), int64
        Pixels by reference class (rows 0-3) and predicted class (columns 0-3, no data).
    """

    confusion: np.ndarray

    def group(self, name: str) -> dict[str, float]:
        """Precision, recall, F1, IoU and support of a class or group (:data:`GROUPS`)."""
        codes = list(GROUPS[name])
        tp = float(self.confusion[np.ix_(codes, codes)].sum())
        reference = float(self.confusion[codes].sum())
        predicted = float(self.confusion[:, codes].sum())
        fp, fn = predicted - tp, reference - tp

        def ratio(a: float, b: float) -> float:
            return a / b if b > 0 else float("nan")

        precision, recall = ratio(tp, predicted), ratio(tp, reference)
        f1 = ratio(2 * tp, 2 * tp + fp + fn) if reference + predicted > 0 else float("nan")
        return {"precision": precision, "recall": recall, "f1": f1,
                "iou": ratio(tp, tp + fp + fn), "support": int(reference)}

    @property
    def accuracy(self) -> float:
        """Share of valid reference pixels given their class."""
        total = self.confusion.sum()
        return float(np.trace(self.confusion[:, :4]) / total) if total else float("nan")

    def to_dict(self) -> dict:
        """JSON-ready scores: per group, overall accuracy and the confusion matrix."""
        return {"scores": {name: self.group(name) for name in GROUPS},
                "accuracy": self.accuracy,
                "confusion": {"rows (reference)": list(CLASSES.values()),
                              "columns (predicted)": [*CLASSES.values(), "no data"],
                              "counts": self.confusion.tolist()}}


def _as_array(mask) -> np.ndarray | da.Array:
    data = mask.data if isinstance(mask, xr.DataArray) else mask
    return data if isinstance(data, da.Array) else np.asarray(data)


def evaluate_masks(pred: xr.DataArray | np.ndarray, ref: xr.DataArray | np.ndarray
                   ) -> MaskScores:
    """Score a predicted mask against a reference mask of the same grid.

    Parameters
    ----------
    pred, ref : DataArray or array (..., y, x), uint8
        CloudSEN12 codes (0 clear, 1 thick cloud, 2 thin cloud, 3 cloud shadow, 255 no
        data), same shape; DataArrays with ``y``/``x`` coordinates must also agree on
        them. Computed chunk by chunk (only counts are kept).

    Returns
    -------
    MaskScores

    Raises
    ------
    GridMismatchError
        Shapes or coordinates differ.
    """
    if isinstance(pred, xr.DataArray) and isinstance(ref, xr.DataArray):
        for dim in ("y", "x"):
            if dim in pred.coords and dim in ref.coords and (
                    pred.sizes[dim] != ref.sizes[dim]
                    or not np.allclose(pred[dim].values, ref[dim].values)):
                raise GridMismatchError(
                    f"predicted and reference masks are on different grids (coordinate {dim}); "
                    "reproject one onto the other with hrlc.geo.reproject_match(..., "
                    "resampling='nearest')")
    p, r = _as_array(pred), _as_array(ref)
    if p.shape != r.shape:
        raise GridMismatchError(f"predicted mask has shape {p.shape}, reference {r.shape}; "
                                "they must cover the same dates and grid")
    if isinstance(p, da.Array) or isinstance(r, da.Array):
        p = p if isinstance(p, da.Array) else da.from_array(p, chunks=r.chunks)
        r = r if isinstance(r, da.Array) else da.from_array(r, chunks=p.chunks)
        r = r.rechunk(p.chunks)
        parts = [dask.delayed(_block_counts)(a, b)
                 for a, b in zip(p.to_delayed().ravel(), r.to_delayed().ravel())]
        counts = dask.compute(dask.delayed(sum)(parts))[0]
    else:
        counts = _block_counts(p, r)
    return MaskScores(np.asarray(counts, np.int64).reshape(_N, _N)[:len(CLASSES)])


def score_rows(results: dict[str, MaskScores], *, groups=("cloud", "cloud shadow")
               ) -> list[dict]:
    """One row per (method, class): precision, recall, F1, IoU (a table or CSV)."""
    rows = []
    for method, scores in results.items():
        for name in groups:
            rows.append({"method": method, "class": name, **scores.group(name)})
    return rows
