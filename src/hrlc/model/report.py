"""The training report: Markdown + HTML + JSON of the figures + PNG plots, in one folder.

:func:`report_files` builds the folder's contents (texts and matplotlib figures);
:func:`write_report` has them written by :func:`hrlc.io.report_files.write_report_folder`.

The variants are ranked by their held-out (test set) macro-F1, then their ECE
(:func:`rank_variants`), and one sentence generated from those numbers says which
classifier the bundle holds and why, or which would be better and how to train it
(:func:`classifier_choice`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from hrlc.io.report_files import write_report_folder
from hrlc.model import plots
from hrlc.model.evaluation import HEADLINE, headline
from hrlc.model.train import TrainResult

#: Column titles of the first table: the reference chain's table plus ECE.
_HEADLINE_TITLES = {"overall_accuracy": "accuracy", "macro_f1": "macro-F1",
                    "macro_recall": "macro recall", "macro_precision": "macro precision",
                    "ece": "ECE"}


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    # a "|" inside a cell (e.g. "|r| = 0.97") would end the cell
    lines += ["| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |"
              for row in rows]
    return lines + [""]


def rank_variants(variants: dict, split: str = "test") -> list[str]:
    """Variant names by held-out macro-F1 (highest first), then ECE (lowest first; a
    variant without probabilities after those with); ties keep the trained order."""
    scored = [(name, info[split]) for name, info in variants.items() if split in info]
    return [name for name, _ in sorted(scored, key=lambda item: _rank_key(item[1]))]


def _rank_key(metrics: dict) -> tuple:
    ece = metrics.get("ece")
    return -metrics["macro_f1"], ece is None, ece or 0.0


def _option(variant: str) -> str:
    """The ``classifier`` option that trains a variant into the bundle."""
    return variant.removeprefix("svm_")


def _pair(a: float, b: float) -> str:
    """``"a vs b"`` with the fewest decimals (3 or more) that tell them apart."""
    digits = next((d for d in range(3, 8) if f"{a:.{d}f}" != f"{b:.{d}f}"), 3)
    return f"{a:.{digits}f} vs {b:.{digits}f}"


def _ece(value) -> str:
    return "none" if value is None else f"{value:.3f}"


def classifier_choice(variants: dict, held: str) -> str:
    """One sentence, from the test-set numbers: which classifier the bundle holds
    (``held``, a variant key) and why, or which variant ranks first
    (:func:`rank_variants`) and the ``classifier`` option that would map with it."""
    ranking = rank_variants(variants)
    if held not in ranking:
        return ""
    mine = variants[held]["test"]
    f1, ece = mine["macro_f1"], mine.get("ece")
    # a variant as good on both counts as the first is as good a choice
    best = held if _rank_key(mine) == _rank_key(variants[ranking[0]]["test"]) else ranking[0]
    if best == held:
        if len(ranking) == 1:
            why = f"the only variant trained (held-out macro-F1 {f1:.3f}, ECE {_ece(ece)})"
        else:
            runner = next(v for v in ranking if v != held)
            other = variants[runner]["test"]
            if other["macro_f1"] == f1:
                why = (f"the best held-out macro-F1 ({f1:.3f}, as {runner}) and ECE "
                       f"({_ece(ece)} vs {_ece(other.get('ece'))})")
            else:
                why = (f"the best held-out macro-F1 of the {len(ranking)} variants "
                       f"({_pair(f1, other['macro_f1'])} for the next, {runner}; "
                       f"ECE {_ece(ece)})")
        return f"The bundle holds `{held}` (classifier: {_option(held)}): {why}."
    top = variants[best]["test"]
    if top["macro_f1"] > f1:
        better = (f"a higher held-out macro-F1 than the bundle's `{held}` "
                  f"({_pair(top['macro_f1'], f1)})")
    else:
        better = (f"the held-out macro-F1 of the bundle's `{held}` ({f1:.3f}) and a lower "
                  f"ECE ({_ece(top.get('ece'))} vs {_ece(ece)})")
    only = " (classes only, no probabilities)" if top.get("ece") is None else ""
    return (f"`{best}` has {better}; train with `classifier: {_option(best)}` to map with "
            f"it{only}.")


def _bundle_json(bundle) -> dict:
    c = bundle.classifier
    out = {"kind": bundle.kind, "variant": bundle.variant, "classes": bundle.classes.tolist(),
           "class_table": {str(k): v for k, v in bundle.class_table.items()},
           "input_features": bundle.input_features,
           "n_model_features": int(bundle.transform(bundle.probe_X[:1]).shape[1]),
           "n_support_vectors": bundle.n_support_vectors,
           "best_params": getattr(c, "best_params_", None)}
    if bundle.kind == "random_forest":
        out.update(n_trees=c.n_trees, n_nodes=c.n_nodes)
    return out


def report_json(result: TrainResult) -> dict:
    """Every figure of the report, JSON-ready; ``ranking`` and ``choice`` as in the
    Markdown."""
    return {
        "config": result.config, "data": result.data, "bundle": _bundle_json(result.bundle),
        "variants": result.variants, "ranking": rank_variants(result.variants),
        "choice": classifier_choice(result.variants, result.bundle.variant),
        "selection": result.selection, "pca": result.pca, "areas": result.areas,
    }


def _headline_rows(variants: dict, split: str) -> list[list]:
    """One row per variant: the reference table's columns plus ECE ("-": not applicable,
    the uncalibrated SVM has no probabilities)."""
    return [[name, *headline(info[split]).values()] for name, info in variants.items()
            if split in info]


#: Keys a variant may carry (e.g. how its SVM and calibration were chosen), shown as
#: extra columns of the variants table when present.
_OPTIONAL = {"selection_metric": "selected by", "calibration_choice": "calibration choice"}


def _cell(value) -> str:
    """A table cell of a number, text, list or (nested) dict, on one line."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return _fmt(value)


