"""Counts of a sample table and the checks that turn into report warnings."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from hrlc.dataset.classes import ClassTable


def count_table(table: pd.DataFrame) -> pd.DataFrame:
    """Samples per class, source and split: ``class, class_name, source, split, samples``."""
    keys = ["class", "class_name", "source", "split"]
    if table.empty:
        return pd.DataFrame(columns=[*keys, "samples"])
    counts = table.groupby(keys, observed=True).size().rename("samples").reset_index()
    return counts.astype({"class": int, "samples": int})


def class_summary(table: pd.DataFrame, classes: ClassTable) -> pd.DataFrame:
    """One row per class of the table: samples per source and split, and polygons.

    Columns: ``code, name, polygon, lcmap, train, test, eval, total, polygons``
    (numbers of samples, and of distinct polygons that gave samples).
    """
    rows = []
    for info in classes:
        sub = table[table["class"] == info.code]
        by_source = sub["source"].value_counts()
        by_split = sub["split"].value_counts()
        rows.append({
            "code": info.code, "name": info.name,
            "polygon": int(by_source.get("polygon", 0)), "lcmap": int(by_source.get("lcmap", 0)),
            "train": int(by_split.get("train", 0)), "test": int(by_split.get("test", 0)),
            "eval": int(by_split.get("eval", 0)), "total": int(len(sub)),
            "polygons": int(sub.loc[sub["polygon_id"] >= 0, "polygon_id"].nunique()),
        })
    return pd.DataFrame(rows)


def check_classes(table: pd.DataFrame, classes: ClassTable, *, min_per_class: int,
                  min_polygons: int, drop_small: bool, test_fraction: float,
                  note: Callable[[str], None]) -> pd.DataFrame:
    """Report classes with too few samples or polygons, or without test samples.

    ``min_per_class`` counts train + test samples (the evaluation set apart); classes
    below it are removed when ``drop_small``. Returns the (possibly reduced) table.
    """
    summary = class_summary(table, classes)
    small = []
    for row in summary.itertuples():
        used = row.train + row.test
        if row.total == 0:
            note(f"class {row.name!r} ({row.code}) has no samples")
            continue
        if used < min_per_class:
            small.append(row.code)
            note(f"class {row.name!r} has {used} train/test samples, fewer than "
                 f"min_per_class={min_per_class}" + ("; dropped" if drop_small else ""))
        if min_polygons and row.polygons < min_polygons:
            note(f"class {row.name!r} is labelled by {row.polygons} polygon(s), fewer than "
                 f"min_polygons_per_class={min_polygons}: its samples are near-duplicates")
        if test_fraction > 0 and row.train and not row.test:
            note(f"class {row.name!r} has no test samples (all its samples are in one "
                 "group of blocks); add polygons elsewhere or use smaller blocks")
    if drop_small and small:
        table = table[~table["class"].isin(small)].reset_index(drop=True)
    return table
