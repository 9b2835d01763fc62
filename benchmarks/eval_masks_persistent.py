"""Masks against Sen2Cor's persistent errors: ``all_observations`` off and on.

Sen2Cor calls some bright surfaces (roofs, sand, surf) cloud on most dates. Those pixels
have too few SCL-clear observations for a seasonal background; with
``all_observations: false`` they keep the SCL's false cloud on every date, with ``true``
they get a background from all their observations (``hrlc.masks.evidence``).

The data sets of ``eval_masks.py`` (the simulator, and the semi-synthetic ``aber`` and
``eo-learn`` seasons, built by its functions), and simulated seasons under cloud cover of
50-90 % with no clear date (pixels without SCL-clear observations because of real
clouds: where the option could hurt), are made twice: with the SCL error model as
it is (the normal case) and with the simulator's persistent error on
(``persistent_bright_as_cloud``, ``--rate``: that fraction of the built-up and bare
pixels, a fixed set, called cloud on each date with probability 0.9). On each, the
SCL-derived mask and the refinement with the option off and on are scored against the
truth (precision / recall / F1 of cloud and shadow, summed over dates and seasons); the
K-means is fitted once per season and shared by both refinements. ``share`` is the part
of the SCL's false-cloud pixels that the persistent error adds.

Writes ``benchmarks/results/masks_persistent.json`` and ``.md`` and rewrites the block
between ``<!-- persistent:start -->`` and ``<!-- persistent:end -->`` in
``docs/masks.md``. About 3 minutes on 2 cores::

    .venv/bin/python benchmarks/eval_masks_persistent.py            # measure, write all
    .venv/bin/python benchmarks/eval_masks_persistent.py --render   # .md and docs from .json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_masks import (ERRORS, ROOT, _table, aber_season, eolearn_season,  # noqa: E402
                        simulated_season)

from hrlc.masks import evaluate_masks, evidence, fit_cloud_clusters, refine_masks  # noqa: E402
from hrlc.masks import scl_to_mask  # noqa: E402
from hrlc.masks.evaluate import MaskScores  # noqa: E402
from hrlc.simulate.sen2cor import PERSISTENT_DATE_PROBABILITY  # noqa: E402

GROUPS = ("cloud", "cloud shadow")
VARIANTS = {"refined, all_observations off": False, "refined, all_observations on": True}
CASES = {"normal SCL errors": False, "persistent error on": True}
#: Simulated data sets: the default sky, and a very cloudy season (where pixels lack
#: SCL-clear observations because of real clouds: the case the option could hurt).
SIMULATED = {"simulator": {}, "cloudy": {"cloud_cover": (0.5, 0.9), "clear_date_probability": 0}}
DOCS = ROOT / "docs" / "masks.md"
MARKERS = ("<!-- persistent:start -->", "<!-- persistent:end -->")
SCRIPT = "benchmarks/eval_masks_persistent.py"


def _seasons(name: str, rate: float, seeds: tuple[int, ...], dates: int = 12):
    """(reflectance, SCL, truth, DEM) of each season of data set ``name``.

    ``dates``: acquisitions of a simulated season (spread over a year); the
    semi-synthetic seasons always have 12 dates over 180 days.
    """
    if name in SIMULATED:
        for seed in seeds:
            yield simulated_season(seed, dates=dates, persistent_bright_as_cloud=rate,
                                   **SIMULATED[name])
    elif name == "aber":
        yield aber_season(errors=dataclasses.replace(ERRORS, persistent_bright_as_cloud=rate))
    else:
        yield eolearn_season(errors=dataclasses.replace(ERRORS, persistent_bright_as_cloud=rate))


def _false_cloud(confusion: np.ndarray) -> int:
    """Pixels called cloud (thick or thin) whose reference is clear or shadow."""
    return int(confusion[np.ix_([0, 3], [1, 2])].sum())


def _masks(refl, scl, dem, seconds: dict) -> dict[str, np.ndarray]:
    """SCL-derived mask and both refinements (one K-means fit); adds to ``seconds``."""
    clusters = fit_cloud_clusters(refl, scl)
    masks = {"SCL": scl_to_mask(scl).values}
    for method, on in VARIANTS.items():
        begin = time.perf_counter()
        masks[method] = refine_masks(refl, scl, dem=dem, clusters=clusters,
                                     all_observations=on).values
        seconds[method] += time.perf_counter() - begin
    return masks


def measure(name: str, rate: float, seeds: tuple[int, ...]) -> dict:
    """Scores of the SCL and both variants on each case, summed over the seasons.

    Each season is made without and with the persistent error (same seed: the SCLs
    differ only by it), so the pixel-dates it calls cloud are known: ``persistent_left``
    is the fraction of them each method still calls cloud.
    """
    confusion: dict[str, dict[str, np.ndarray]] = {case: {} for case in CASES}
    seconds = dict.fromkeys(VARIANTS, 0.0)
    flagged, left = 0, dict.fromkeys(("SCL", *VARIANTS), 0)
    for seasons in zip(*(_seasons(name, rate if on else 0.0, seeds) for on in CASES.values())):
        for case, (refl, scl, truth, dem) in zip(CASES, seasons):
            masks = _masks(refl, scl, dem, seconds)
            for method, mask in masks.items():
                confusion[case][method] = (confusion[case].get(method, 0)
                                           + evaluate_masks(mask, truth).confusion)
        (_, normal, _, _), (_, persistent, truth, _) = seasons
        flags = (persistent.values != normal.values) & (truth == 0)
        flagged += int(flags.sum())
        for method, mask in masks.items():  # those of the last case: the persistent error
            left[method] += int(np.isin(mask[flags], (1, 2)).sum())
    out = {case: {"methods": {m: {**{g: MaskScores(c).group(g) for g in GROUPS},
                                  "confusion": c.tolist()} for m, c in methods.items()}}
           for case, methods in confusion.items()}
    normal, persistent = (_false_cloud(confusion[case]["SCL"]) for case in CASES)
    return {**out, "share": (persistent - normal) / max(persistent, 1),
            "persistent_flags": flagged,
            "persistent_left": {m: n / max(flagged, 1) for m, n in left.items()},
            "refine_seconds": seconds}


def markdown(results: dict) -> str:
    """The generated table and its notes (the same text goes into docs/masks.md)."""
    meta = results["meta"]
    rows = {f"{data}, {case}": {m: s for m, s in scores["methods"].items()}
            for data, cases in results["data"].items()
            for case, scores in cases.items() if case in CASES}
    left = ["| data set | pixel-dates of the persistent error | still cloud: SCL | "
            + " | ".join(VARIANTS) + " |", "|---|---|---|" + "---|" * len(VARIANTS)]
    for data, cases in results["data"].items():
        share = cases["persistent_left"]
        left.append(f"| {data} | {cases['persistent_flags']} | "
                    + " | ".join(f"{share[m]:.1%}" for m in ("SCL", *VARIANTS)) + " |")
    change = ["| data set | case | cloud F1 off | cloud F1 on | change | shadow F1 off | "
              "shadow F1 on | change |", "|---|---|---|---|---|---|---|---|"]
    for data, cases in results["data"].items():
        for case in CASES:
            off, on = (cases[case]["methods"][m] for m in VARIANTS)
            cells = [f"{off[g]['f1']:.4f} | {on[g]['f1']:.4f} | "
                     f"{round(on[g]['f1'] - off[g]['f1'], 4) + 0.0:+.4f}" for g in GROUPS]
            change.append(f"| {data} | {case} | " + " | ".join(cells) + " |")
    shares = ", ".join(f"{data} {cases['share']:.0%}" for data, cases in results["data"].items())
    return (
        f"First-pass quantile {meta['first_quantile']} (`FIRST_QUANTILE`). "
        f"Persistent error: `persistent_bright_as_cloud` {meta['rate']} (a fixed set of "
        f"built-up and bare pixels, each date with probability {meta['date_probability']}); "
        f"it makes {shares} of the SCL's false-cloud pixels.\n\n{_table(rows)}\n\n"
        "The option's effect, to four decimals:\n\n" + "\n".join(change) + "\n\n"
        "Pixel-dates the persistent error calls cloud (clear in the truth), and the share "
        f"each mask still calls cloud:\n\n" + "\n".join(left) + "\n\n"
        f"{measured(meta, SCRIPT)} Refinement time, all data sets, off / on: "
        f"{meta['refine_seconds']['off']:.1f} s / "
        f"{meta['refine_seconds']['on']:.1f} s.\n")


def measured(meta: dict, script: str) -> str:
    """The sentence that dates a measurement and gives the machine load beside it."""
    load, load_end = (", ".join(f"{v:.2f}" for v in meta[k])
                      for k in ("loadavg_start", "loadavg_end"))
    return (f"Measured {meta['date']} by `{script}` in {meta['seconds']:.0f} s on "
            f"{meta['cpus']} CPUs; load average (1, 5, 15 min) {load} at the start, "
            f"{load_end} at the end.")


def rewrite_docs(text: str, path: Path = DOCS, *, markers: tuple[str, str] = MARKERS,
                 script: str = SCRIPT) -> None:
    """Replace the generated block between ``markers`` of ``path`` (written by ``script``)."""
    doc = path.read_text()
    pattern = re.compile(re.escape(markers[0]) + ".*?" + re.escape(markers[1]), re.S)
    if not pattern.search(doc):
        raise SystemExit(f"{path}: markers {markers} not found; add them where the table goes")
    note = f"<!-- generated by {script} from its JSON: do not edit -->"
    block = f"{markers[0]}\n{note}\n{text}{markers[1]}"
    path.write_text(pattern.sub(lambda _: block, doc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "masks_persistent"))
    parser.add_argument("--rate", type=float, default=0.2, help="persistent_bright_as_cloud")
    parser.add_argument("--quick", action="store_true", help="one simulated season only")
    parser.add_argument("--no-docs", action="store_true", help="leave docs/masks.md alone")
    parser.add_argument("--first-quantile", type=float, help="try another quantile for the "
                        "first pass (hrlc.masks.evidence.FIRST_QUANTILE); implies --no-docs")
    parser.add_argument("--render", action="store_true", help="only write the .md (and the "
                        "docs) again from the .json of --out")
    args = parser.parse_args()
    out = Path(args.out)
    if args.render:
        text = markdown(json.loads(out.with_suffix(".json").read_text()))
        return _write(out, text, None, docs=not args.no_docs)
    seeds = (0,) if args.quick else (0, 1, 2)
    if args.first_quantile is not None:
        evidence.FIRST_QUANTILE = args.first_quantile
    labels = {"simulator": f"simulator ({len(seeds)} seasons, 512 px, 12 dates)",
              "cloudy": f"simulator, cloud cover 0.5-0.9 ({len(seeds)} seasons)",
              "aber": "semi-synthetic aber (real L2A, 12 dates)",
              "eolearn": "semi-synthetic eo-learn (real L1C, 12 dates)"}
    start, begin = os.getloadavg(), time.perf_counter()
    data = {}
    for name, label in labels.items():
        data[label] = measure(name, args.rate, seeds)
        print(label, json.dumps({c: {m: s["cloud"]["f1"] for m, s in data[label][c]["methods"]
                                     .items()} for c in CASES}), flush=True)
    refine = {key: sum(d["refine_seconds"][method] for d in data.values())
              for key, method in zip(("off", "on"), VARIANTS)}
    results = {"meta": {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                        "rate": args.rate, "date_probability": PERSISTENT_DATE_PROBABILITY,
                        "first_quantile": evidence.FIRST_QUANTILE,
                        "cpus": os.cpu_count(), "seconds": time.perf_counter() - begin,
                        "loadavg_start": start, "loadavg_end": os.getloadavg(),
                        "refine_seconds": refine},
               "data": data}
    text = markdown(results)
    print(text)
    _write(out, text, results, docs=not args.no_docs and args.first_quantile is None)


def _write(out: Path, text: str, results: dict | None, *, docs: bool,
           title: str = "Masks against Sen2Cor's persistent errors", **block) -> None:
    """The .json (unless None), the .md and the docs block (``docs``; ``block``: the
    ``markers`` and ``script`` of :func:`rewrite_docs`)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if results is not None:
        out.with_suffix(".json").write_text(json.dumps(results, indent=2, default=float))
    out.with_suffix(".md").write_text(f"# {title}\n\n" + text)
    if docs:
        rewrite_docs(text, **block)
    print(f"written {out}.md" + ("" if results is None else " and .json")
          + (f" and {DOCS}" if docs else ""))


if __name__ == "__main__":
    main()
