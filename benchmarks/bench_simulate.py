"""Benchmark: the scene simulator, from a small series in memory to a full written tile.

Every case runs in its own process so that its peak resident memory (``ru_maxrss`` of
that process, from ``os.wait4``) is measured alone:

- ``compute``: ``simulate_series(size, dates)`` with every array computed in memory
  (the cost tests and notebooks pay);
- ``write``: ``hrlc simulate --size --dates --format`` (products, truth, polygons).

Prints a table and writes JSON (``--json``). Full tile, once, niced (2 shared cores)::

    nice -n 10 .venv/bin/python benchmarks/bench_simulate.py --size 10980 --dates 1 \
        --formats geotiff safe --no-compute --json benchmarks/results/simulate_full.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_COMPUTE = """
import dask, sys
from hrlc.simulate import simulate_series
s = simulate_series(size={size}, dates={dates}, seed=0, chunks={chunks})
dask.compute(s.reflectance.data, s.clear_reflectance.data, s.scl.data, s.cloud_mask.data,
             s.landcover.data, s.dem.data)
"""


def _run(command: list[str]) -> dict[str, float]:
    """Run ``command``; wall time, CPU time (s) and peak RSS (MB) of that process alone.

    On a shared machine the CPU time (user + system, all threads) is the steadier figure.
    """
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    error = process.stderr.read().decode()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{error}")
    return {"seconds": round(seconds, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1020, help="tile side, pixels")
    parser.add_argument("--dates", type=int, default=2)
    parser.add_argument("--formats", nargs="*", default=["geotiff", "safe"],
                        choices=["safe", "safe-zip", "geotiff"])
    parser.add_argument("--chunks", type=int, default=1024)
    parser.add_argument("--no-compute", action="store_true", help="skip the in-memory case")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: temp)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    from hrlc.benchmark import load_average, machine_facts

    start = load_average()

    results = []
    if not args.no_compute:
        code = _COMPUTE.format(size=args.size, dates=args.dates, chunks=args.chunks)
        results.append({"case": "compute", "format": "-", "size": args.size,
                        "dates": args.dates, **_run([sys.executable, "-c", code])})
    with tempfile.TemporaryDirectory(dir=args.out) as scratch:
        for fmt in args.formats:
            out = Path(scratch) / fmt
            command = [sys.executable, "-m", "hrlc", "simulate", "--out", str(out), "--size",
                       str(args.size), "--dates", str(args.dates), "--format", fmt, "--seed",
                       "0", "--overwrite"]
            result = _run(command)
            size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2 ** 20
            results.append({"case": "write", "format": fmt, "size": args.size,
                            "dates": args.dates, **result, "output_mb": round(size_mb, 1)})

    print(f"{'case':8} {'format':8} {'size':>6} {'dates':>5} {'seconds':>9} {'CPU s':>8}"
          f" {'peak RSS MB':>12} {'output MB':>10}")
    for r in results:
        print(f"{r['case']:8} {r['format']:8} {r['size']:>6} {r['dates']:>5} {r['seconds']:>9.1f}"
              f" {r['cpu_seconds']:>8.1f} {r['peak_rss_mb']:>12.0f} {r.get('output_mb', 0):>10.0f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"cpus": os.cpu_count(), "results": results,
                                         "machine": machine_facts(load_at_start=start)},
                                        indent=2))
    return results


if __name__ == "__main__":
    main()
