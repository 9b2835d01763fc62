"""Bundles that an earlier hrlc wrote (tests/data/bundles, see SOURCE.md) still verify:
the checksum record is recomputed to the same digests and an edit is still found."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from hrlc.errors import CorruptFileError
from hrlc.model import _integrity, load_bundle
from tests.model.conftest import rewrite_bundle

BUNDLES = Path(__file__).resolve().parents[1] / "data" / "bundles"
FILES = ["svm_b4ee35b.npz", "forest_b4ee35b.npz"]


def _read(path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: np.array(archive[k]) for k in archive.files}
    return json.loads(bytes(arrays.pop("__meta__")).decode()), arrays


@pytest.mark.parametrize("name", FILES)
def test_resealing_an_old_bundle_gives_its_recorded_digests(name):
    meta, arrays = _read(BUNDLES / name)
    assert meta["integrity"]["algorithm"] == "sha256"
    assert _integrity.seal(meta, arrays)["integrity"] == meta["integrity"]


@pytest.mark.parametrize("name", FILES)
def test_an_old_bundle_loads_verified(name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bundle = load_bundle(BUNDLES / name, verify=False)
    assert bundle.metadata["integrity"] == "verified"
    assert not [w for w in caught if "checksum" in str(w.message)]
    assert bundle.input_features[:3] == ["f0", "f1", "f2"]


def test_an_edited_old_bundle_is_refused(tmp_path):
    def nudge(meta, arrays):
        arrays["probe/X"] = arrays["probe/X"] + 1e-6

    edited = rewrite_bundle(BUNDLES / "svm_b4ee35b.npz", tmp_path / "edited.npz", nudge)
    with pytest.raises(CorruptFileError, match="array probe/X changed"):
        load_bundle(edited, verify=False)
