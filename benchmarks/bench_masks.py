"""Benchmark: refined cloud/shadow masks of a full Sentinel-2 tile season, JP2 and GeoTIFF.

The products are a simulated full tile (10980 x 10980 px, ``--dates`` dates, seed 3),
written once into ``--data/<format>``: one child process builds the season with
``hrlc.simulate.simulate_series`` (as ``hrlc simulate`` does) and writes it in every
format not there yet, so the JPEG 2000 SAFE products (lossless, 1024 px tiles, as ESA's)
and the GeoTIFF SAFE products hold the same season, pixel for pixel. For each format,
two runs, each in its own process so that each has its own peak RSS and CPU time:

- ``read``: read and decode the bands refine_masks needs and the SCL of every scene
  (every chunk decoded, summed, dropped): the I/O and decoding share;
- ``full``: the same reading plus the whole refinement (sample fit, background,
  K-means, morphology, geometric shadows), the masks stored to a Zarr store (uint8), as
  ``hrlc masks`` does before it writes the per-scene COGs.

``compute = full - read``. Targets of issue 5: whole season <= 10 min, peak RSS <= 4 GB
on 2 cores. Results: GeoTIFF to ``--out`` + ``.json`` (``results/masks.json``), JPEG 2000
to ``--out`` + ``_jp2.json`` (``results/masks_jp2.json``), the same keys; each records
the machine and its load (:func:`hrlc.benchmark.machine_facts`) and, when both formats
ran, both side by side. This script's own process only starts the others: on Linux a
child started with fork or vfork and exec inherits its parent's peak RSS as the start of
its own, so a parent that had held the simulated season would lift every measured peak
to at least its own. Example::

    nice -n 5 .venv/bin/python benchmarks/bench_masks.py --workers 2 --format jp2 geotiff
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: --format value -> hrlc simulate --format, and the suffix of the result file.
FORMATS = {"geotiff": ("geotiff", ""), "jp2": ("safe", "_jp2")}


#: Seed of the simulated season.
SEED = 3


def _season_written(data: Path, dates: int) -> bool:
    """True when ``data`` holds at least ``dates`` simulated products."""
    return data.is_dir() and len(list(data.glob("*.SAFE"))) >= dates


def _simulate(root: Path, formats: list[str], *, size: int, dates: int, workers: int) -> None:
    """Write the season in each of ``formats`` (into ``root/<format>``) not written yet, in
    one child process (:func:`_write_season`): one simulation, then one writing per
    format. Not in this process: its peak RSS would become the measured runs' (see the
    module's docstring)."""
    missing = [fmt for fmt in formats if not _season_written(root / fmt, dates)]
    if not missing:
        return
    print(f"writing the simulated season ({', '.join(missing)}) to {root} (once)", flush=True)
    subprocess.run([sys.executable, __file__, "--write-season", *missing, "--data", str(root),
                    "--size", str(size), "--dates", str(dates), "--workers", str(workers)],
                   check=True)


def _write_season(root: Path, formats: list[str], *, size: int, dates: int,
                  workers: int) -> None:
    """Simulate the season of ``size`` x ``size`` px (10 m) and ``dates`` dates (seed
    :data:`SEED`, the simulator's other options at their defaults, as ``hrlc simulate``)
    and write it as the products of each of ``formats`` into ``root/<format>``, with
    ``workers`` dask threads; no clear-sky truth (the masks do not read it)."""
    from hrlc.compute import compute_context
    from hrlc.config import ComputeConfig
    from hrlc.io.safe_writer import write_series
    from hrlc.simulate import simulate_series

    series = simulate_series(size=size, dates=dates, seed=SEED)  # lazy: written, not held
    with compute_context(ComputeConfig(n_workers=workers)):
        for fmt in formats:
            products = write_series(series, root / fmt, format=FORMATS[fmt][0],
                                    overwrite=True, clear_dates=0)
            print(f"{len(products)} {fmt} products of {size} x {size} px in {root / fmt}",
                  flush=True)


def _child(mode: str, data: Path, workers: int, chunks: int, out: Path) -> dict:
    import dask

    from hrlc.io import read_l2a, read_scl, write_zarr
    from hrlc.masks.refine import refine_layers, required_bands

    begin = time.perf_counter()
    sources = sorted(data.glob("*.SAFE"))
    with dask.config.set(scheduler="threads", num_workers=workers):
        scenes = read_l2a(sources, required_bands(), chunks=chunks)
        scl = read_scl(sources, chunks=chunks)
        if mode == "read":
            dask.compute(scenes.data.map_blocks(lambda b: b[..., :1, :1] * 0,
                                                chunks=(1, 1, 1, 1)).sum(),
                         scl.data.map_blocks(lambda b: b[..., :1, :1] * 0,
                                             chunks=(1, 1, 1)).sum())
        else:
            fit = time.perf_counter()
            layers = refine_layers(scenes, scl)
            fitted = time.perf_counter() - fit
            write_zarr(layers, out / "layers.zarr", overwrite=True)
    result = {"mode": mode, "seconds": time.perf_counter() - begin,
              "scenes": len(sources), "shape": list(scenes.shape), "chunks": chunks,
              "workers": workers}
    if mode == "full":
        result["fit_seconds"] = fitted
    return result


