"""Seasonal background: one for the whole series (``window_days: null``) or moving windows.

The reference chain builds *seasonal* background images; ``refine_masks`` makes one
background per pixel for the whole series by default, or, with ``window_days``, one per
date from the dates within that many days of it (follows phenology, fewer clear dates per
background). This script refines the same seasons with ``window_days`` null, 60 and 90
(every other option at its default, ``all_observations`` included; each run fits its own
K-means, as ``refine_masks`` does) and scores them against the truth.

Data sets (built by ``eval_masks.py`` / ``eval_masks_persistent.py``):

- ``simulator``: ``hrlc.simulate`` seasons, 512 px, ``--dates`` (24) acquisitions spread
  over a year (every 15 days: crops grow and are harvested, deciduous trees lose their
  leaves, the sun's height changes), seeds 0-2;
- ``cloudy``: the same under cloud cover 50-90 % with no clear date;
- ``aber`` and ``eolearn``: the semi-synthetic seasons (real surfaces under simulated
  skies, 12 dates over 180 days). Their surfaces do not follow a season (one surface with
  per-date gain fields; three clear scenes in turn), so they show what a window costs
  where there is no phenology to follow.

Scores: precision / recall / F1 of cloud (thick + thin) and shadow, summed over dates and
seasons; ``no background``: share of the valid observations whose pixel had fewer than
``min_clear`` clear observations in its window (they follow ``fallback``); refinement
time: fit + refinement, all seasons of the set (after an untimed warm-up). Rule: the
option with the highest mean, over the four sets, of (cloud F1 + shadow F1) / 2 becomes
the default if it beats the current default by at least ``MARGIN``.

Writes ``benchmarks/results/masks_season.json`` and ``.md`` and rewrites the block
between ``<!-- season:start -->`` and ``<!-- season:end -->`` in ``docs/masks.md``. About
10 minutes on 2 cores::

    .venv/bin/python benchmarks/eval_masks_season.py            # measure, write all
    .venv/bin/python benchmarks/eval_masks_season.py --render   # .md and docs from .json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import dask
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_masks import ROOT, _table  # noqa: E402
from eval_masks_persistent import GROUPS, _seasons, _write, measured  # noqa: E402

from hrlc.config.masks import MasksConfig  # noqa: E402
from hrlc.masks import evaluate_masks, refine_layers  # noqa: E402
from hrlc.masks.evaluate import MaskScores  # noqa: E402

#: ``window_days`` options compared, by label.
OPTIONS = {"null": None, "60": 60.0, "90": 90.0}
MARKERS = ("<!-- season:start -->", "<!-- season:end -->")
SCRIPT = "benchmarks/eval_masks_season.py"
TITLE = "Seasonal background: whole series or moving window"
#: A default changes every user's masks: another option replaces it only if its mean
#: score is higher by at least this much (half a point of F1).
MARGIN = 0.005


def _label(option: float | None) -> str:
    return "null" if option is None else f"{option:g}"


def measure(name: str, seeds: tuple[int, ...], dates: int) -> dict:
    """Scores, no-background share and refinement time of each option on data set ``name``."""
    confusion: dict[str, np.ndarray] = {}
    seconds = dict.fromkeys(OPTIONS, 0.0)
    lacking = dict.fromkeys(OPTIONS, 0)
    valid, per_season = 0, []
    for refl, scl, truth, dem in _seasons(name, 0.0, seeds, dates):
        days = np.diff(refl.time.values).astype("timedelta64[D]").astype(int)
        shape = dict(size=refl.sizes["x"], dates=refl.sizes["time"], interval_days=int(days[0]))
        valid += int((truth != 255).sum())
        season = {}
        for label, window in OPTIONS.items():
            begin = time.perf_counter()
            layers = refine_layers(refl, scl, dem=dem, window_days=window)
            mask, missing = dask.compute(layers["mask"].data, layers["no_background"].data)
            seconds[label] += time.perf_counter() - begin
            conf = evaluate_masks(mask, truth).confusion
            confusion[label] = confusion.get(label, 0) + conf
            lacking[label] += int(missing.sum())
            season[label] = conf.tolist()
        per_season.append(season)
    return {"methods": {label: {**{g: MaskScores(c).group(g) for g in GROUPS},
                                "confusion": c.tolist()} for label, c in confusion.items()},
            "no_background": {label: n / max(valid, 1) for label, n in lacking.items()},
            "refine_seconds": seconds, "seasons": per_season, **shape}


def score(groups: dict) -> float:
    """The rule's score of one set and option: (cloud F1 + shadow F1) / 2."""
    return (groups["cloud"]["f1"] + groups["cloud shadow"]["f1"]) / 2


def decide(data: dict, current: float | None) -> dict:
    """Mean score over the sets of each option, and the option the rule picks."""
    means = {label: float(np.mean([score(d["methods"][label]) for d in data.values()]))
             for label in OPTIONS}
    best = max(means, key=means.get)
    if means[best] - means[_label(current)] < MARGIN:
        best = _label(current)
    return {"mean_score": means, "best": best, "current": _label(current), "margin": MARGIN}


