"""The benchmark of each stage: how to run its script at a size, and how to read its JSON.

Each script in ``benchmarks/`` keeps its own options and result layout; a :class:`Stage`
knows the command line that runs it at a tile side of ``size`` px (with the rounding the
script needs) and turns its JSON into one row: ``wall_s``, ``peak_rss_gb``, ``cpu_s``,
``read_s``/``compute_s`` where the script separates reading from computing, the size it
was measured at, and a short note.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

#: Side of a full Sentinel-2 tile at 10 m, px.
FULL_TILE = 10980



class Figures(NamedTuple):
    """Wall time (s) and peak memory (GB) of one full-tile run, and the tile if known."""

    wall_s: float
    peak_rss_gb: float
    tile: str | None = None


#: Where :data:`REFERENCE` comes from.
REFERENCE_SOURCE = "the ESA CCI HRLC reference chain's deck, quoted in hrlc issue 17, item 7"
#: The reference chain's figures on a full tile, per implementation and stage: the
#: chain's existing pipeline, and the reference deck's xarray re-implementation of it
#: (source: :data:`REFERENCE_SOURCE`). The deck names the tile of the pipeline's runs only.
REFERENCE: dict[str, dict[str, Figures]] = {
    "existing pipeline": {"masks": Figures(1187.0, 15.8, "T18NWL"),
                          "map": Figures(12510.0, 12.6, "21KUQ")},
    "xarray re-implementation": {"masks": Figures(906.0, 21.0), "map": Figures(6038.0, 19.3)},
}
#: hrlc's targets on a full tile (wall seconds, peak RSS GB); chain: one tile-year, from
#: the products to the map (issue 20).
TARGET = {"masks": (600.0, 4.0), "masks_jp2": (600.0, 4.0), "map": (600.0, 4.0),
          "chain": (7200.0, 4.0)}


@dataclass(frozen=True)
class Options:
    """What one suite run asks of every stage (None: the script's own default)."""

    size: int = FULL_TILE
    dates: int | None = None
    workers: int | None = None
    data: Path = Path("/tmp/hrlc-bench")


@dataclass(frozen=True)
class Stage:
    """One benchmark script: its file, its usual result files and its two adapters."""

    name: str
    script: str
    about: str
    #: result files (in the results folder) that the script writes when run as documented
    canonical: tuple[str, ...]
    #: (options, output path without suffix) -> script arguments
    arguments: Callable[[Options, Path], list[str]]
    #: output path without suffix -> the JSON file the script writes there
    output: Callable[[Path], Path]
    #: parsed JSON -> row fields
    parse: Callable[[Any], dict[str, Any]]


def _gb(mb: float | None) -> float | None:
    return None if mb is None else mb / 1024


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _bytes(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def _mult(size: int, k: int) -> int:
    """``size`` rounded down to a multiple of ``k`` (the products' 60 m grid needs 6)."""
    return max(k, size - size % k)


def _optional(flag: str, value) -> list[str]:
    return [] if value is None else [flag, str(value)]


def _train_samples(size: int) -> int:
    """Training rows: the default 20,000 on a full tile, scaled by area for a quick run
    (a training set does not grow with the tile, but a small suite run should stay small)."""
    if size >= FULL_TILE:
        return 20_000
    return max(1000, round(20_000 * (size / FULL_TILE) ** 2))


def _simulate(data: dict) -> dict:
    rows = [r for r in data["results"] if r["case"] == "write"] or data["results"]
    row = next((r for r in rows if r["format"] == "geotiff"), rows[0])
    note = f"{row['case']} {row['format']}"
    if "output_mb" in row:
        note += f", {row['output_mb']:,.0f} MB written"
    return {"size": row["size"], "size_text": f"{row['size']} px, {_count(row['dates'], 'date')}",
            "wall_s": row["seconds"], "peak_rss_gb": _gb(row["peak_rss_mb"]),
            "cpu_s": row.get("cpu_seconds"), "cores": data.get("cpus"), "note": note}


def _masks(data: dict) -> dict:
    full = next(r for r in data["runs"] if r["mode"] == "full")
    size = full["shape"][-1]
    return {"size": size, "size_text": f"{size} px, {_count(full['scenes'], 'date')}",
            "wall_s": data["full_seconds"], "peak_rss_gb": data["full_peak_rss_gb"],
            "cpu_s": full.get("cpu_seconds"), "read_s": data["read_decode_seconds"],
            **_machine_columns(data),
            "compute_s": data["compute_seconds"],
            "note": f"read + decode {data['read_decode_seconds']} s (a run of its own), "
                    f"compute {data['compute_seconds']} s; chunks {full['chunks']}, "
                    f"{full['workers']} workers"}


def _composite(data: dict) -> dict:
    return {"size": data["size"], "size_text": f"{data['size']} px, {data['scenes']} scenes",
            "wall_s": data["wall_s"], "peak_rss_gb": data["peak_rss_gb"],
            "cpu_s": data.get("cpu_s"),
            "note": f"composite + restore: pass 1 (fit) {data['pass1_fit_s']} s, pass 2 "
                    f"(correct + fill) {data['pass2_correct_fill_s']} s; synthetic input"}


def _features(data: dict) -> dict:
    return {"size": data["size"], "size_text": f"{data['size']} px, {data['months']} months",
            "wall_s": data["seconds"], "peak_rss_gb": _gb(data["peak_rss_mb"]),
            "cpu_s": data.get("cpu_seconds"), "load": data.get("load_average"),
            **_machine_columns(data),
            "note": f"{data['features']} features written to Zarr ({_bytes(data['zarr_bytes'])})"}


def _glcm(data: dict) -> dict:
    lazy = [r for r in data["results"] if r["case"].startswith("hrlc-lazy")]
    row = max(lazy, key=lambda r: r["size"])
    note = "6 textures, 7 x 7 window, one band"
    if data.get("speedup_vs_skimage"):
        note += f"; {data['speedup_vs_skimage']:,.0f}x scikit-image (256 px)"
    return {"size": row["size"], "size_text": f"{row['size']} px, 1 band",
            "wall_s": row["seconds"], "peak_rss_gb": _gb(row["peak_rss_mb"]),
            "cpu_s": row.get("cpu_seconds"), "load": row.get("load_average"),
            "cores": _cores(data.get("machine") or {}), "note": note}


def _train(data: dict) -> dict:
    svm = data["svm"]
    whole = "peak_rss_mb" in data
    note = (f"SVM grid + calibration {svm['fit_seconds']:,} s, {svm['n_support_vectors']:,} "
            f"support vectors, test OA {svm['test_overall_accuracy']}")
    if not whole:
        note += "; peak RSS of the main process only (older run)"
    return {"size": None, "size_text": f"{data['n_train']:,} samples x {data['features']} features",
            "wall_s": data["total_seconds"],
            "peak_rss_gb": _gb(data["peak_rss_mb"] if whole else data["peak_rss_mb_main_process"]),
            "cpu_s": data.get("cpu_seconds"), "cores": data.get("cpus"),
            "load": data.get("load_average"), "note": note}


def _predict(rows: list) -> dict:
    row = next(r for r in rows if "float32" in r["case"])
    pixels = row.get("pixels")
    size = math.isqrt(pixels) if pixels else None
    text = f"{pixels:,} px chunk" if pixels else "chunk (not recorded; default 1,000,000 px)"
    return {"size": size, "size_text": text,
            "wall_s": row["seconds"], "peak_rss_gb": _gb(row["peak_rss_mb"]),
            "cpu_s": row.get("cpu_seconds"),
            "note": f"float32 RBF kernel: {row['speed_up']:.1f}x SVC.predict, labels "
                    f"differ on {round((1 - row['label_agreement']) * pixels):,} of "
                    f"{pixels:,} px" if pixels else
                    f"float32 RBF kernel: {row['speed_up']:.1f}x SVC.predict, labels "
                    f"{100 * row['label_agreement']:.4f} % equal"}


def _map(rows: list) -> dict:
    row = max(rows, key=lambda r: r["pixels"])
    size = math.isqrt(row["pixels"])
    outputs = row["seconds"] - row["predict_seconds"]
    return {"size": size, "size_text": f"{size} px", "wall_s": row["seconds"],
            "peak_rss_gb": _gb(row["peak_rss_mb"]), "cpu_s": row.get("cpu_seconds"),
            "compute_s": row["predict_seconds"], "load": row.get("load_average"),
            "note": f"features + predict {row['predict_seconds']:.1f} s, outputs {outputs:.1f} s; "
                    f"{row['support_vectors']:,} support vectors, {row['features']} features, "
                    f"{row['pixels_per_second']:,.0f} px/s"}


def _chain(data: dict) -> dict:
    stages = data["stages"]
    times = {s["stage"]: s["wall_s"] for s in stages}
    note = (", ".join(f"{name} {seconds:,.1f} s" for name, seconds in times.items())
            + f"; run overhead {data['overhead_s']:,.1f} s; simulate "
            f"{data['simulate']['seconds']:,.1f} s not counted")
    if data["size"] == FULL_TILE:  # the reference deck's figures are for a full tile
        note += "; reference deck: " + ", ".join(
            f"{stage} {' / '.join(f'{f[stage].wall_s:,.0f}' for f in REFERENCE.values())} s"
            for stage in times if all(stage in f for f in REFERENCE.values()))
    return {"size": data["size"], "size_text": f"{data['size']} px, "
            f"{_count(data['dates'], 'date')}",
            "wall_s": data["total_s"], "peak_rss_gb": data["peak_rss_gb"],
            "cpu_s": data["cpu_s"], "cores": data["machine"]["cores"],
            "load": [data["machine"]["load_average_start"][0],
                     data["machine"]["load_average_end"][0]],
            "stages": times, "note": note}


def _machine_columns(data: dict) -> dict:
    """``cores`` and ``load`` (1-minute load at the start and the end) of a result's
    ``machine`` record (:func:`hrlc.benchmark.machine_facts`); nothing without one."""
    machine = data.get("machine") or {}
    if not machine:
        return {}
    return {"cores": _cores(machine), "load": [machine["load_average_start"][0],
                                               machine["load_average_end"][0]]}


def _cores(machine: dict):
    """Cores of a result's ``machine`` record (:func:`hrlc.benchmark.machine_facts`, or the
    older ``cpus``)."""
    return machine.get("cores", machine.get("cpus"))


def _masks_args(fmt: str) -> Callable:
    """bench_masks.py's arguments for one product format (the same simulated season: the
    data folder holds one sub-folder per format)."""
    return lambda o, out: ["--size", str(_mult(o.size, 6)), *_optional("--dates", o.dates),
                           *_optional("--workers", o.workers), "--data",
                           str(o.data / f"masks-{_mult(o.size, 6)}-{o.dates or 'default'}"),
                           "--format", fmt, "--out", str(out)]


def _json(suffix: str = ".json") -> Callable[[Path], Path]:
    return lambda out: out.with_name(out.name + suffix)


STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("simulate", "bench_simulate.py", "write simulated L2A products (hrlc simulate)",
          ("simulate_full.json", "simulate.json"),
          lambda o, out: ["--size", str(_mult(o.size, 6)), *_optional("--dates", o.dates),
                          "--formats", "geotiff", "--no-compute", "--json", f"{out}.json"],
          _json(), _simulate),
    Stage("masks", "bench_masks.py", "refined cloud/shadow masks of a season (GeoTIFF "
          "products)", ("masks.json",), _masks_args("geotiff"), _json(), _masks),
    Stage("masks_jp2", "bench_masks.py", "refined cloud/shadow masks of the same season "
          "(JPEG 2000 SAFE products, as delivered)", ("masks_jp2.json",), _masks_args("jp2"),
          _json("_jp2.json"), _masks),
    Stage("composite", "bench_composite.py", "monthly composites + restoration",
          ("composite.json",),
          lambda o, out: ["--size", str(o.size), *_optional("--workers", o.workers),
                          "--json", f"{out}.json"],
          _json(), _composite),
    Stage("features", "bench_features.py", "the feature cube written to Zarr",
          ("features.json",),
          lambda o, out: ["--size", str(o.size), "--out", f"{out}.json"], _json(), _features),
    Stage("glcm", "bench_glcm.py", "GLCM textures of one band",
          ("glcm.json",),
          lambda o, out: ["--size", str(o.size), "--skip-comparison", "--out", f"{out}.json"],
          _json(), _glcm),
    Stage("train", "bench_train.py", "SVM training (grid search, calibration)",
          ("train.json", "train_20000x150.json"),
          lambda o, out: ["--samples", str(_train_samples(o.size)), "--out", f"{out}.json"],
          _json(), _train),
    Stage("predict", "bench_predict.py", "fast SVM kernel vs scikit-learn on one chunk",
          ("bench_predict.json",),
          lambda o, out: ["--size", str(min(o.size, 1000)), "--results", str(out.parent),
                          "--name", out.name, *_optional("--threads", o.workers)],
          _json(), _predict),
    Stage("map", "bench_map.py", "features -> SVM -> map outputs (1/16, 1/4, 1 of the size)",
          ("bench_map.json",),
          lambda o, out: ["--size", str(_mult(o.size, 4)), "--results", str(out.parent),
                          "--name", out.name, "--keep",
                          str(o.data / f"map-{_mult(o.size, 4)}")],
          _json(), _map),
    Stage("chain", "bench_chain.py", "one tile-year end to end: hrlc run from JP2 SAFE "
          "products (both baselines) to the map; per-stage times in the notes",
          tuple(f"chain_{n}.json" for n in (1098, 2196, FULL_TILE)),
          lambda o, out: ["--size", str(_mult(o.size, 6)), *_optional("--dates", o.dates),
                          *_optional("--workers", o.workers), "--data",
                          str(o.data / f"chain-{_mult(o.size, 6)}-{o.dates or 'default'}"),
                          "--out", f"{out}.json"],
          _json(), _chain),
)}
