"""Benchmark: refined cloud/shadow masks of a full Sentinel-2 tile season on a laptop.

The products are a simulated full tile (10980 x 10980 px, ``--dates`` dates, GeoTIFF
SAFE products), written once by ``hrlc simulate`` into ``--data`` and reused. Two runs,
each in its own process so that each has its own peak RSS:

- ``read``: read and decode the bands refine_masks needs and the SCL of every scene
  (every chunk decoded, summed, dropped): the I/O and decoding share;
- ``full``: the same reading plus the whole refinement (sample fit, background,
  K-means, morphology, geometric shadows), the masks stored to a Zarr store (uint8), as
  ``hrlc masks`` does before it writes the per-scene COGs.

``compute = full - read``. Targets of issue 5: whole season <= 10 min, peak RSS <= 4 GB
on 2 cores. Example::

    nice -n 10 .venv/bin/python benchmarks/bench_masks.py --workers 2
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


def _simulate(data: Path, *, size: int, dates: int, workers: int) -> None:
    if data.exists() and len(list(data.glob("*.SAFE"))) >= dates:
        return
    print(f"writing the simulated season to {data} (once)", flush=True)
    subprocess.run([sys.executable, "-m", "hrlc", "simulate", "--out", str(data), "--size",
                    str(size), "--dates", str(dates), "--seed", "3", "--format", "geotiff",
                    "--clear-dates", "0", "--workers", str(workers), "--overwrite"], check=True)


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
            total = dask.compute(scenes.data.map_blocks(lambda b: b[..., :1, :1] * 0,
                                                        chunks=(1, 1, 1, 1)).sum(),
                                 scl.data.map_blocks(lambda b: b[..., :1, :1] * 0,
                                                     chunks=(1, 1, 1)).sum())
            del total
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


def _run(mode: str, args) -> dict:
    with tempfile.TemporaryDirectory(dir=args.scratch) as scratch:
        cmd = [sys.executable, __file__, "--child", mode, "--data", str(args.data),
               "--workers", str(args.workers), "--chunks", str(args.chunks), "--out", scratch]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        output = proc.stdout.read()
        if status != 0:
            raise SystemExit(f"{mode} run failed:\n{output}")
        result = json.loads(output.strip().splitlines()[-1])
        result["peak_rss_gb"] = usage.ru_maxrss / 1024**2  # kB -> GB
        result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/hrlc-bench-masks/season"))
    parser.add_argument("--size", type=int, default=10980)
    parser.add_argument("--dates", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunks", type=int, default=512,
                        help="chunk side, px (the default of hrlc masks)")
    parser.add_argument("--scratch", default=None, help="folder for the temporary Zarr store")
    parser.add_argument("--child", choices=("read", "full"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "masks")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.data, args.workers, args.chunks, args.out)))
        return
    _simulate(args.data, size=args.size, dates=args.dates, workers=args.workers)
    read, full = _run("read", args), _run("full", args)
    summary = {
        "tile": f"{full['shape'][-2]} x {full['shape'][-1]} px, {full['scenes']} dates, "
                f"{full['shape'][1]} bands + SCL, chunks {args.chunks}, {args.workers} workers",
        "read_decode_seconds": round(read["seconds"], 1),
        "read_decode_peak_rss_gb": round(read["peak_rss_gb"], 2),
        "full_seconds": round(full["seconds"], 1),
        "full_peak_rss_gb": round(full["peak_rss_gb"], 2),
        "compute_seconds": round(full["seconds"] - read["seconds"], 1),
        "sample_fit_seconds": round(full["fit_seconds"], 1),
        "targets": "whole season <= 600 s, peak RSS <= 4 GB",
        "runs": [read, full],
    }
    print(json.dumps(summary, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=2))
    shutil.rmtree(args.out.with_suffix(".zarr"), ignore_errors=True)


if __name__ == "__main__":
    main()