def _detail_rows(variants: dict, held: str) -> tuple[list[str], list[list]]:
    """Header and rows of the variants table, ranked (:func:`rank_variants`); ``held``,
    the bundle's variant, is marked."""
    optional = [k for k in _OPTIONAL if any(k in info for info in variants.values())]
    header = ["rank", "variant", "macro-F1", "ECE", "labels", "probabilities",
              *(_OPTIONAL[k] for k in optional), "log loss", "OA / F1 with the other labels",
              "SVs / tree nodes", "fit (s)"]
    rows = []
    for rank, name in enumerate(rank_variants(variants), 1):
        info = variants[name]
        m = info["test"]
        cost = info.get("n_support_vectors", info.get("n_nodes"))
        other = m.get("other_labels")
        alt = "-" if other is None else (f"{other['overall_accuracy']:.3f} / "
                                         f"{other['macro_f1']:.3f} ({other['rule']})")
        seconds = info.get("fit_seconds")
        fit = (f"{seconds:.1f}" if seconds is not None else
               f"shared with {info['svm_shared_with']}" if "svm_shared_with" in info else None)
        # a forest labels with its most probable class (train records no rule for it)
        labels = info.get("labels", "probability" if name == "random_forest" else "-")
        rows.append([rank, name + " (bundle)" * (name == held), m["macro_f1"], m.get("ece"),
                     labels, _probabilities(name, info),
                     *(_cell(info[k]) if k in info else "-" for k in optional),
                     m.get("log_loss"), alt, cost, fit])
    return header, rows


def _probabilities(name: str, info: dict) -> str:
    """How a variant's probabilities are made (calibration, one-vs-all aggregation)."""
    if not name.startswith("svm_"):
        return "mean of the trees"
    rule = info.get("aggregation")
    if rule == "score_softmax":
        return "score_softmax (uncalibrated)"
    if info.get("calibration") is None:
        return "none"
    return info["calibration"] + (f", {rule}" if rule else "")


