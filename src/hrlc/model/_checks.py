"""Validation of training data and feature names, with errors that name the culprit.

The error classes derive from both :class:`hrlc.errors.InputError` (so the CLI prints them
as one line) and :class:`ValueError` (so the estimators keep the scikit-learn contract).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from hrlc.errors import FeatureMismatchError, TrainingDataError


def _label(value, names: Mapping | None) -> str:
    value = value.item() if hasattr(value, "item") else value
    name = (names or {}).get(value)
    return f"{value!r} ({name})" if name is not None else repr(value)


def check_classes(y: np.ndarray, *, n_folds: int, class_names: Mapping | None = None,
                  ) -> np.ndarray:
    """Check there are two classes or more and each has at least ``n_folds`` samples.

    Parameters
    ----------
    y : ndarray (n_samples,)
        Class codes.
    n_folds : int
        Number of cross-validation folds the samples will be split into.
    class_names : mapping, optional
        Code -> name, used in the messages.

    Returns
    -------
    ndarray
        The sorted class codes.

    Raises
    ------
    TrainingDataError
        One class only, or a class with fewer samples than folds (named in the message).
    """
    classes, counts = np.unique(y, return_counts=True)
    if classes.size < 2:
        found = _label(classes[0], class_names) if classes.size else "none"
        raise TrainingDataError(
            f"the training samples hold only one class ({found}); a classifier needs at "
            "least 2 classes: add samples of other classes")
    short = [(c, n) for c, n in zip(classes, counts) if n < n_folds]
    if short:
        listing = ", ".join(f"class {_label(c, class_names)} has {n}" for c, n in short)
        raise TrainingDataError(
            f"{listing} sample(s), fewer than the {n_folds} cross-validation folds; add "
            "samples of that class, drop it from the class table, or lower cv_folds")
    return classes


def _fold_message(label: str, k: int, n_folds: int, n_groups: int | None,
                  groups_by: str) -> str:
    if n_groups is None:
        return (f"class {label} is missing from the training part of cross-validation fold "
                f"{k + 1}; add samples of that class or lower cv_folds")
    them = "it" if n_groups == 1 else "all of them"
    if groups_by == "polygon":
        fix = ("add polygons of that class (at least 2, and {n} to test it in every fold) or "
               "drop it from the class table; cv_folds and cv_groups: block cannot help, a "
               "polygon is never split between folds" if n_groups == 1 else
               "add polygons of that class or lower cv_folds").format(n=n_folds)
        return (f"class {label} lies in {n_groups} polygon{'s' * (n_groups > 1)}, too few for "
                f"the {n_folds} cross-validation folds grouped by polygon (cv_groups: polygon): "
                f"fold {k + 1} tests {them} and has none of the class left to train on; {fix}")
    return (f"class {label} lies in {n_groups} group{'s' * (n_groups > 1)} of spatial blocks "
            f"(blocks joined by the polygons that span them), too few for the {n_folds} "
            f"cross-validation folds (cv_groups: block): fold {k + 1} tests {them} and has none "
            "of the class left to train on; use smaller spatial blocks, set cv_groups: polygon "
            "(when the class has several polygons), lower cv_folds, or add polygons of that "
            "class elsewhere")


def check_fold_classes(y: np.ndarray, splits: Sequence[tuple[np.ndarray, np.ndarray]], *,
                       class_names: Mapping | None = None, groups: np.ndarray | None = None,
                       groups_by: str = "block") -> None:
    """Check that every training fold holds every class.

    A class confined to few groups (spatial blocks, or polygons) disappears from the
    training part of the fold that tests them; the SVM of that fold could then never
    predict it.

    Parameters
    ----------
    y : ndarray (n_samples,)
    splits : sequence of (train, test) index arrays
    class_names : mapping, optional
        Code -> name, used in the messages.
    groups : ndarray (n_samples,), optional
        The groups the folds were made of; the message counts those of the class.
    groups_by : {"block", "polygon"}
        What the groups are (the ``cv_groups`` option), for the message and its fix.

    Raises
    ------
    TrainingDataError
        Naming the class, how many groups it lies in, the fold and the fix.
    """
    classes = np.unique(y)
    for k, (train, _) in enumerate(splits):
        missing = np.setdiff1d(classes, np.unique(y[train]))
        if missing.size:
            first = missing[0]
            n_groups = None if groups is None else int(np.unique(groups[y == first]).size)
            raise TrainingDataError(_fold_message(_label(first, class_names), k, len(splits),
                                                  n_groups, groups_by))


def nonfinite_counts(X: np.ndarray, feature_names: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Number of NaN and of +-inf values per feature, for features that have any.

    Parameters
    ----------
    X : ndarray (n_samples, n_features)
    feature_names : sequence of str, length n_features

    Returns
    -------
    dict
        name -> (n_nan, n_inf), only features with at least one non-finite value.
    """
    X = np.asarray(X, dtype=np.float64)
    nan = np.isnan(X).sum(axis=0)
    inf = np.isinf(X).sum(axis=0)
    return {name: (int(a), int(b)) for name, a, b in zip(feature_names, nan, inf) if a or b}


def describe_nonfinite(counts: Mapping[str, tuple[int, int]], n_rows: int, *, limit: int = 5,
                       ) -> str:
    """One line: totals and the worst features."""
    total_nan = sum(a for a, _ in counts.values())
    total_inf = sum(b for _, b in counts.values())
    worst = sorted(counts.items(), key=lambda item: -(item[1][0] + item[1][1]))[:limit]
    listing = ", ".join(f"{name}: {a} NaN, {b} inf" for name, (a, b) in worst)
    more = f" and {len(counts) - limit} more" if len(counts) > limit else ""
    return (f"{total_nan} NaN and {total_inf} inf values in {len(counts)} feature(s) over "
            f"{n_rows} rows ({listing}{more})")


def check_feature_names(expected: Sequence[str], offered: Iterable[str], *,
                        what: str = "the features") -> list[int]:
    """Positions of ``expected`` in ``offered``; fail listing missing and extra names.

    Extra features are allowed (a cube may hold more than a model uses) only when all the
    expected ones are present; the error lists both so that a wrong cube is obvious.

    Returns
    -------
    list of int
        For each expected name, its index in ``offered``.

    Raises
    ------
    FeatureMismatchError
        Some expected features are missing (or duplicated) in ``offered``.
    """
    offered = [str(name) for name in offered]
    position = {}
    duplicated = sorted({name for name in offered if offered.count(name) > 1})
    for i, name in enumerate(offered):
        position.setdefault(name, i)
    missing = [name for name in expected if name not in position]
    if missing or duplicated:
        extra = [name for name in offered if name not in set(expected)]
        parts = []
        if missing:
            parts.append(f"missing {len(missing)}: {', '.join(missing[:20])}"
                         + (" ..." if len(missing) > 20 else ""))
        if extra:
            parts.append(f"extra {len(extra)}: {', '.join(extra[:20])}"
                         + (" ..." if len(extra) > 20 else ""))
        if duplicated:
            parts.append(f"duplicated: {', '.join(duplicated)}")
        raise FeatureMismatchError(
            f"{what} do not match the model's {len(expected)} training features ("
            + "; ".join(parts) + "); build the features with the configuration the model was "
            "trained with, or train a model on these features")
    return [position[name] for name in expected]
