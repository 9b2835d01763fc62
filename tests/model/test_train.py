"""train_model end to end: variants, splits, cap, bad input, report."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from hrlc.model import TrainingDataError, train_model
from hrlc.model.report import write_report
from hrlc.model.samples import cap_training, holdout_masks
from tests.model.conftest import SMALL_GRID


def test_variants_selection_and_data_record(trained, samples):
    assert set(trained.variants) == {"svm_multiclass", "random_forest"}
    for info in trained.variants.values():
        assert 0.7 < info["test"]["overall_accuracy"] <= 1
    svm = trained.variants["svm_multiclass"]
    assert svm["test"]["ece"] < 0.2 and svm["labels"] == "decision"
    assert svm["test"]["other_labels"]["rule"] == "probability"
    assert 0.7 < svm["test"]["other_labels"]["macro_f1"] <= 1
    assert trained.variants["random_forest"]["n_nodes"] > 0
    features = trained.bundle.input_features
    assert ("f0" in features) != ("dup_f0" in features) and len(features) == 8
    assert ("f1" in features) != ("near_f1" in features)
    assert trained.data["n_train"] == (samples["split"] == "train").sum()
    assert trained.data["rows"]["test"] == {
        str(k): int(v) for k, v in samples.loc[samples["split"] == "test", "class"]
        .value_counts().sort_index().items()}
    assert trained.correlation["after"].shape == (8, 8)


@pytest.mark.parametrize("rule", ["block", "polygon"])
def test_group_holdout_never_splits_a_group(samples, rule):
    masks = holdout_masks(samples, rule=rule, test_fraction=0.3, seed=1)
    column = "block" if rule == "block" else "polygon_id"
    train = set(samples.loc[masks["train"], column])
    test = set(samples.loc[masks["test"], column])
    assert train and test and not train & test
    assert set(samples.loc[masks["test"], "class"]) == {1, 2, 3}


def test_pixel_holdout_and_column_rules(samples):
    masks = holdout_masks(samples, rule="pixel", test_fraction=0.25, seed=0)
    assert masks["test"].sum() == 150
    table = samples.assign(split=np.where(samples["block"] < 3, "eval", samples["split"]))
    masks = holdout_masks(table, rule="column", test_fraction=0.3, seed=0)
    assert set(masks) == {"train", "test", "eval"} and masks["eval"].sum() > 0
    with pytest.raises(TrainingDataError, match="no 'test' rows"):
        holdout_masks(samples.assign(split="train"), rule="column", test_fraction=0.3, seed=0)


def test_cap_is_stratified_and_keeps_rare_classes():
    y = np.r_[np.zeros(9000, int), np.ones(900, int), np.full(20, 2)]
    kept = cap_training(y, max_samples=1000, seed=0)
    counts = np.bincount(y[kept])
    assert counts.tolist() == [907, 91, 20]
    assert np.array_equal(kept, np.sort(kept))
    assert cap_training(y, max_samples=None, seed=0).size == y.size


def test_eval_rows_are_scored_and_areas_estimated(samples):
    table = samples.assign(split=np.where(samples["block"] < 4, "eval", samples["split"]))
    result = train_model(table, compare=[], selection="none", max_train_samples=200,
                         map_areas={1: 500.0, 2: 300.0, 3: 200.0}, **SMALL_GRID)
    assert "eval" in result.variants["svm_multiclass"]
    assert result.data["n_train"] <= 210
    areas = result.areas
    assert sum(c["mapped_area"] for c in areas["per_class"]) == 1000.0
    assert sum(c["area"] for c in areas["per_class"]) == pytest.approx(1000.0)
    assert 0 < areas["overall_accuracy"] <= 1


def test_nonfinite_features_are_rejected_with_counts_or_dropped(samples):
    table = samples.copy()
    table.loc[table.index[:3], "f1"] = np.nan
    table.loc[table.index[3], "f4"] = np.inf
    with pytest.raises(TrainingDataError,
                       match=r"3 NaN and 1 inf values in 2 feature\(s\).*f1: 3 NaN, 0 inf"):
        train_model(table, **SMALL_GRID)
    result = train_model(table, nan_policy="drop", compare=[], selection="none", **SMALL_GRID)
    assert result.data["nonfinite"]["dropped_rows"] == 4
    assert result.data["nonfinite"]["counts"]["f4"] == [0, 1]


def test_bad_tables_are_rejected(samples):
    with pytest.raises(TrainingDataError, match=r"feature column\(s\) \['NDVI'\]"):
        train_model(samples, features=["f0", "NDVI"], **SMALL_GRID)
    with pytest.raises(TrainingDataError, match=r"only one class \(1 \(forest\)\)|only one class"):
        train_model(samples.assign(**{"class": 1}), **SMALL_GRID)


def test_report_files(trained, tmp_path):
    written = write_report(trained, tmp_path / "report", area_unit="px")
    assert {"report.md", "report.html", "report.json", "confusion.png", "reliability.png",
            "correlation.png"} <= set(written)
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert data["bundle"]["kind"] == "multiclass"
    assert data["variants"]["svm_multiclass"]["test"]["macro_f1"] > 0.7
    text = (tmp_path / "report" / "report.md").read_text()
    assert "| svm_multiclass |" in text and "![Confusion matrix](confusion.png)" in text
    assert re.search(r"\| (dup_)?f0 \| \\\|r\\\| = 1\.000 with (dup_)?f0 \|", text)
    html = (tmp_path / "report" / "report.html").read_text()
    assert "<table>" in html and "<td>|r| = 1.000 with" in html
    assert (tmp_path / "report" / "confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_class_only_in_the_test_split_is_a_clear_error():
    from hrlc.model import TrainingDataError, train_model

    rng = np.random.default_rng(0)
    n = 120
    table = pd.DataFrame({"x": np.arange(n, dtype=float), "y": 0.0, "class": np.repeat([1, 2, 3], 40),
                          "block": np.arange(n) // 10, "polygon_id": np.arange(n) // 10,
                          "split": "train", "f0": rng.normal(size=n), "f1": rng.normal(size=n)})
    table.loc[table["class"] == 3, "split"] = "test"
    with pytest.raises(TrainingDataError, match=r"class 3 .*40 test rows.*no training rows"):
        train_model(table, features=["f0", "f1"], selection="none", C=[1.0],
                    gamma_factors=[1.0], compare=[], cv_folds=2)


def _one_place_class(samples, *, polygons: int):
    """Class 3's samples moved into one training block, in ``polygons`` polygon(s)."""
    table = samples.copy()
    rows = table["class"] == 3
    block = int(table.loc[table["split"] == "train", "block"].iloc[0])
    table.loc[rows, "block"] = block
    table.loc[rows, "polygon_id"] = 10_000 + np.arange(rows.sum()) % polygons
    return table


