"""The table of the latest result of every stage: rows from result files, merged, rendered.

A row's ``measured`` time is the modification time of the JSON it comes from (the moment
the benchmark wrote it). For each stage the newest row wins among the previous table
(``bench_all.json``), the files the script writes when run as documented (e.g.
``masks.json``) and the suite's own runs (``suite/<stage>-<size>.json``); on a tie the
previous row's record of the run (the machine's load, the command) is kept.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from hrlc.bench_suite.stages import (
    FULL_TILE,
    REFERENCE,
    REFERENCE_SOURCE,
    STAGES,
    TARGET,
    Stage,
)

#: Sub-folder of the results folder holding the suite's own per-stage outputs.
SUITE = "suite"
#: What ``hrlc bench`` records of a run beyond the script's JSON.
RUN_KEYS = ("cores", "load", "command", "script_seconds", "script_peak_rss_gb")


def measured_at(path: Path) -> str:
    """Modification time of ``path``, ISO 8601 to the second (local time)."""
    return datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds")


def row_from_file(stage: Stage, path: Path, results: Path) -> dict[str, Any]:
    """One table row from a stage's result JSON.

    Raises
    ------
    ValueError
        The file is not a result of this stage's script (unreadable or other keys).
    """
    try:
        fields = stage.parse(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError, StopIteration, IndexError) as exc:
        raise ValueError(f"{path} is not a {stage.name} benchmark result "
                         f"({type(exc).__name__}: {exc})") from None
    try:
        source = str(path.relative_to(results))
    except ValueError:
        source = str(path)
    return {"stage": stage.name, **fields, "measured": measured_at(path), "source": source}


def file_rows(results: Path) -> tuple[dict[str, list[dict]], list[str]]:
    """Rows of every result file found in ``results``, by stage; and the files skipped."""
    found: dict[str, list[dict]] = {name: [] for name in STAGES}
    skipped = []
    for name, stage in STAGES.items():
        paths = [results / c for c in stage.canonical]
        paths += sorted((results / SUITE).glob(f"{name}-*.json"))
        for path in paths:
            if path.is_file():
                try:
                    found[name].append(row_from_file(stage, path, results))
                except ValueError as exc:
                    skipped.append(str(exc))
    return found, skipped


def previous_rows(path: Path) -> dict[str, dict]:
    """The rows of an earlier ``bench_all.json`` by stage (none if it is missing)."""
    if not path.is_file():
        return {}
    try:
        rows = json.loads(path.read_text())["rows"]
    except (ValueError, KeyError, TypeError):
        return {}
    return {r["stage"]: r for r in rows if r.get("stage") in STAGES}


def latest(previous: dict[str, dict], candidates: dict[str, list[dict]],
           fresh: dict[str, dict] | None = None) -> list[dict]:
    """The newest row of each stage, in the suite's stage order.

    ``fresh`` rows (measured by this run) always win; otherwise the newest ``measured``
    among the previous row and the candidates, the previous row on a tie. A previous row
    whose file is still there unchanged is read again (so that the table follows the
    parsers), keeping its :data:`RUN_KEYS`.
    """
    fresh = fresh or {}
    out = []
    for name in STAGES:
        if name in fresh:
            out.append(fresh[name])
            continue
        rows = candidates.get(name, [])
        prev = previous.get(name)
        if prev is not None:
            same = [r for r in rows if (r["source"], r["measured"]) ==
                    (prev.get("source"), prev["measured"])]
            if same:  # the file it came from, unchanged: its figures, re-read, with the
                # previous row's record of the run
                rows = [{**same[0], **{k: prev[k] for k in RUN_KEYS if k in prev}},
                        *(r for r in rows if r is not same[0])]
            else:
                rows = [prev, *rows]
        if rows:  # max() keeps the first of equal keys: the previous row
            out.append(max(rows, key=lambda r: r["measured"]))
    return out


def _num(value: float | None, digits: int) -> str:
    if value is None:
        return "—"
    if 0 < value < 10 ** -digits:  # a tiny size's figure, not a zero
        return f"{value:.1g}"
    return f"{value:,.{digits}f}"


def _pair(figures: tuple[float, float] | None, prefix: str = "") -> str:
    if figures is None:
        return "—"
    return f"{prefix}{figures[0]:,.0f} s / {prefix}{figures[1]:g} GB"


def reference_text(implementation: str, stage: str) -> str:
    """``1,187 s / 15.8 GB (T18NWL)``: one reference implementation's figures for a stage."""
    figures = REFERENCE[implementation].get(stage)
    if figures is None or figures.tile is None:
        return _pair(figures)
    return f"{_pair(figures)} ({figures.tile})"


