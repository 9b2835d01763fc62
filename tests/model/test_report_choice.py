"""The training report ranks the variants by held-out macro-F1 then ECE, says in one
sentence which classifier the bundle holds and why (or which to train instead), and
draws a reliability diagram for every variant with probabilities."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest

from hrlc.model.plots import reliability_figure
from hrlc.model.report import classifier_choice, rank_variants, report_files, write_report


def _variants(**scores):
    """name=(macro-F1, ECE or None) -> variants as TrainResult holds them (test set)."""
    return {name: {"test": {"macro_f1": f1, "ece": ece}} for name, (f1, ece) in scores.items()}


def test_ranked_by_macro_f1_then_ece_without_probabilities_last():
    variants = _variants(svm_multiclass_uncalibrated=(0.80, None), svm_multiclass=(0.80, 0.05),
                         svm_ova=(0.80, 0.02), random_forest=(0.85, 0.09),
                         other=(0.70, 0.01))
    assert rank_variants(variants) == ["random_forest", "svm_ova", "svm_multiclass",
                                       "svm_multiclass_uncalibrated", "other"]
    # equal on both counts: the trained order
    assert rank_variants(_variants(b=(0.5, 0.1), a=(0.5, 0.1))) == ["b", "a"]
    assert rank_variants({"x": {"eval": {"macro_f1": 1.0, "ece": 0.0}}}) == []


@pytest.mark.parametrize("scores, held, sentence", [
    ({"svm_multiclass": (0.612, 0.041), "random_forest": (0.551, 0.080)}, "svm_multiclass",
     "The bundle holds `svm_multiclass` (classifier: multiclass): the best held-out macro-F1 "
     "of the 2 variants (0.612 vs 0.551 for the next, random_forest; ECE 0.041)."),
    ({"svm_multiclass": (0.49, 0.03), "random_forest": (0.55, 0.07)}, "svm_multiclass",
     "`random_forest` has a higher held-out macro-F1 than the bundle's `svm_multiclass` "
     "(0.550 vs 0.490); train with `classifier: random_forest` to map with it."),
    ({"svm_multiclass": (0.6, 0.05), "svm_ova": (0.6, 0.02)}, "svm_multiclass",
     "`svm_ova` has the held-out macro-F1 of the bundle's `svm_multiclass` (0.600) and a "
     "lower ECE (0.020 vs 0.050); train with `classifier: ova` to map with it."),
    ({"random_forest": (0.61214, 0.05), "svm_ova": (0.61236, 0.02)}, "random_forest",
     "`svm_ova` has a higher held-out macro-F1 than the bundle's `random_forest` "
     "(0.6124 vs 0.6121); train with `classifier: ova` to map with it."),
    ({"svm_multiclass_uncalibrated": (0.7, None), "svm_multiclass": (0.6, 0.02)},
     "svm_multiclass", "`svm_multiclass_uncalibrated` has a higher held-out macro-F1 than the "
     "bundle's `svm_multiclass` (0.700 vs 0.600); train with `classifier: "
     "multiclass_uncalibrated` to map with it (classes only, no probabilities)."),
    ({"random_forest": (0.5, 0.1), "svm_ova": (0.5, 0.1)}, "svm_ova",
     "The bundle holds `svm_ova` (classifier: ova): the best held-out macro-F1 (0.500, as "
     "random_forest) and ECE (0.100 vs 0.100)."),
    ({"random_forest": (0.71, 0.04)}, "random_forest",
     "The bundle holds `random_forest` (classifier: random_forest): the only variant trained "
     "(held-out macro-F1 0.710, ECE 0.040)."),
])
def test_choice_sentence_follows_the_numbers(scores, held, sentence):
    assert classifier_choice(_variants(**scores), held) == sentence


@pytest.fixture(scope="module")
def forest_result(trained, samples):
    """``trained`` (svm_multiclass + random_forest) with a random-forest bundle on the
    same features and training rows, and the variants the other engineer's train stage
    may add (selection_metric, calibration_choice)."""
    from sklearn.ensemble import RandomForestClassifier

    from hrlc.model import ModelBundle

    features = trained.bundle.input_features
    train = samples[samples["split"] == "train"]
    X = train[features].to_numpy(np.float64)
    forest = RandomForestClassifier(30, random_state=0, n_jobs=1).fit(X, train["class"])
    bundle = ModelBundle(input_features=features, classifier=forest,
                         class_table=trained.bundle.class_table)
    bundle.probe_X = X[:16]
    bundle.probe_scores = bundle.decision_scores(bundle.probe_X)
    variants = copy.deepcopy(trained.variants)
    variants["svm_multiclass"].update(
        selection_metric="roc_auc_ovr",
        calibration_choice={"method": "isotonic", "log_loss": {"isotonic": 0.25,
                                                               "sigmoid": 0.31}})
    return dataclasses.replace(trained, bundle=bundle, variants=variants)


def test_report_of_a_forest_bundle(forest_result, tmp_path):
    written = write_report(forest_result, tmp_path / "report")
    text = (tmp_path / "report" / "report.md").read_text()
    ranked = rank_variants(forest_result.variants)
    section = text[text.index("## Variants (test set), ranked by macro-F1, then ECE"):]
    header, _, *rows = section.split("\n\n")[1].splitlines()
    cells = [row.strip("| ").split(" | ") for row in rows]
    assert [c[1].removesuffix(" (bundle)") for c in cells] == ranked
    assert [c[0] for c in cells] == [str(i) for i in range(1, len(ranked) + 1)]
    for c in cells:
        m = forest_result.variants[c[1].removesuffix(" (bundle)")]["test"]
        assert c[2:4] == [f"{m['macro_f1']:.3f}", f"{m['ece']:.3f}"]
    assert "| selected by | calibration choice |" in header
    svm = next(c for c in cells if c[1] == "svm_multiclass")
    assert "roc_auc_ovr" in svm and ("method: isotonic; log_loss: isotonic: 0.250; sigmoid: "
                                     "0.310") in svm
    assert next(c for c in cells if c[1].startswith("random_forest"))[1] == (
        "random_forest (bundle)")
    sentence = classifier_choice(forest_result.variants, "random_forest")
    assert sentence in text and "random_forest" in sentence
    assert "Classifier `random_forest`: 30 trees" in text
    assert "## Per class (random_forest, test set)" in text
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert data["ranking"] == ranked and data["choice"] == sentence
    assert data["bundle"]["variant"] == "random_forest" and data["bundle"]["n_trees"] == 30
    assert "reliability.png" in written and "![Reliability diagrams](reliability.png)" in text


def test_reliability_panel_for_every_variant_with_probabilities(trained, samples):
    from hrlc.model import classification_metrics, uncalibrated

    test = samples[samples["split"] == "test"]
    bare = uncalibrated(trained.bundle.classifier).predict(trained.bundle.transform(test))
    variants = {**trained.variants, "svm_multiclass_uncalibrated": {
        "test": classification_metrics(test["class"].to_numpy(), bare,
                                       classes=trained.bundle.classes)}}
    ranked = rank_variants(variants)
    with_probabilities = [k for k in ranked if variants[k]["test"]["ece"] is not None]
    assert len(with_probabilities) == 2 and len(ranked) == 3  # the vote has none
    fig = reliability_figure({k: variants[k]["test"] for k in ranked}, marked="svm_multiclass")
    titles = [ax.get_title() for ax in fig.axes]
    assert [t.split("\n")[0].removesuffix(" (bundle)") for t in titles] == with_probabilities
    for ax, name in zip(fig.axes, with_probabilities):
        m = variants[name]["test"]
        assert ax.get_title().endswith(f"macro-F1 {m['macro_f1']:.3f}, ECE {m['ece']:.3f}")
        assert len(ax.get_lines()) == 1 + len(m["per_class"])  # diagonal + one per class
    assert "svm_multiclass (bundle)" in titles[with_probabilities.index("svm_multiclass")]
    empty = reliability_figure({"svm_multiclass_uncalibrated": {"ece": None}})
    assert "no variant gives probabilities" in empty.axes[0].texts[0].get_text()


def test_report_files_are_what_write_report_writes(forest_result, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    monkeypatch.chdir(tmp_path)
    figures, texts = report_files(forest_result, area_unit="px")
    assert list(tmp_path.iterdir()) == []  # built, not written
    assert all(isinstance(fig, Figure) for fig in figures.values())
    assert {"confusion.png", "reliability.png", "correlation.png"} <= set(figures)
    assert set(texts) == {"report.md", "report.html", "report.json"}
    for name in figures:
        assert f"]({name})" in texts["report.md"]  # the Markdown shows every figure
    assert json.loads(texts["report.json"])["choice"] == classifier_choice(
        forest_result.variants, forest_result.bundle.variant)
    written = write_report(forest_result, tmp_path / "report", area_unit="px")
    assert set(written) == set(figures) | set(texts)
    for name, text in texts.items():
        assert written[name].read_text() == text
    for name in figures:
        assert written[name].read_bytes()[:4] == b"\x89PNG"
