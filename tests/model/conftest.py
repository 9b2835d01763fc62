"""Synthetic sample tables in the layout of ``hrlc.dataset`` and small fitted models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

NAMES = {1: "forest", 2: "grass", 3: "urban", 4: "water"}
#: A grid small enough for fast tests.
SMALL_GRID = {"C": (1.0, 10.0), "gamma_factors": (1.0,), "n_jobs": 1}


def make_samples(n: int = 600, *, n_classes: int = 3, n_informative: int = 5,
                 n_noise: int = 3, n_blocks: int = 30, seed: int = 0,
                 test_fraction: float = 0.3) -> pd.DataFrame:
    """A sample table: ``x, y, row, col, class, class_name, polygon_id, source, block,
    split`` and float32 features ``f0..`` (informative, then noise), plus ``dup_f0``
    (a copy of f0) and ``near_f1`` (f1 + 1 % noise)."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n, n_informative + n_noise, n_informative=n_informative,
                               n_redundant=0, n_classes=n_classes, n_clusters_per_class=1,
                               class_sep=1.5, shuffle=False, random_state=seed)
    rng = np.random.default_rng(seed)
    block = rng.integers(0, n_blocks, n)
    test_blocks = rng.choice(n_blocks, round(n_blocks * test_fraction), replace=False)
    codes = np.array(list(NAMES))[y]
    table = pd.DataFrame({
        "x": rng.uniform(0, 1000, n), "y": rng.uniform(0, 1000, n),
        "row": rng.integers(0, 100, n), "col": rng.integers(0, 100, n),
        "class": codes, "class_name": [NAMES[c] for c in codes],
        "polygon_id": block * 10 + y, "source": "polygon", "block": block,
        "split": np.where(np.isin(block, test_blocks), "test", "train"),
    })
    for j in range(X.shape[1]):
        table[f"f{j}"] = X[:, j].astype(np.float32)
    table["dup_f0"] = table["f0"]
    table["near_f1"] = (X[:, 1] + 0.01 * rng.standard_normal(n)).astype(np.float32)
    return table


@pytest.fixture(scope="session")
def samples() -> pd.DataFrame:
    return make_samples()


@pytest.fixture(scope="session")
def trained(samples):
    """A train_model result: multiclass isotonic SVM + RandomForest, multicollinearity."""
    from hrlc.model import train_model

    return train_model(samples, compare=["random_forest"], rf_trees=30, seed=0, **SMALL_GRID)


def rewrite_bundle(source, target, change, *, reseal: bool = False):
    """Rewrite a bundle file with numpy, as a user editing it would: ``change(meta, arrays)``
    edits the metadata dict and the arrays in place.

    ``reseal``: recompute the checksum record afterwards (a bundle consistent with its
    content, as ``ModelBundle.save`` would have written it). Returns ``target``.
    """
    import json

    with np.load(source, allow_pickle=False) as archive:
        arrays = {k: np.array(archive[k]) for k in archive.files}
    meta = json.loads(bytes(arrays.pop("__meta__")).decode())
    change(meta, arrays)
    if reseal:
        from hrlc.model import _integrity

        meta = _integrity.seal(meta, arrays)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with open(target, "wb") as handle:
        np.savez(handle, **arrays)
    return target
