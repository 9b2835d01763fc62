"""``hrlc train CONFIG``: bundle + report from a sample table; errors are one line, exit 2."""

from __future__ import annotations

import json

import numpy as np

import pytest
import yaml

from hrlc.cli import main
from hrlc.dataset import write_samples
from hrlc.model import load_bundle
from tests.model.conftest import NAMES


@pytest.fixture(scope="module")
def sample_file(samples, tmp_path_factory):
    features = [c for c in samples.columns if c.startswith(("f", "dup_", "near_"))]
    table = samples.assign(source="polygon")
    metadata = {"features": features, "strategy": "standard", "seed": 0, "block_size": 1000,
                "classes": [{"code": c, "name": n, "colour": "#000000"}
                            for c, n in NAMES.items() if c in set(samples["class"])]}
    stem = tmp_path_factory.mktemp("samples") / "samples"
    write_samples(table, metadata, stem, formats=["parquet"])
    return stem.with_suffix(".parquet")


def _config(tmp_path, sample_file, **train):
    config = {"samples": str(sample_file), "output": str(tmp_path / "out"),
              "map_areas": {1: 10.0, 2: 20.0, 3: 30.0},
              "train": {"C": [1, 10], "gamma_factors": [1], "compare": ["random_forest"],
                        "rf_trees": 20, "n_jobs": 1, **train}}
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_writes_bundle_and_report(tmp_path, sample_file, samples, capsys):
    main(["train", str(_config(tmp_path, sample_file))])
    out = tmp_path / "out"
    assert {"report.md", "report.html", "report.json", "model.npz", "confusion.png"} <= {
        p.name for p in out.iterdir()}
    bundle = load_bundle(out / "model.npz")
    assert len(bundle.training["samples_sha256"]) == 64
    assert bundle.training["dataset"]["strategy"] == "standard"
    assert bundle.class_table[1]["name"] == "forest"
    assert bundle.predict(samples).shape == (len(samples),)
    report = json.loads((out / "report.json").read_text())
    assert report["areas"]["total_area"] == 60.0
    err = capsys.readouterr().err
    assert "held-out accuracy" in err and "svm_multiclass" in err and "model.npz" in err


def test_errors_are_one_line_with_exit_code_2(tmp_path, sample_file, capsys):
    path = _config(tmp_path, sample_file)
    main(["train", str(path)])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "already exist" in err and "--overwrite" in err
    bad = _config(tmp_path, sample_file, svm_kernel="linear")
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(bad), "--overwrite"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "unknown key 'train.svm_kernel'" in err
    few = _config(tmp_path, sample_file, cv_folds=40)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(few), "--overwrite"])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_info.value.code == 2 and last.startswith("hrlc: error: the samples lie in")
    assert "fewer than the 40 cross-validation folds" in last


def test_reference_table_variants_in_one_run(tmp_path, sample_file, samples, capsys):
    path = _config(tmp_path, sample_file, aggregation="softmax",
                   compare=["multiclass_uncalibrated", "ova", "random_forest"])
    main(["train", str(path)])
    err = capsys.readouterr().err
    for name in ("svm_multiclass_uncalibrated", "svm_multiclass", "svm_ova", "random_forest"):
        assert f"\n {name} " in err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert list(report["variants"]) == ["svm_multiclass_uncalibrated", "svm_multiclass",
                                        "svm_ova", "random_forest"]
    # the forest can be the bundle's classifier: the bundle then predicts as sklearn's forest
    forest = _config(tmp_path, sample_file, classifier="random_forest", compare=[])
    main(["train", str(forest), "--overwrite"])
    bundle = load_bundle(tmp_path / "out" / "model.npz")
    assert bundle.kind == "random_forest"
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert list(report["variants"]) == ["random_forest"]
    proba = bundle.predict_proba(samples)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (bundle.predict(samples) == bundle.classes[np.argmax(proba, axis=1)]).all()
