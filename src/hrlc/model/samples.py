"""From a sample table (``hrlc.dataset`` layout) to training and held-out matrices.

The table has one row per pixel: ``x, y, row, col, class, class_name, polygon_id, source,
block, split`` and one float column per feature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from hrlc.io.checksum import array_digest, json_digest
from hrlc.model._checks import TrainingDataError, describe_nonfinite, nonfinite_counts

#: Columns of the sample table that are not features.
RESERVED = ("x", "y", "row", "col", "class", "class_name", "polygon_id", "source", "block",
            "split")

SplitRule = Literal["column", "block", "polygon", "pixel"]


def feature_columns(samples: pd.DataFrame, features: Sequence[str] | None = None) -> list[str]:
    """The feature columns: ``features`` if given (checked), else every numeric column that
    is not a reserved one, in table order."""
    if features is not None:
        missing = [f for f in features if f not in samples.columns]
        if missing:
            raise TrainingDataError(f"feature column(s) {missing} are not in the sample table; "
                                    "check the features option against the table's columns")
        return list(features)
    names = [c for c in samples.columns if c not in RESERVED
             and pd.api.types.is_numeric_dtype(samples[c])]
    if not names:
        raise TrainingDataError("the sample table has no feature columns (numeric columns other "
                                f"than {', '.join(RESERVED)})")
    return names


def class_table_from(samples: pd.DataFrame, table: Mapping | None = None) -> dict:
    """code -> {"name", "colour"}: the given table, completed from ``class_name``."""
    out = {int(k) if str(k).lstrip("-").isdigit() else k: dict(v) if isinstance(v, Mapping)
           else {"name": str(v)} for k, v in (table or {}).items()}
    if "class_name" in samples.columns:
        pairs = samples[["class", "class_name"]].drop_duplicates("class")
        for code, name in zip(pairs["class"].tolist(), pairs["class_name"].tolist()):
            out.setdefault(code, {"name": str(name)})
    for code in pd.unique(samples["class"]).tolist():
        out.setdefault(code, {"name": str(code)})
    return out


def handle_nonfinite(samples: pd.DataFrame, features: Sequence[str], *,
                     policy: Literal["reject", "drop", "impute"]) -> tuple[pd.DataFrame, dict]:
    """Apply the NaN/inf policy to the feature columns.

    ``reject``: fail with counts; ``drop``: drop rows with any non-finite feature;
    ``impute``: turn inf into NaN (NaN are replaced later by training medians).

    Returns
    -------
    samples : DataFrame
    record : dict
        ``counts`` (feature -> [n_nan, n_inf]) and ``dropped_rows``.
    """
    values = samples[list(features)].to_numpy(dtype=np.float64)
    counts = nonfinite_counts(values, features)
    record = {"counts": {k: list(v) for k, v in counts.items()}, "dropped_rows": 0}
    if not counts:
        return samples, record
    if policy == "reject":
        raise TrainingDataError(
            f"the samples have {describe_nonfinite(counts, len(samples))}; remove those "
            "samples or set nan_policy to 'drop' or 'impute'")
    if policy == "drop":
        keep = np.isfinite(values).all(axis=1)
        record["dropped_rows"] = int((~keep).sum())
        return samples.loc[keep], record
    if policy == "impute":
        cleaned = samples.copy()
        cleaned[list(features)] = np.where(np.isinf(values), np.nan, values)
        return cleaned, record
    raise ValueError(f"unknown nan_policy {policy!r}")


def sample_groups(samples: pd.DataFrame, *, by: Literal["block", "polygon"] = "block",
                  ) -> np.ndarray | None:
    """Group of each sample for splits and cross-validation, or None (no spatial columns).

    With ``block`` and ``polygon_id`` columns: :func:`hrlc.dataset.split_groups` (blocks
    joined by polygons that span them, or polygons), so that no polygon lies on both sides
    of a fold; with only one of the columns, that column.
    """
    columns = set(samples.columns)
    if {"block", "polygon_id"} <= columns:
        from hrlc.dataset import split_groups

        return split_groups(samples, by=by)
    column = "block" if by == "block" else "polygon_id"
    if column in columns:
        return samples[column].to_numpy()
    return None


def holdout_masks(samples: pd.DataFrame, *, rule: SplitRule, test_fraction: float,
                  seed: int) -> dict[str, np.ndarray]:
    """Boolean masks of the training, test and (when present) evaluation rows.

    ``column``: the table's ``split`` column (``train``/``test``/``eval``); ``block`` /
    ``polygon``: whole groups of :func:`sample_groups` held out, stratified by class (the
    first fold of a ``StratifiedGroupKFold`` with ``round(1 / test_fraction)`` folds);
    ``pixel``: a
    pixel-random stratified split (neighbouring pixels on both sides: shows leakage only).
    """
    n = len(samples)
    if rule == "column":
        if "split" not in samples.columns:
            raise TrainingDataError("the sample table has no 'split' column; set split to "
                                    "'block', 'polygon' or 'pixel'")
        split = samples["split"].astype(str).to_numpy()
        masks = {"train": split == "train", "test": split == "test"}
        if (split == "eval").any():
            masks["eval"] = split == "eval"
        if not masks["test"].any():
            raise TrainingDataError("the sample table has no 'test' rows; rebuild the dataset "
                                    "with a test fraction or set split to 'block'")
        return masks
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    y = samples["class"].to_numpy()
    test = np.zeros(n, dtype=bool)
    if rule == "pixel":
        from sklearn.model_selection import train_test_split

        _, held = train_test_split(np.arange(n), test_size=test_fraction, stratify=y,
                                   random_state=seed)
        test[held] = True
    elif rule in ("block", "polygon"):
        from sklearn.model_selection import StratifiedGroupKFold

        groups = sample_groups(samples, by=rule)
        if groups is None:
            column = "block" if rule == "block" else "polygon_id"
            raise TrainingDataError(f"split '{rule}' needs a '{column}' column in the samples")
        folds = max(2, round(1 / test_fraction))
        if np.unique(groups).size < folds:
            raise TrainingDataError(f"only {np.unique(groups).size} group(s) of {rule}s: too "
                                    f"few to hold out {test_fraction:.0%} of them; use smaller "
                                    "blocks or split 'polygon'")
        splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
        _, held = next(splitter.split(np.zeros(n), y, groups))
        test[held] = True
    else:
        raise ValueError(f"unknown split rule {rule!r}")
    return {"train": ~test, "test": test}


def cap_training(y: np.ndarray, *, max_samples: int | None, seed: int,
                 floor: int = 50) -> np.ndarray:
    """Row positions of a stratified subsample of at most about ``max_samples`` rows.

    Each class keeps ``round(max_samples * share)`` rows but at least ``min(count, floor)``
    (so rare classes survive the cap; the total may exceed the cap by those floors).
    Rows are drawn at random with ``seed``, then sorted.
    """
    n = len(y)
    if max_samples is None or n <= max_samples:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    keep = []
    classes, counts = np.unique(y, return_counts=True)
    for code, count in zip(classes, counts):
        rows = np.flatnonzero(y == code)
        quota = min(count, max(round(max_samples * count / n), min(count, floor)))
        keep.append(rng.choice(rows, size=quota, replace=False))
    return np.sort(np.concatenate(keep))


def data_checksum(samples: pd.DataFrame) -> str:
    """SHA-256 (64 hex characters) of the table's content: its column names in order and
    its values row by row (pandas' row hashes), not the index.

    :func:`hrlc.io.checksum.json_digest` of ``{"columns": [...], "rows":
    array_digest(row hashes)}``.
    """
    rows = pd.util.hash_pandas_object(samples, index=False).to_numpy()
    return json_digest({"columns": [str(c) for c in samples.columns],
                        "rows": array_digest(rows)})
