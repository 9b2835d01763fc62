"""Figures of the training report, as matplotlib ``Figure`` objects (no pyplot state).

Every function returns a figure; the report writer saves it. Inputs are the JSON-ready
dictionaries of :mod:`hrlc.model.evaluation`, :mod:`hrlc.model.pca` and
:mod:`hrlc.model.selection`, so a report can be redrawn from its JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def confusion_figure(metrics: Mapping, *, title: str = "") -> Figure:
    """Confusion matrix: counts in the cells, colour = share of the reference class (row)."""
    counts = np.asarray(metrics["confusion"], dtype=float)
    names = [c["name"] for c in metrics["per_class"]]
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 2.2 + 0.55 * len(names)
    fig = Figure(figsize=(size + 1.2, size))
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.6 else "black")
    ticks = np.arange(len(names))
    ax.set_xticks(ticks, names, rotation=45, ha="right")
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    ax.set_title(title or f"OA {metrics['overall_accuracy']:.3f}, "
                 f"macro-F1 {metrics['macro_f1']:.3f}", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of reference class")
    fig.tight_layout()
    return fig


def reliability_figure(variants: Mapping[str, Mapping], *, marked: str | None = None,
                       columns: int = 3) -> Figure:
    """Reliability diagrams: one panel per variant (in the given order, ``columns`` to a
    row), one curve per class (mean predicted probability against observed frequency
    of each bin, one-vs-rest), macro-F1 and ECE in the panel titles.

    Parameters
    ----------
    variants : mapping
        Name -> metrics (:func:`~hrlc.model.classification_metrics` on held-out rows);
        those without ``reliability`` (no probabilities) are left out.
    marked : str, optional
        The variant the bundle holds ("(bundle)" in its title).
    columns : int
        Panels per row.
    """
    calibrated = {k: v for k, v in variants.items() if "reliability" in v}
    n = len(calibrated)
    cols = max(1, min(columns, n))
    rows = max(1, -(-n // cols))
    fig = Figure(figsize=(4.0 * cols, 4.0 * rows))
    if not n:
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no variant gives probabilities", ha="center", va="center")
    for idx, (name, metrics) in enumerate(calibrated.items()):
        ax = fig.add_subplot(rows, cols, idx + 1)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        for curve, info in zip(metrics["reliability"], metrics["per_class"]):
            ax.plot(curve["predicted"], curve["observed"], marker="o", ms=3, lw=1,
                    label=info["name"])
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("predicted probability")
        ax.set_ylabel("observed frequency" if idx % cols == 0 else "")
        f1 = metrics.get("macro_f1")
        scores = ("" if f1 is None else f"macro-F1 {f1:.3f}, ") + f"ECE {metrics['ece']:.3f}"
        ax.set_title(f"{name}{' (bundle)' if name == marked else ''}\n{scores}", fontsize=9)
        if idx == 0:
            ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def correlation_figure(before: np.ndarray, after: np.ndarray, *,
                       names_before: Sequence[str], names_after: Sequence[str]) -> Figure:
    """|Pearson r| of the features before and after selection, side by side."""
    fig = Figure(figsize=(11, 5))
    for idx, (corr, names, title) in enumerate(
            ((before, names_before, "before selection"), (after, names_after, "after selection"))):
        ax = fig.add_subplot(1, 2, idx + 1)
        image = ax.imshow(np.abs(corr), cmap="magma_r", vmin=0, vmax=1)
        ax.set_title(f"{title} ({len(names)} features)", fontsize=10)
        if len(names) <= 40:
            ticks = np.arange(len(names))
            ax.set_xticks(ticks, names, rotation=90, fontsize=6)
            ax.set_yticks(ticks, names, fontsize=6)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(image, ax=fig.axes, fraction=0.025, label="|Pearson r|")
    return fig


def scree_figure(summary: Mapping) -> Figure:
    """Explained variance per component and cumulative, with the two cut-offs and the
    kept count marked (``summary`` from :meth:`ScreePCA.summary`)."""
    ratios = np.asarray(summary["explained_variance_ratio"])
    k = np.arange(1, len(ratios) + 1)
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    ax.plot(k, ratios, marker="o", ms=3, label="explained variance ratio")
    ax.set_xlabel("component")
    ax.set_ylabel("explained variance ratio")
    twin = ax.twinx()
    twin.plot(k, np.cumsum(ratios), color="tab:green", lw=1, label="cumulative")
    twin.axhline(summary["variance_threshold"], color="tab:green", ls=":", lw=0.8)
    twin.set_ylabel("cumulative")
    twin.set_ylim(0, 1.02)
    marks = (("n_variance", "variance cut-off", "tab:green"), ("n_elbow", "elbow", "tab:red"),
             ("n_components", "kept", "black"))
    for key, label, colour in marks:
        ax.axvline(summary[key], color=colour, ls="--", lw=1, label=f"{label}: {summary[key]}")
    ax.legend(fontsize=8, loc="center right")
    ax.set_title(f"PCA ({summary['rule']}): {summary['n_components']} components, "
                 f"{100 * summary['kept_variance']:.1f} % of the variance", fontsize=10)
    fig.tight_layout()
    return fig


def rfecv_figure(summary: Mapping) -> Figure:
    """Cross-validated macro-F1 against the number of features (RFECV)."""
    fig = Figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    ax.plot(summary["n_features_curve"], summary["mean_f1_macro_curve"], marker="o", ms=3)
    ax.axvline(len(summary["selected"]), color="black", ls="--", lw=1,
               label=f"selected: {len(summary['selected'])}")
    ax.set_xlabel("number of features")
    ax.set_ylabel("macro-F1 (block CV)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