def markdown(results: dict) -> str:
    """The generated tables and notes (the same text goes into docs/masks.md)."""
    meta, data, decision = results["meta"], results["data"], results["decision"]
    rows = {set_: {f"window_days: {label}": s for label, s in d["methods"].items()}
            for set_, d in data.items()}
    summary = ["| data set | window_days | (cloud F1 + shadow F1) / 2 | no background | "
               "refinement s |", "|---|---|---|---|---|"]
    for set_, d in data.items():
        for label in OPTIONS:
            summary.append(f"| {set_} | {label} | {score(d['methods'][label]):.4f} | "
                           f"{d['no_background'][label]:.2%} | "
                           f"{d['refine_seconds'][label]:.1f} |")
    for label in OPTIONS:
        total = sum(d["refine_seconds"][label] for d in data.values())
        summary.append(f"| **mean over the {len(data)} sets** | {label} | "
                       f"**{decision['mean_score'][label]:.4f}** | | {total:.1f} (sum) |")
    means, best, current = decision["mean_score"], decision["best"], decision["current"]
    top = max(means, key=means.get)
    if best != current:
        verdict = f"`window_days: {best}` becomes the default (was `{current}`)."
    elif top == current:
        verdict = f"`window_days: {current}` scores highest and stays the default."
    else:
        verdict = (f"`window_days: {top}` scores highest, but only "
                   f"{means[top] - means[current]:.4f} above `{current}`, less than the "
                   f"margin: `window_days: {current}` stays the default.")
    sim, semi = (next(d for set_, d in data.items() if set_.startswith(kind))
                 for kind in ("simulator", "semi-synthetic"))
    step = sim["interval_days"]
    return (
        f"Simulated seasons: {meta['seeds']} seeds, {sim['size']} px, {sim['dates']} dates "
        f"every {step} days (a window of +-60 / +-90 days holds up to {2 * 60 // step + 1} / "
        f"{2 * 90 // step + 1} of them); semi-synthetic seasons: {semi['dates']} dates every "
        f"{semi['interval_days']} days.\n\n{_table(rows)}\n\n"
        "Rule: the option with the highest mean over the sets of (cloud F1 + shadow F1) / 2 "
        f"is the default, but it replaces the current default only if it beats it by at "
        f"least {decision['margin']} (a default changes every user's masks). "
        "`no background`: valid observations whose pixel had fewer than `min_clear` clear "
        "observations in its window; refinement time: K-means fit and refinement, all "
        "seasons of the set.\n\n" + "\n".join(summary) + f"\n\n{verdict}\n\n"
        f"{measured(meta, SCRIPT)}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "masks_season"))
    parser.add_argument("--dates", type=int, default=24, help="dates of a simulated season "
                        "(spread over a year)")
    parser.add_argument("--quick", action="store_true", help="one simulated season only")
    parser.add_argument("--no-docs", action="store_true", help="leave docs/masks.md alone")
    parser.add_argument("--render", action="store_true", help="only write the .md (and the "
                        "docs) again from the .json of --out")
    args = parser.parse_args()
    out = Path(args.out)
    block = dict(title=TITLE, markers=MARKERS, script=SCRIPT, docs=not args.no_docs)
    if args.render:
        return _write(out, markdown(json.loads(out.with_suffix(".json").read_text())), None,
                      **block)
    seeds = (0,) if args.quick else (0, 1, 2)
    sim = f"{len(seeds)} seasons, {args.dates} dates over a year"
    labels = {"simulator": f"simulator ({sim})",
              "cloudy": f"simulator, cloud cover 0.5-0.9 ({sim})",
              "aber": "semi-synthetic aber (real L2A, 12 dates)",
              "eolearn": "semi-synthetic eo-learn (real L1C, 12 dates)"}
    for refl, scl, _, _ in _seasons("eolearn", 0.0, ()):  # compile the kernels, untimed
        for window in OPTIONS.values():
            refine_layers(refl, scl, window_days=window)["mask"].compute()
    start, begin = os.getloadavg(), time.perf_counter()
    data = {}
    for name, label in labels.items():
        data[label] = measure(name, seeds, args.dates)
        print(label, json.dumps({o: round(score(s), 4) for o, s in
                                 data[label]["methods"].items()}), flush=True)
    results = {"meta": {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                        "seeds": len(seeds), "cpus": os.cpu_count(),
                        "seconds": time.perf_counter() - begin, "loadavg_start": start,
                        "loadavg_end": os.getloadavg()},
               "decision": decide(data, MasksConfig.model_fields["window_days"].default),
               "data": data}
    text = markdown(results)
    print(text)
    _write(out, text, results, **block)


if __name__ == "__main__":
    main()
