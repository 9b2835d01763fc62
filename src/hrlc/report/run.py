"""Sections of the run report about the run itself: cloud masks per scene, gaps per
month, time and memory per stage, scenes, inputs, software and the whole manifest."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from hrlc.report.html import Html, note, number, section, table, tag
from hrlc.report.products import RunProducts, stage_note


def records_table(rows: Sequence[Mapping], *, id: str, caption: str | None = None) -> Html:
    """Rows of a summary file as a table: keys ending in ``%`` hold shares 0-1 and are
    shown as percentages, other floats with 2 decimals."""
    header = list(rows[0])
    body = []
    for row in rows:
        cells = []
        for key in header:
            value = row.get(key)
            if key.endswith("%") and isinstance(value, int | float):
                cells.append(number(value, digits=1, percent=True))
            elif isinstance(value, float):
                cells.append(number(value, digits=2))
            else:
                cells.append(value)
        body.append(cells)
    return table([k.removesuffix(" %").removesuffix("%") + (" (%)" if k.endswith("%") else "")
                  for k in header], body, id=id, caption=caption)


def masks_section(products: RunProducts) -> Html:
    """Cloud, shadow and no-data shares of each scene (``masks/summary.csv``)."""
    rows = products.mask_summary
    if not rows:
        return section("masks", "Cloud and shadow masks", stage_note(products.manifest, "masks"))
    return section("masks", "Cloud and shadow masks",
                   tag("p", "Share of the valid pixels of each scene; no data and no "
                            "background are shares of all pixels."),
                   records_table(rows, id="mask-stats"))


def gaps_section(products: RunProducts) -> Html:
    """Gaps per month in the composites and after restoration."""
    parts = []
    if products.composite_summary:
        parts.append(records_table(products.composite_summary, id="composite-gaps",
                                   caption="monthly composites"))
    else:
        parts.append(stage_note(products.manifest, "composite"))
    if products.restore_summary:
        parts.append(records_table(products.restore_summary, id="restore-gaps",
                                   caption="gaps before and after restoration"))
    else:
        parts.append(stage_note(products.manifest, "restore"))
    return section("gaps", "Gaps per month", *parts)


def _bar(value: float | None, largest: float) -> Html:
    share = 0.0 if not value or not largest else 100.0 * value / largest
    return tag("td", tag("span", "", class_="bar", style=f"width:{share:.1f}%"), class_="barcell")


def timings_section(products: RunProducts) -> Html:
    """Wall time and peak resident memory of each stage (its own child process)."""
    stages = products.manifest.get("stages", {})
    if not stages:
        return section("timings", "Time and memory per stage", note("no stage has run yet"))
    seconds = {k: v.get("seconds") for k, v in stages.items()}
    peaks = {k: v.get("peak_rss_mb") for k, v in stages.items()}
    longest = max((s for s in seconds.values() if s), default=0.0)
    largest = max((p for p in peaks.values() if p), default=0.0)
    rows = []
    for name, record in stages.items():
        size = sum(o.get("bytes", 0) for o in record.get("outputs", []))
        rows.append((name, record.get("status", "–"), number(seconds[name], digits=1),
                     _bar(seconds[name], longest), number(peaks[name], digits=0),
                     _bar(peaks[name], largest),
                     number(size / 1e6, digits=1) if record.get("outputs") else None))
    total = sum(s for s in seconds.values() if s)
    rows.append((tag("strong", "all stages"), "", number(total, digits=1), Html("<td></td>"),
                 number(largest or None, digits=0), Html("<td></td>"), None))
    return section("timings", "Time and memory per stage",
                   table(["stage", "status", "seconds", "", "peak RSS (MiB)", "", "outputs (MB)"],
                         rows, id="timings",
                         caption="wall time and peak resident memory of each stage's own "
                                 "process; the last row: total time, largest peak"))


def manifest_section(products: RunProducts) -> Html:
    """Scenes, inputs, software versions, seeds, and the manifest itself."""
    manifest = products.manifest
    parts = [tag("p", f"configuration {manifest.get('config_source', '–')}, hash "
                      f"{manifest.get('config_hash', '–')}")]
    scenes = manifest.get("scenes", [])
    if scenes:
        parts.append(table(
            ["product", "tile", "sensing time", "processing baseline", "BOA offset"],
            [(s.get("product"), s.get("tile"), str(s.get("sensing_time", ""))[:19],
              s.get("processing_baseline"),
              ", ".join(f"{v:g}" for v in s.get("boa_add_offset") or [])) for s in scenes],
            id="scenes", caption="scenes"))
    inputs = manifest.get("inputs", [])
    if inputs:
        parts.append(table(["path", "MB", "hash"],
                           [(i.get("path"), number(i.get("bytes", 0) / 1e6, digits=2),
                             i.get("hash")) for i in inputs], id="inputs", caption="inputs"))
    software = manifest.get("software", {})
    if software:
        parts.append(table(["package", "version"], [(k, v) for k, v in software.items()],
                           id="software", caption="software"))
    seeds = manifest.get("seeds", {})
    if seeds:
        parts.append(tag("p", "seeds: " + ", ".join(f"{k} {v}" for k, v in seeds.items())))
    text = json.dumps(manifest, indent=2, default=str, allow_nan=True)
    parts.append(tag("details", tag("summary", "manifest.json"), tag("pre", text)))
    return section("run", "Run", *parts)
