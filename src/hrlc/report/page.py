"""The run report: one self-contained HTML page (images embedded, inline CSS, no script,
no network) from the products of a run folder."""

from __future__ import annotations

from hrlc.report.html import Html, tag
from hrlc.report.classification import (accuracy_section, areas_section, calibration_section,
                                        confusion_section, map_section, samples_section)
from hrlc.report.products import RunProducts
from hrlc.report.run import gaps_section, manifest_section, masks_section, timings_section

_CSS = """
body{font-family:system-ui,sans-serif;max-width:72em;margin:1em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
nav a{margin-right:.8em}
table{border-collapse:collapse;margin:.6em 0 1em}caption{text-align:left;font-style:italic;
padding:.2em 0}th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.scroll{overflow-x:auto}
img{max-width:100%;height:auto}figure{margin:0}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4em 1.2em}
.swatch{display:inline-block;width:1em;height:1em;border:1px solid #555;vertical-align:middle}
.barcell{width:8em;border-left:none}.bar{display:block;height:.8em;background:#4a7fb5}
.note{color:#777;font-style:italic}pre{background:#f6f6f6;padding:.6em;overflow-x:auto;
font-size:85%}
"""

#: The sections of the page, in order: (anchor, title in the table of contents, builder).
SECTIONS = (
    ("map", "map", map_section),
    ("areas", "class areas", areas_section),
    ("accuracy", "accuracy", accuracy_section),
    ("confusion", "confusion matrix", confusion_section),
    ("calibration", "calibration", calibration_section),
    ("samples", "training samples", samples_section),
    ("masks", "masks", masks_section),
    ("gaps", "gaps", gaps_section),
    ("timings", "time and memory", timings_section),
    ("run", "run", manifest_section),
)


def build_report_html(products: RunProducts) -> str:
    """The run report as one HTML document.

    Parameters
    ----------
    products : RunProducts
        What the run folder holds (:func:`hrlc.pipeline.report.read_run_products`).
        Sections of stages that did not run say so.

    Returns
    -------
    str
        A complete, self-contained HTML page: images are ``data:`` URIs, the style is
        inline, there is no script and no reference to the network.
    """
    stages = products.manifest.get("stages", {})
    done = [name for name, record in stages.items() if record.get("status") == "done"]
    version = products.manifest.get("software", {}).get("hrlc") or "–"
    header = tag("header", tag("h1", "hrlc run report"),
                 tag("p", tag("code", products.name), f" — stages done: "
                          f"{', '.join(done) or 'none'}; hrlc {version}"),
                 tag("nav", *(tag("a", title, href=f"#{anchor}")
                              for anchor, title, _ in SECTIONS)))
    body = Html("".join(build(products) for _, _, build in SECTIONS))
    title = f"hrlc run report: {products.name}"
    return ("<!doctype html>\n" + tag(
        "html", tag("head", Html('<meta charset="utf-8">'),
                    Html('<meta name="viewport" content="width=device-width, initial-scale=1">'),
                    tag("title", title), tag("style", Html(_CSS))),
        tag("body", header, tag("main", body)), lang="en") + "\n")
