"""Spatial blocks and splits that keep neighbouring pixels on one side.

Neighbouring pixels of one polygon are near-duplicates: a pixel-random split puts them
on both sides and inflates accuracy. Every sample therefore gets a ``block`` id (square
blocks of ``block_size`` metres, counted on the grid from its top-left corner) and the
split assigns whole groups: blocks joined by any polygon that spans them (so neither a
block nor a polygon is ever on both sides), or polygons (``by="polygon"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hrlc.errors import ConfigError

SPLITS = ("train", "test", "eval")


def block_pixels(block_size: float, resolution: float) -> int:
    """Block side in pixels: ``block_size`` (m) / ``resolution`` (m), at least 1."""
    if block_size <= 0:
        raise ConfigError(f"block_size is a length in metres > 0, got {block_size}")
    return max(1, round(block_size / resolution))


def block_ids(rows: np.ndarray, cols: np.ndarray, *, block_px: int, width: int) -> np.ndarray:
    """Block id (int64) of pixels: ``(row // block_px) * n_block_cols + col // block_px``.

    Parameters
    ----------
    rows, cols : int arrays
        Pixel indices on the grid.
    block_px : int
        Block side in pixels (:func:`block_pixels`).
    width : int
        Grid width (px); ``n_block_cols = ceil(width / block_px)``.
    """
    n_cols = -(-width // block_px)
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    return (rows // block_px) * n_cols + cols // block_px


def split_groups(table: pd.DataFrame, *, by: str = "block") -> np.ndarray:
    """Group id of each sample: the unit the split assigns to one side.

    ``by="block"``: blocks, merged when a polygon (``polygon_id >= 0``) spans several
    (union-find), so no block and no polygon ends up on both sides. ``by="polygon"``:
    each polygon is a group; samples without polygon (``-1``) are grouped by block.
    """
    if by not in ("block", "polygon"):
        raise ConfigError(f"split_by must be 'block' or 'polygon', got {by!r}")
    blocks = table["block"].to_numpy(np.int64)
    polygons = table["polygon_id"].to_numpy(np.int64)
    if by == "polygon":
        keys = np.where(polygons >= 0, polygons, -1 - blocks)  # two disjoint ranges
        return pd.factorize(keys)[0]
    block_index, uniques = pd.factorize(blocks)
    parent = np.arange(len(uniques))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    linked = pd.DataFrame({"p": polygons, "b": block_index})[polygons >= 0].drop_duplicates()
    for _, members in linked.groupby("p")["b"]:
        members = members.to_numpy()
        root = find(members[0])
        for m in members[1:]:
            parent[find(m)] = root
    roots = np.array([find(i) for i in range(len(uniques))])
    return pd.factorize(roots[block_index])[0]


def assign_split(table: pd.DataFrame, *, test_fraction: float, seed: int | np.random.Generator,
                 by: str = "block") -> np.ndarray:
    """``"train"``/``"test"`` for every sample, by whole groups (:func:`split_groups`).

    Groups are visited in a seeded random order; a group goes to the test side when
    that brings the test share of the classes closer to ``test_fraction`` (the sum over
    classes of |wanted - taken| / class size decreases), and never when it would leave
    a class without training samples. The split is stratified in this greedy sense:
    each class gets close to ``test_fraction`` of its samples when it has enough groups.

    Parameters
    ----------
    table : DataFrame
        ``class``, ``block``, ``polygon_id`` columns.
    test_fraction : float
        Wanted share of test samples per class, 0 <= f < 1.
    seed : int or Generator
    by : {"block", "polygon"}

    Returns
    -------
    ndarray of str, one per row.
    """
    if not 0 <= test_fraction < 1:
        raise ConfigError(f"test_fraction must be in [0, 1), got {test_fraction}")
    out = np.full(len(table), "train", dtype=object)
    if len(table) == 0 or test_fraction == 0:
        return out
    rng = np.random.default_rng(seed)
    groups = split_groups(table, by=by)
    class_index, _ = pd.factorize(table["class"].to_numpy())
    counts = np.zeros((groups.max() + 1, class_index.max() + 1), np.int64)
    np.add.at(counts, (groups, class_index), 1)
    total = counts.sum(axis=0)
    target = test_fraction * total
    in_test = np.zeros(len(counts), bool)
    taken = np.zeros_like(total)
    weight = 1.0 / np.maximum(total, 1)  # relative errors: small classes count as much
    for g in rng.permutation(len(counts)):
        row = counts[g]
        before = (np.abs(target - taken) * weight).sum()
        after = (np.abs(target - taken - row) * weight).sum()
        starves = np.any((row > 0) & (total - taken - row <= 0))
        if after < before and not starves:
            in_test[g] = True
            taken += row
    out[in_test[groups]] = "test"
    return out
