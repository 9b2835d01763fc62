"""Hostile model bundles and misleading messages (issue 19): an edited bundle is refused as
"modified since it was written" (never blamed on the scikit-learn version) before a map
is started, NaN or inf in a bundle is refused naming the array, bundles written before
checksums still load (with a note), and ``kmeans_bands: [B10]`` is blamed on
``kmeans_bands`` (the cv_groups message is tested in tests/model/test_train.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import yaml

from hrlc.errors import CorruptFileError, TrainingDataError
from hrlc.io.checksum import content_checksum
from hrlc.model import load_bundle
from tests.conftest import cli_error
from tests.model.conftest import rewrite_bundle


def _reverse_features(meta, arrays):
    meta["input_features"] = meta["input_features"][::-1]


def _nan_in_calibrator(meta, arrays):
    arrays["calibration/0/y"] = arrays["calibration/0/y"].copy()
    arrays["calibration/0/y"][1] = np.nan


def _support_vector(meta, arrays):
    arrays["svm/0/support_vectors_"] = arrays["svm/0/support_vectors_"].copy()
    arrays["svm/0/support_vectors_"][3, 2] += 0.25


#: An edit as a user would make it, and what the message must name.
EDITS = {
    "feature order reversed": (_reverse_features, "(metadata entry input_features changed)"),
    "NaN in a calibrator": (_nan_in_calibrator, "(array calibration/0/y changed)"),
    "one support-vector value": (_support_vector, "(array svm/0/support_vectors_ changed)"),
}


@pytest.fixture(scope="module")
def features_store(cube, tmp_path_factory):
    from hrlc.io import write_zarr

    return write_zarr(cube.chunk({"y": 16, "x": 16}),
                      tmp_path_factory.mktemp("cube") / "cube.zarr")


@pytest.mark.parametrize("case", list(EDITS))
def test_edited_bundle_is_refused_before_mapping(case, features_store, tmp_path, capsys,
                                                 bundle_file):
    change, culprit = EDITS[case]
    model = rewrite_bundle(bundle_file, tmp_path / "model.npz", change)
    config = tmp_path / "map.yaml"
    config.write_text(yaml.safe_dump({"bundle": str(model), "features": str(features_store),
                                      "output": str(tmp_path / "map")}))
    before = content_checksum(tmp_path)
    line = cli_error(["map", config], capsys)
    assert "model.npz: the model bundle was modified since it was written" in line
    assert culprit in line and "train it again with `hrlc train`" in line
    assert "scikit-learn" not in line  # not blamed on the installation
    assert not (tmp_path / "map").exists()
    assert content_checksum(tmp_path) == before


def test_an_untouched_bundle_still_loads(bundle_file):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no note for a bundle that carries its checksum
        loaded = load_bundle(bundle_file)
    assert loaded.metadata["integrity"] == "verified"


def test_nan_is_refused_at_save_naming_the_array(bundles, tmp_path):
    import copy
    import dataclasses

    broken = copy.deepcopy(bundles["ova"])
    broken.classifier.svcs_[1]._dual_coef_[0, 4] = np.inf
    calibrators = broken.classifier.calibrators_
    calibrators[2] = dataclasses.replace(calibrators[2], a=float("nan"))
    with pytest.raises(TrainingDataError) as info:
        broken.save(tmp_path / "model.npz")
    message = str(info.value)
    assert message.startswith(f"cannot save {tmp_path / 'model.npz'}: the model holds "
                              "non-finite values (")
    assert "svm/1/_dual_coef_ (1 inf)" in message
    assert "classifier.calibrators[2].a (NaN)" in message
    assert "finite numbers only" in message and "train again" in message
    assert not list(tmp_path.iterdir())  # nothing written, not even a partial file
    with pytest.raises(TrainingDataError, match="cannot save the trained model: .*"
                                                r"svm/1/_dual_coef_ \(1 inf\)"):
        broken.check_finite()  # what train_model calls before anything is written
    bundles["ova"].check_finite()


@pytest.mark.parametrize("edit, culprit", [
    (_nan_in_calibrator, "calibration/0/y (1 NaN)"),
    (lambda meta, arrays: meta["classifier"]["calibrators"][1].update(b=float("inf")),
     "classifier.calibrators[1].b (inf)")])
def test_nan_in_a_consistent_bundle_is_refused_at_load(edit, culprit, tmp_path,
                                                       bundle_file):
    """A bundle whose checksum matches its NaN (an older hrlc saved it) is refused too."""
    model = rewrite_bundle(bundle_file, tmp_path / "model.npz", edit, reseal=True)
    with pytest.raises(CorruptFileError) as info:
        load_bundle(model)
    message = str(info.value)
    assert "model.npz: the model bundle holds non-finite values" in message
    assert culprit in message and "train it again" in message
    assert "modified since" not in message


def test_bundle_without_checksum_loads_with_a_note(
        tmp_path, bundle, bundle_file, cube):
    """Bundles written before checksums (no ``integrity`` record) are accepted as they
    were, with a warning that edits cannot be detected; the probe still guards them."""
    old = rewrite_bundle(bundle_file, tmp_path / "old.npz",
                         lambda meta, arrays: meta.pop("integrity"))
    with pytest.warns(UserWarning, match="written before model bundles carried a checksum"):
        loaded = load_bundle(old)
    assert loaded.metadata["integrity"] == "absent (written before checksums)"
    rows = cube.values.reshape(cube.sizes["feature"], -1).T[:50]
    names = [str(f) for f in cube["feature"].values]
    positions = [names.index(f) for f in bundle.input_features]
    np.testing.assert_array_equal(loaded.predict(rows[:, positions]),
                                  bundle.predict(rows[:, positions]))

    def edited_old(meta, arrays):
        meta.pop("integrity")
        _support_vector(meta, arrays)

    with pytest.warns(UserWarning, match="checksum"):
        with pytest.raises(CorruptFileError) as info:
            load_bundle(rewrite_bundle(bundle_file, tmp_path / "edited_old.npz", edited_old))
    # same scikit-learn version: the probe mismatch is not blamed on the installation
    assert "most likely edited since it was written" in str(info.value)
    assert "install that version" not in str(info.value)


# ---- configuration messages that named the wrong key or cause ----------------------------


def test_kmeans_bands_outside_l2a_names_kmeans_bands(tmp_path, capsys):
    (tmp_path / "scenes").mkdir()
    config = tmp_path / "masks.yaml"
    config.write_text(yaml.safe_dump({"sources": [str(tmp_path / "scenes")],
                                      "output": str(tmp_path / "masks"),
                                      "masks": {"kmeans_bands": ["B04", "B10"]}}))
    before = content_checksum(tmp_path)
    line = cli_error(["masks", config], capsys)
    assert "'masks.kmeans_bands'" in line and "B10 is not a surface-reflectance band" in line
    assert "'bands'" not in line
    assert content_checksum(tmp_path) == before and not (tmp_path / "masks").exists()