def report_markdown(result: TrainResult, *, figures: dict[str, str], area_unit: str = "ha",
                    ) -> str:
    """The report as Markdown; ``figures`` maps figure keys to PNG file names."""
    data, bundle = result.data, result.bundle
    main = bundle.variant
    lines = ["# hrlc training report", "",
             f"{data['n_rows']} samples, {data['features']} features; held-out set: "
             f"`{data['split']}` split; cross-validation grouped by {data['groups']}; "
             f"{data['n_train']} training samples (of {data['n_train_before_cap']} before the "
             f"cap). Data SHA-256 `{data['sha256'][:16]}...`.", ""]
    header = ["variant", *(_HEADLINE_TITLES[k] for k in HEADLINE)]
    for split in ("test", "eval"):
        rows = _headline_rows(result.variants, split)
        if rows:
            lines += [f"## Accuracy on the {split} set", ""] + _table(header, rows)
    lines += ["## Variants (test set), ranked by macro-F1, then ECE", ""] + _table(
        *_detail_rows(result.variants, main))
    if "svm_multiclass_uncalibrated" in result.variants:
        lines += ["ECE and log loss are not applicable (-) to `svm_multiclass_uncalibrated`: "
                  "the one-vs-one vote gives no probabilities.", ""]
    choice = classifier_choice(result.variants, main)
    lines += [choice, ""] if choice else []
    lines += ["## Model bundle", ""] + _bundle_lines(bundle)
    test = result.variants[main]["test"]
    lines += [f"## Per class ({main}, test set)", ""] + _table(
        ["class", "precision", "recall", "F1", "support"],
        [[p["name"], p["precision"], p["recall"], p["f1"], p["support"]]
         for p in test["per_class"]])
    for key, title in (("confusion", "Confusion matrix"), ("reliability", "Reliability diagrams"),
                       ("correlation", "Correlation before and after selection"),
                       ("rfecv", "RFECV"), ("scree", "PCA scree plot")):
        if key in figures:
            lines += [f"## {title}", "", f"![{title}]({figures[key]})", ""]
    if result.selection is not None:
        sel = result.selection
        lines += [f"Selection `{sel['method']}`: {len(sel['selected'])} kept, "
                  f"{len(sel['dropped'])} dropped.", ""]
        reasons = sel.get("reasons", {})
        if reasons:
            lines += _table(["dropped", "reason"], [[k, v] for k, v in list(reasons.items())[:40]])
    if result.pca is not None:
        p = result.pca
        lines += [f"PCA `{p['rule']}`: variance rule {p['n_variance']}, elbow {p['n_elbow']}, "
                  f"kept {p['n_components']} ({100 * p['kept_variance']:.1f} % of the "
                  "variance).", ""]
    if result.areas is not None:
        a = result.areas
        lines += ["## Area-adjusted accuracy (Olofsson et al. 2014)", "",
                  f"Overall accuracy {a['overall_accuracy']:.3f} +- "
                  f"{a['overall_accuracy_ci']:.3f} (95 %). Valid when the test samples are a "
                  "stratified random sample of the map.", ""]
        lines += _table(["class", f"mapped ({area_unit})", f"estimated ({area_unit})",
                         "+- 95 %", "user's", "+-", "producer's", "+-"],
                        [[p["name"], p["mapped_area"], p["area"], p["area_ci"],
                          p["users_accuracy"], p["users_accuracy_ci"], p["producers_accuracy"],
                          p["producers_accuracy_ci"]] for p in a["per_class"]])
    nonfinite = data["nonfinite"]
    if nonfinite["counts"]:
        lines += [f"Non-finite features in {len(nonfinite['counts'])} column(s); "
                  f"{nonfinite['dropped_rows']} row(s) dropped.", ""]
    lines += ["## Samples per class", ""]
    codes = sorted({k for rows in data["rows"].values() for k in rows}, key=str)
    lines += _table(["class", *data["rows"]],
                    [[bundle.class_table.get(_int(k), {}).get("name", k),
                      *[data["rows"][s].get(k, 0) for s in data["rows"]]] for k in codes])
    return "\n".join(lines)