def test_class_in_too_few_groups_names_the_grouping_and_the_fix(samples):
    options = dict(compare=[], selection="none", cv_folds=3, **SMALL_GRID)
    with pytest.raises(TrainingDataError) as info:
        train_model(_one_place_class(samples, polygons=1), cv_groups="polygon", **options)
    message = str(info.value)
    assert message.startswith("class 3 (urban) lies in 1 polygon, too few for the 3 "
                              "cross-validation folds grouped by polygon (cv_groups: polygon)")
    assert "add polygons of that class" in message and "blocks" not in message

    two = _one_place_class(samples, polygons=2)
    with pytest.raises(TrainingDataError) as info:
        train_model(two, cv_groups="block", **options)
    message = str(info.value)
    assert message.startswith("class 3 (urban) lies in 1 group of spatial blocks")
    assert "use smaller spatial blocks" in message and "cv_groups: polygon" in message
    # the advice holds: grouped by polygon, its two polygons train in every fold
    assert train_model(two, cv_groups="polygon", **options).bundle.classes.tolist() == [1, 2, 3]


def test_class_held_out_whole_names_the_split_rule():
    from hrlc.model.train import _check_held_out_classes

    held = {"test": pd.DataFrame({"class": [3, 3]})}
    table = {3: {"name": "urban"}}
    for split, fix in (("polygon", "add polygons of it"),
                       ("block", "use smaller spatial blocks")):
        with pytest.raises(TrainingDataError, match=rf"3 \(urban: 2 test rows\).*split: "
                                                    rf"{split}.*{fix}") as info:
            _check_held_out_classes(held, np.array([1, 2]), table, split=split)
        assert split == "block" or "blocks" not in str(info.value)


@pytest.fixture(scope="module")
def four(samples):
    """The reference chain's table in one run: every variant, OvA softmax of calibrated
    outputs."""
    return train_model(samples, compare=["random_forest", "ova", "multiclass_uncalibrated"],
                       aggregation="softmax", rf_trees=30, seed=0, **SMALL_GRID)


