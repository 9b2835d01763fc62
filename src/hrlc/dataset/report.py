"""The dataset report: class counts, distribution chart, feature distributions, warnings.

The functions build matplotlib figures and Markdown text; the CLI writes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from hrlc.dataset.classes import ClassTable
from hrlc.dataset.summary import class_summary

#: Features shown by default, by preference: vegetation, water, NIR, SWIR, red, texture.
_KEY_PATTERNS = (r"^NDVI(_|$)", r"^NDWI(_|$)", r"^B08(_|$)", r"^B11(_|$)", r"^B04(_|$)",
                 r"^glcm_contrast", r"^elevation$")
_SEGMENTS = (("polygon", "train"), ("polygon", "test"), ("polygon", "eval"),
             ("lcmap", "train"), ("lcmap", "test"))
_STYLE = {"train": dict(alpha=1.0, hatch=""), "test": dict(alpha=0.6, hatch="//"),
          "eval": dict(alpha=0.4, hatch="xx")}


def key_features(names: Sequence[str], *, n: int = 4) -> list[str]:
    """Up to ``n`` telling features (NDVI, NDWI, NIR, SWIR... of the first month that has
    them), then the first features in order."""
    chosen: list[str] = []
    for pattern in _KEY_PATTERNS:
        match = next((f for f in names if re.search(pattern, f)), None)
        if match and match not in chosen:
            chosen.append(match)
    chosen += [f for f in names if f not in chosen]
    return chosen[:n]


def plot_class_counts(table: pd.DataFrame, classes: ClassTable) -> Figure:
    """Bar chart of samples per class, stacked by source and split, in class colours."""
    summary = class_summary(table, classes)
    fig = Figure(figsize=(max(5.0, 1.1 * len(summary) + 2), 4), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(summary))
    bottom = np.zeros(len(summary))
    legend = []
    colours = [classes.colour_of(c) for c in summary["code"]]
    for source, split in _SEGMENTS:
        mask = (table["source"] == source) & (table["split"] == split)
        counts = table[mask]["class"].value_counts()
        heights = np.array([counts.get(c, 0) for c in summary["code"]], float)
        if not heights.any():
            continue
        ax.bar(x, heights, bottom=bottom, color=colours, edgecolor="black", linewidth=0.5,
               **_STYLE[split])
        legend.append(Patch(facecolor="0.6", edgecolor="black", label=f"{source} / {split}",
                            **_STYLE[split]))
        bottom += heights
    for xi, total in zip(x, bottom):
        ax.annotate(f"{int(total)}", (xi, total), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, summary["name"], rotation=30, ha="right")
    ax.set_ylabel("samples (pixels)")
    ax.set_title("Samples per class (source / split)")
    ax.legend(handles=legend, fontsize=8)  # in grey: the colour is the class
    return fig


def plot_feature_distributions(table: pd.DataFrame, classes: ClassTable,
                               features: Sequence[str]) -> Figure:
    """Histograms (density) of a few features per class, training and test samples."""
    features = list(features)
    n = max(len(features), 1)
    ncols = 2 if n == 4 else min(n, 3)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(4 * ncols, 3 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(features):]:
        ax.set_visible(False)
    for ax, name in zip(axes, features):
        values = table[name].to_numpy()
        if values.size == 0:
            continue
        lo, hi = np.nanpercentile(values, [0.5, 99.5])
        bins = np.linspace(lo, hi if hi > lo else lo + 1, 40)
        for info in classes:
            sub = table.loc[table["class"] == info.code, name].to_numpy()
            if sub.size:
                ax.hist(sub, bins=bins, density=True, histtype="step", linewidth=1.5,
                        color=info.colour, label=f"{info.name} ({sub.size})")
        ax.set_title(name)
        ax.set_yticks([])
    axes[0].legend(fontsize=7)
    fig.suptitle("Feature distributions per class")
    return fig


def _markdown_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def report_markdown(table: pd.DataFrame, metadata: Mapping, *,
                    images: Mapping[str, str] | None = None) -> str:
    """The Markdown report of a sample table.

    Parameters
    ----------
    table : DataFrame
        Sample table from :func:`hrlc.dataset.build_dataset`.
    metadata : mapping
        Its metadata (class table, options, diagnostics, warnings).
    images : mapping caption -> relative path, optional
        PNG files to embed.
    """
    classes = ClassTable(metadata["classes"])
    options = metadata.get("options", {})
    diag = metadata.get("diagnostics", {})
    lines = [
        "# Training dataset", "",
        f"- strategy: **{metadata['strategy']}**, seed {metadata['seed']}",
        f"- samples: {len(table)}, features: {len(metadata['features'])}",
        f"- CRS: EPSG:{metadata['crs'].get('epsg')}, grid {metadata['shape'][0]} x "
        f"{metadata['shape'][1]} px of {metadata['resolution']:g} m",
        f"- blocks: {metadata['block_size']:g} m ({metadata['block_size_px']} px), split by "
        f"{options.get('split_by', 'block')}, test fraction {options.get('test_fraction')}",
        "", "## Samples per class", "",
        _markdown_table(class_summary(table, classes)), "",
    ]
    for caption, path in (images or {}).items():
        lines += [f"![{caption}]({path})", ""]
    rast = diag.get("rasterize", {})
    if rast:
        labels = diag.get("labels", {})
        lines += ["## Labels", "",
                  f"- geometries labelled: {rast.get('geometries')} (read "
                  f"{labels.get('features_read', '?')}, ignored {labels.get('ignored', 0)}, "
                  f"repaired {labels.get('repaired', 0)}, empty {labels.get('empty_dropped', 0)})",
                  f"- outside the grid: {len(rast.get('outside', []))}; covering no pixel "
                  f"centre: {len(rast.get('without_pixels', []))}; pixels with conflicting "
                  f"classes: {rast.get('conflict_pixels', 0)}", ""]
    if diag.get("lc_available"):
        avail = ", ".join(f"{classes.name_of(c)} {n}" for c, n in diag["lc_available"].items())
        lines += ["## Land-cover maps", "", f"- eligible pixels per class: {avail}", ""]
    warnings_ = metadata.get("warnings", [])
    lines += ["## Warnings", ""] + ([f"- {w}" for w in warnings_] or ["- none"]) + [""]
    return "\n".join(lines)