def _bundle_lines(bundle) -> list[str]:
    """The bundle's classifier in a few lines of Markdown."""
    c = bundle.classifier
    if bundle.kind == "random_forest":
        weights = c.params.get("class_weight")
        return [f"Classifier `{bundle.variant}`: {c.n_trees} trees, {c.n_nodes} nodes "
                f"(class_weight: {weights}); {len(bundle.input_features)} input features; "
                "labels: the most probable class; probabilities: the mean of the trees' "
                "leaf class fractions (scikit-learn's `predict_proba`, exactly).", ""]
    lines = [f"Classifier `{bundle.variant}` (labels: {c.labels}, calibration: "
             f"{c.calibration}" + (f", aggregation: {c.aggregation}" if bundle.kind == "ova"
                                   else "") + "); "
             f"{len(bundle.input_features)} input features; "
             f"{bundle.n_support_vectors} support vectors (kernel evaluations per pixel).",
             f"Best parameters: `{json.dumps(c.best_params_)}`.", ""]
    if c.calibration is None:
        lines += ["No probabilities: a map of this bundle holds the classes, and as "
                  "confidence and margin the shares of the one-vs-one votes.", ""]
    return lines


def _int(key: str):
    return int(key) if key.lstrip("-").isdigit() else key


def _figures(result: TrainResult) -> dict:
    main = result.bundle.variant
    ranked = rank_variants(result.variants)
    figs = {"confusion": plots.confusion_figure(result.variants[main]["test"],
                                                title=f"{main}, test set"),
            "reliability": plots.reliability_figure(
                {k: result.variants[k]["test"] for k in ranked
                 if result.variants[k]["test"].get("ece") is not None}, marked=main)}
    corr = result.correlation
    figs["correlation"] = plots.correlation_figure(
        corr["before"], corr["after"], names_before=corr["names_before"],
        names_after=corr["names_after"])
    if result.selection is not None and result.selection["method"] == "rfecv":
        figs["rfecv"] = plots.rfecv_figure(result.selection)
    if result.pca is not None:
        figs["scree"] = plots.scree_figure(result.pca)
    return figs


#: The page around the report's Markdown rendered as HTML.
_HTML_HEAD = ("<!doctype html><html><head><meta charset='utf-8'><title>hrlc training report"
              "</title><style>body{font-family:sans-serif;max-width:60em;margin:auto}"
              "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
              "img{max-width:100%}</style></head><body>")


def report_html(markdown: str) -> str:
    """The report's Markdown (tables included) as a standalone HTML page."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown)
    return _HTML_HEAD + body + "</body></html>"


def report_files(result: TrainResult, *, area_unit: str = "ha",
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """The contents of the report folder, nothing written.

    Returns
    -------
    figures : dict file name -> matplotlib Figure
        ``confusion.png``, ``reliability.png``, ``correlation.png`` and, when the
        training made them, ``rfecv.png`` and ``scree.png``.
    texts : dict file name -> str
        ``report.md``, ``report.html`` and ``report.json`` (:func:`report_json`).
    """
    drawn = _figures(result)
    names = {key: f"{key}.png" for key in drawn}
    text = report_markdown(result, figures=names, area_unit=area_unit)
    return {names[key]: fig for key, fig in drawn.items()}, {"report.md": text, "report.html": report_html(text),
                     "report.json": json.dumps(report_json(result), indent=1,
                                               default=_json_default)}


def write_report(result: TrainResult, folder: str | os.PathLike, *, overwrite: bool = False,
                 area_unit: str = "ha", dpi: int = 110) -> dict[str, Path]:
    """Write ``report.md``, ``report.html``, ``report.json`` and the PNGs
    (:func:`report_files`; ``dpi``: dots per inch of the PNGs) to ``folder``.

    The folder is written whole or not at all (a temporary folder renamed at the end).

    Returns
    -------
    dict
        Name -> path of every file written.
    """
    figures, texts = report_files(result, area_unit=area_unit)
    return write_report_folder(folder, figures=figures, texts=texts, dpi=dpi,
                               overwrite=overwrite)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
