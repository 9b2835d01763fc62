"""Sections of the run report about the classification: map, class areas, samples,
accuracy, confusion matrix, calibration."""

from __future__ import annotations

from collections.abc import Mapping

from hrlc.report.html import Html, image, note, number, section, swatch, table, tag
from hrlc.report.products import RunProducts, stage_note


def _class_rows(products: RunProducts) -> list[tuple[int, str, str | None]]:
    """(code, name, colour) of every class known to the run, in code order."""
    table_ = products.class_table or {}
    return [(code, str(info.get("name", code)), info.get("colour"))
            for code, info in sorted(table_.items())]


def map_section(products: RunProducts) -> Html:
    """The map quick-look and an HTML legend of the classes."""
    if products.quicklook_png is None:
        return section("map", "Land-cover map", stage_note(products.manifest, "map"))
    legend = tag("ul", *(tag("li", swatch(colour), f" {code} {name}")
                         for code, name, colour in _class_rows(products)), class_="legend")
    return section("map", "Land-cover map",
                   tag("figure", image(products.quicklook_png, alt="land-cover map quick-look",
                                       id="map-quicklook"), legend))


def areas_section(products: RunProducts) -> Html:
    """Mapped area of each class (``map/distribution.csv``) and its bar chart."""
    rows = products.distribution
    if rows is None:
        return section("areas", "Class areas", stage_note(products.manifest, "map"))
    colours = {code: colour for code, _, colour in _class_rows(products)}
    body = [(tag("td", swatch(colours.get(r["code"])), f" {r['code']}"), r["name"],
             number(r["pixels"], thousands=True), number(r["area_ha"], digits=2, thousands=True),
             number(r["percent"], digits=2)) for r in rows]
    total_px = sum(r["pixels"] for r in rows)
    total_ha = sum(r["area_ha"] for r in rows)
    body.append((Html("<td></td>"), tag("strong", "mapped area"),
                 number(total_px, thousands=True), number(total_ha, digits=2, thousands=True),
                 number(100.0 if total_px else None, digits=2)))
    parts = [table(["code", "class", "pixels", "area (ha)", "share of mapped area (%)"], body,
                   id="class-areas")]
    if products.distribution_png is not None:
        parts.append(image(products.distribution_png, alt="class areas", id="distribution-plot"))
    return section("areas", "Class areas", *parts)


def _code_order(item: tuple) -> tuple:
    code = item[0][0]
    return (0, int(code), "") if str(code).lstrip("-").isdigit() else (1, 0, str(code))


def samples_section(products: RunProducts) -> Html:
    """Training samples per class and split (``dataset/samples.json``)."""
    samples = products.samples
    if samples is None:
        return section("samples", "Training samples", stage_note(products.manifest, "dataset"))
    counts: dict[tuple, dict[str, int]] = {}
    splits: list[str] = []
    for row in samples.get("counts", []):
        key = (row["class"], row.get("class_name", row["class"]))
        per_split = counts.setdefault(key, {})
        per_split[row["split"]] = per_split.get(row["split"], 0) + int(row["samples"])
        if row["split"] not in splits:
            splits.append(row["split"])
    body = [(code, name, *(per_split.get(s, 0) for s in splits), sum(per_split.values()))
            for (code, name), per_split in sorted(counts.items(), key=_code_order)]
    intro = tag("p", f"strategy {samples.get('strategy', '–')}, seed {samples.get('seed', '–')}, "
                     f"{len(samples.get('features', []))} features")
    return section("samples", "Training samples", intro,
                   table(["code", "class", *splits, "total"], body, id="samples"))


def _main_variant(training: Mapping) -> str:
    bundle = training["bundle"]
    return bundle.get("variant") or f"svm_{bundle['kind']}"  # reports before the forest