def test_four_variants_appear_with_all_metrics(four, samples):
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    from hrlc.model import expected_calibration_error, uncalibrated

    assert list(four.variants) == ["svm_multiclass_uncalibrated", "svm_multiclass", "svm_ova",
                                   "random_forest"]
    test = samples[samples["split"] == "test"]
    y = test["class"].to_numpy()
    Z = four.bundle.transform(test)
    models = {"svm_multiclass_uncalibrated": uncalibrated(four.bundle.classifier),
              "svm_multiclass": four.bundle.classifier}
    for name, info in four.variants.items():
        m = info["test"]
        assert {"overall_accuracy", "macro_f1", "macro_recall", "macro_precision", "ece",
                "log_loss"} <= set(m)
        if name not in models:
            continue
        labels = models[name].predict(Z)
        assert m["overall_accuracy"] == accuracy_score(y, labels)
        for key, score in (("macro_f1", f1_score), ("macro_recall", recall_score),
                           ("macro_precision", precision_score)):
            assert m[key] == pytest.approx(score(y, labels, average="macro"), rel=1e-12)
    calibrated = four.variants["svm_multiclass"]["test"]
    proba = four.bundle.predict_proba(test)
    assert calibrated["ece"] == expected_calibration_error(
        np.searchsorted(four.bundle.classes, y), proba)
    # no probabilities of its own: ECE and log loss not applicable (null), no other rule
    bare = four.variants["svm_multiclass_uncalibrated"]
    assert bare["test"]["ece"] is None and bare["test"]["log_loss"] is None
    assert "other_labels" not in bare["test"] and bare["labels"] == "decision"
    assert bare["svm_shared_with"] == "svm_multiclass" and bare["fit_seconds"] is None
    # with labels="decision" calibration changes no label (the point)
    assert bare["test"]["confusion"] == calibrated["confusion"]
    for name in ("svm_ova", "random_forest"):
        assert 0 <= four.variants[name]["test"]["ece"] <= 1
        assert four.variants[name]["test"]["log_loss"] > 0
    assert four.variants["svm_ova"]["aggregation"] == "softmax"


def test_report_first_table_is_the_reference_table_plus_ece(four, tmp_path):
    write_report(four, tmp_path / "report")
    text = (tmp_path / "report" / "report.md").read_text()
    first = text[text.index("\n|"):].strip().split("\n\n")[0].splitlines()
    assert first[0] == "| variant | accuracy | macro-F1 | macro recall | macro precision | ECE |"
    rows = [line.strip("| ").split(" | ") for line in first[2:]]
    assert [r[0] for r in rows] == list(four.variants)
    for name, *cells in rows:
        m = four.variants[name]["test"]
        assert cells == ["-" if m[k] is None else f"{m[k]:.3f}" for k in
                         ("overall_accuracy", "macro_f1", "macro_recall", "macro_precision",
                          "ece")]
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert data["variants"]["svm_multiclass_uncalibrated"]["test"]["ece"] is None
    assert "shared with svm_multiclass" in text and "isotonic, softmax" in text


def test_uncalibrated_bundle_maps_classes_only(samples, tmp_path):
    from hrlc.model import load_bundle

    result = train_model(samples, classifier="multiclass_uncalibrated", compare=[],
                         labels="probability", selection="none", **SMALL_GRID)
    bundle = result.bundle
    assert bundle.kind == "multiclass_uncalibrated" and list(result.variants) == [
        "svm_multiclass_uncalibrated"]
    assert bundle.probability_rule()["calibration"] is None
    assert bundle.probability_rule()["labels"] == "decision"  # its vote, whatever labels says
    np.testing.assert_array_equal(bundle.predict(samples),
                                  bundle.classifier.svc_.predict(bundle.transform(samples)))
    with pytest.raises(AttributeError, match="no probabilities; train with classifier: "
                                             "multiclass"):
        bundle.predict_proba(samples)
    loaded = load_bundle(bundle.save(tmp_path / "model.npz"))
    assert loaded.kind == "multiclass_uncalibrated" and loaded.calibrators is None
    np.testing.assert_array_equal(loaded.predict(samples), bundle.predict(samples))
    written = write_report(result, tmp_path / "report")
    assert "reliability.png" in written  # drawn empty: no variant has probabilities
    assert "No probabilities" in (tmp_path / "report" / "report.md").read_text()


def test_random_forest_can_be_the_bundles_classifier(samples):
    result = train_model(samples, classifier="random_forest", compare=["multiclass"],
                         **SMALL_GRID)
    assert result.bundle.kind == "random_forest"
    assert set(result.variants) == {"svm_multiclass", "random_forest"}
    held = samples.loc[samples["split"] == "test"]
    forest_f1 = result.variants["random_forest"]["test"]["macro_f1"]
    from sklearn.metrics import f1_score

    assert forest_f1 == pytest.approx(f1_score(held["class"], result.bundle.predict(held),
                                               average="macro"))
    with pytest.raises(ValueError, match="classifier must be one of"):
        train_model(samples, classifier="svm", **SMALL_GRID)
    with pytest.raises(ValueError, match=r"compare takes variants of .*\['svm'\]"):
        train_model(samples, compare=["svm"], **SMALL_GRID)