def target_text(row: dict) -> str:
    """The stage's target, and on a full tile whether this row meets it."""
    target = TARGET.get(row["stage"])
    text = _pair(target, "≤ ")
    if target is None or row.get("size") != FULL_TILE:
        return text
    met = (row["wall_s"] <= target[0] and row["peak_rss_gb"] is not None
           and row["peak_rss_gb"] <= target[1])
    return f"{text} ({'met' if met else 'not met'})"


def machine_text(row: dict) -> str:
    """``2 cores, load 3.7`` with what the row records, ``—`` when nothing."""
    parts = []
    if row.get("cores"):
        parts.append(f"{row['cores']} cores")
    load = row.get("load")
    if isinstance(load, list):
        load = max(load)
    if load is not None:
        parts.append(f"load {load:.1f}")
    return ", ".join(parts) or "—"


#: One column per reference implementation (:data:`~hrlc.bench_suite.stages.REFERENCE`).
REFERENCE_COLUMNS = tuple(f"reference chain: {name}" for name in REFERENCE)
COLUMNS = ("stage", "size", "wall s", "peak RSS GiB", "CPU s", "target", *REFERENCE_COLUMNS,
           "measured", "machine", "notes", "result")


def table_cells(row: dict) -> list[str]:
    """The Markdown cells of one row, in :data:`COLUMNS` order."""
    return [row["stage"], row["size_text"], _num(row["wall_s"], 1), _num(row["peak_rss_gb"], 2),
            _num(row.get("cpu_s"), 1), target_text(row),
            *(reference_text(name, row["stage"]) for name in REFERENCE),
            row["measured"].replace("T", " ")[:16], machine_text(row), row.get("note", ""),
            f"`{row['source']}`"]


def markdown(rows: list[dict], *, command: str) -> str:
    """``RESULTS.md``: the table of the latest result of every stage, and how to read it."""
    lines = [
        "# Benchmark results",
        "",
        f"The latest measured result of every stage, written by `{command}`. After running "
        "a benchmark script by hand, `hrlc bench --from-results` brings its result in. Each row "
        f"states the size it was measured at: a full tile is {FULL_TILE} x {FULL_TILE} px. "
        "Wall time and peak resident memory (RSS) are the benchmark's own figures; CPU s "
        "is user + system time, the steadier figure on a shared machine. hrlc's targets "
        "and the reference chain's figures are for a full tile: those of its "
        + " and of its ".join(REFERENCE) + f" (source: {REFERENCE_SOURCE}). \"measured\" "
        "is the time the result file was written.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---:" if c in ("wall s", "peak RSS GiB", "CPU s") else "---"
                       for c in COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(table_cells(r)) + " |" for r in rows]
    missing = [name for name in STAGES if name not in {r["stage"] for r in rows}]
    if missing:
        lines += ["", "Not measured yet: " + ", ".join(missing) + "."]
    lines += ["", "Stages: " + "; ".join(f"**{s.name}** ({s.script}): {s.about}"
                                         for s in STAGES.values()) + "."]
    return "\n".join(lines) + "\n"


def payload(rows: list[dict], *, command: str) -> dict[str, Any]:
    """``bench_all.json``: the rows with the reference figures and targets."""
    return {"generated": datetime.now().isoformat(timespec="seconds"), "command": command,
            "full_tile": FULL_TILE, "cpus": os.cpu_count(),
            "reference_chain": {"source": REFERENCE_SOURCE, **{
                name: {stage: f._asdict() for stage, f in figures.items()}
                for name, figures in REFERENCE.items()}},
            "targets": {k: {"wall_s": v[0], "peak_rss_gb": v[1]} for k, v in TARGET.items()},
            "rows": rows}