def _run(mode: str, data: Path, args) -> dict:
    from hrlc.benchmark import load_average

    with tempfile.TemporaryDirectory(dir=args.scratch) as scratch:
        cmd = [sys.executable, __file__, "--child", mode, "--data", str(data),
               "--workers", str(args.workers), "--chunks", str(args.chunks), "--out", scratch]
        load = load_average()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        output = proc.stdout.read()
        if status != 0:
            raise SystemExit(f"{mode} run on {data} failed:\n{output}")
        result = json.loads(output.strip().splitlines()[-1])
        result["peak_rss_gb"] = usage.ru_maxrss / 1024**2  # kB -> GB
        result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
        result["load_average_start"], result["load_average_end"] = load, load_average()
        print(json.dumps(result), flush=True)
        return result


def _summary(fmt: str, read: dict, full: dict, args) -> dict:
    return {
        "format": fmt,
        "tile": f"{full['shape'][-2]} x {full['shape'][-1]} px, {full['scenes']} dates, "
                f"{full['shape'][1]} bands + SCL, {fmt}, chunks {args.chunks}, "
                f"{args.workers} workers",
        "read_decode_seconds": round(read["seconds"], 1),
        "read_decode_cpu_seconds": round(read["cpu_seconds"], 1),
        "read_decode_peak_rss_gb": round(read["peak_rss_gb"], 2),
        "full_seconds": round(full["seconds"], 1),
        "full_cpu_seconds": round(full["cpu_seconds"], 1),
        "full_peak_rss_gb": round(full["peak_rss_gb"], 2),
        "compute_seconds": round(full["seconds"] - read["seconds"], 1),
        "sample_fit_seconds": round(full["fit_seconds"], 1),
        "targets": "whole season <= 600 s, peak RSS <= 4 GB",
        "runs": [read, full],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/hrlc-bench-masks/season"),
                        help="folder of the simulated products (one sub-folder per format)")
    parser.add_argument("--size", type=int, default=10980)
    parser.add_argument("--dates", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunks", type=int, default=512,
                        help="chunk side, px (the default of hrlc masks)")
    parser.add_argument("--format", nargs="+", choices=sorted(FORMATS), dest="formats",
                        default=["jp2", "geotiff"],
                        help="product formats to measure, on the same season (default both)")
    parser.add_argument("--scratch", default=None, help="folder for the temporary Zarr store")
    parser.add_argument("--child", choices=("read", "full"),
                        help="internal: one measured run, its result printed as JSON")
    parser.add_argument("--write-season", nargs="+", choices=sorted(FORMATS),
                        help="internal: simulate the season and write it in these formats")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "masks",
                        help="result path without suffix: GeoTIFF to OUT.json, JPEG 2000 to "
                             "OUT_jp2.json")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.data, args.workers, args.chunks, args.out)))
        return
    if args.write_season:
        _write_season(args.data, args.write_season, size=args.size, dates=args.dates,
                      workers=args.workers)
        return
    from hrlc.benchmark import load_average, machine_facts

    start = load_average()
    formats = list(dict.fromkeys(args.formats))
    _simulate(args.data, formats, size=args.size, dates=args.dates, workers=args.workers)
    summaries = {}
    for fmt in formats:
        data = args.data / fmt
        summaries[fmt] = _summary(fmt, _run("read", data, args), _run("full", data, args), args)
    machine = machine_facts(load_at_start=start)
    side_by_side = {fmt: {k: s[k] for k in ("full_seconds", "full_cpu_seconds",
                                             "full_peak_rss_gb", "read_decode_seconds",
                                             "read_decode_cpu_seconds")}
                    for fmt, s in summaries.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for fmt, summary in summaries.items():
        summary["machine"] = machine
        if len(summaries) > 1:
            summary["side_by_side"] = side_by_side
        path = args.out.with_name(args.out.name + FORMATS[fmt][1] + ".json")
        path.write_text(json.dumps(summary, indent=2))
        print(f"{path}:\n{json.dumps({k: v for k, v in summary.items() if k != 'runs'}, indent=2)}")
    shutil.rmtree(args.out.with_suffix(".zarr"), ignore_errors=True)


if __name__ == "__main__":
    main()
