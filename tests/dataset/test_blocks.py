"""Spatial blocks and group splits: no block and no polygon on both sides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrlc.dataset import assign_split, block_ids, block_pixels, split_groups
from hrlc.errors import ConfigError


def test_block_ids_count_blocks_row_by_row():
    assert block_pixels(1000, 10) == 100 and block_pixels(1000, 9.9948) == 100
    assert block_pixels(5, 10) == 1
    ids = block_ids(np.array([0, 0, 99, 100, 250]), np.array([0, 150, 99, 0, 260]),
                    block_px=100, width=270)  # 3 block columns
    assert ids.tolist() == [0, 1, 0, 3, 8]
    with pytest.raises(ConfigError, match="block_size"):
        block_pixels(0, 10)


def test_a_polygon_spanning_blocks_joins_them_into_one_group():
    table = pd.DataFrame({"block": [0, 1, 2, 3, 3], "polygon_id": [5, 5, -1, 6, 7],
                          "class": [1, 1, 1, 2, 2]})
    groups = split_groups(table)
    assert groups[0] == groups[1] and len(set(groups)) == 3
    by_polygon = split_groups(table, by="polygon")
    assert by_polygon[0] == by_polygon[1] and by_polygon[3] != by_polygon[4]
    assert len(set(by_polygon)) == 4


@st.composite
def sample_tables(draw):
    n = draw(st.integers(1, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    blocks = rng.integers(0, draw(st.integers(1, 40)), n)
    # polygons mostly inside one block, some spanning a neighbour, some map pixels (-1)
    polygons = np.where(rng.random(n) < 0.2, -1, blocks * 3 + rng.integers(0, 3, n))
    spans = rng.random(n) < 0.1
    blocks = np.where(spans, blocks + 1, blocks)
    return pd.DataFrame({"block": blocks, "polygon_id": polygons,
                         "class": rng.integers(1, 5, n)})


@settings(max_examples=60, deadline=None)
@given(table=sample_tables(), fraction=st.floats(0.05, 0.9), seed=st.integers(0, 1000),
       by=st.sampled_from(["block", "polygon"]))
def test_no_group_is_on_both_sides(table, fraction, seed, by):
    split = assign_split(table, test_fraction=fraction, seed=seed, by=by)
    table = table.assign(split=split)
    assert set(split) <= {"train", "test"}
    sides_per_polygon = table[table["polygon_id"] >= 0].groupby("polygon_id")["split"].nunique()
    assert (sides_per_polygon == 1).all()
    if by == "block":
        assert (table.groupby("block")["split"].nunique() == 1).all()
    # a class is never left without training samples
    assert set(table["class"]) == set(table.loc[table["split"] == "train", "class"])
    again = assign_split(table, test_fraction=fraction, seed=seed, by=by)
    assert (again == split).all()


def test_test_share_follows_the_fraction_with_many_blocks():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"block": np.repeat(np.arange(200), 10), "polygon_id": -1,
                          "class": rng.integers(1, 4, 2000)})
    split = assign_split(table, test_fraction=0.3, seed=1)
    shares = pd.Series(split == "test").groupby(table["class"]).mean()
    assert shares.between(0.25, 0.35).all()
    assert (assign_split(table, test_fraction=0, seed=1) == "train").all()
    with pytest.raises(ConfigError, match="test_fraction"):
        assign_split(table, test_fraction=1.0, seed=1)