def accuracy_section(products: RunProducts) -> Html:
    """Held-out accuracy of every trained variant, per class for the SVM, and the
    area-adjusted estimate when the train stage made one."""
    training = products.training
    if training is None:
        return section("accuracy", "Accuracy", stage_note(products.manifest, "train"))
    main = _main_variant(training)
    bundle = training["bundle"]
    parts = [tag("p", f"Map classifier {main}: {len(bundle['input_features'])} input features, "
                      f"{bundle['n_support_vectors']} support vectors, best parameters "
                      f"{bundle.get('best_params')}; held-out split '{training['data']['split']}'"
                      f", {training['data']['n_train']} training samples.")]
    for split in ("test", "eval"):
        rows = [(name, info.get("labels", "–"), info[split]["n"],
                 info[split]["overall_accuracy"], info[split]["macro_f1"],
                 info[split].get("ece"), info[split].get("log_loss"))
                for name, info in training["variants"].items() if split in info]
        if rows:
            parts.append(table(["variant", "labels", "samples", "overall accuracy", "macro-F1",
                                "ECE", "log loss"], rows, id=f"accuracy-{split}",
                               caption=f"{split} set"))
    test = training["variants"][main]["test"]
    parts.append(table(["code", "class", "precision", "recall", "F1", "support"],
                       [(p["code"], p["name"], p["precision"], p["recall"], p["f1"],
                         p["support"]) for p in test["per_class"]],
                       id="per-class", caption=f"{main}, per class (test set)"))
    areas = training.get("areas")
    if areas:
        parts.append(tag("p", "Area-adjusted accuracy (Olofsson et al. 2014), valid when the "
                              "test samples are a stratified random sample of the map."))
        parts.append(table(
            ["class", "mapped area", "estimated area", "± 95 %", "user's", "producer's"],
            [(p["name"], p["mapped_area"], p["area"], p["area_ci"], p["users_accuracy"],
              p["producers_accuracy"]) for p in areas["per_class"]],
            id="area-adjusted", caption=f"overall accuracy {areas['overall_accuracy']:.3f} ± "
                                        f"{areas['overall_accuracy_ci']:.3f} (95 %)"))
    return section("accuracy", "Accuracy", *parts)


def confusion_section(products: RunProducts) -> Html:
    """Confusion matrix of the map classifier on the test set; cell shade = share of the
    reference class (row)."""
    training = products.training
    if training is None:
        return section("confusion", "Confusion matrix", stage_note(products.manifest, "train"))
    main = _main_variant(training)
    test = training["variants"][main]["test"]
    names = [p["name"] for p in test["per_class"]]
    rows = []
    for name, counts in zip(names, test["confusion"]):
        total = sum(counts)
        cells = [number(int(c), style=f"background:rgba(33,102,172,{c / total if total else 0:.2f})"
                        + (";color:#fff" if total and c / total > 0.6 else ""))
                 for c in counts]
        rows.append((name, *cells, total))
    header = ["reference \\ predicted", *names, "total"]
    return section("confusion", "Confusion matrix",
                   table(header, rows, id="confusion",
                         caption=f"{main}, test set: rows are the reference classes, columns "
                                 "the predicted ones, counts of samples"))


def calibration_section(products: RunProducts) -> Html:
    """Reliability curves (``model/reliability.png``) and calibration errors."""
    training = products.training
    if training is None:
        return section("calibration", "Calibration", stage_note(products.manifest, "train"))
    rows = [(name, info["test"].get("ece"), info["test"].get("classwise_ece"),
             info["test"].get("log_loss"))
            for name, info in training["variants"].items()
            if info.get("test", {}).get("ece") is not None]  # uncalibrated SVM: no ECE
    parts = []
    if products.reliability_png is not None:
        parts.append(image(products.reliability_png, alt="reliability curves",
                           id="reliability-plot"))
    if rows:
        parts.append(table(["variant", "ECE (top label)", "class-wise ECE", "log loss"], rows,
                           id="calibration", caption="test set"))
    else:
        parts.append(note("no probabilities were evaluated"))
    return section("calibration", "Calibration", *parts)
