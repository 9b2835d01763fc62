"""``hrlc demo`` as a new user runs it: wall time, CPU time and peak memory of the command.

The README's first lines promise the demo's duration; this script measures it (the whole
command in a child process, ``os.wait4`` for its CPU time and peak RSS) and writes
``benchmarks/results/demo.json`` with the machine and its load, which the README links.

Usage::

    python benchmarks/bench_demo.py                  # the demo's defaults
    python benchmarks/bench_demo.py --size 180 --dates 3
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

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=None, help="--size of hrlc demo")
    parser.add_argument("--dates", type=int, default=None, help="--dates of hrlc demo")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "demo.json")
    args = parser.parse_args()
    from hrlc.benchmark import load_average, machine_facts

    extra = [*(["--size", str(args.size)] if args.size else []),
             *(["--dates", str(args.dates)] if args.dates else [])]
    start_load = load_average()
    with tempfile.TemporaryDirectory(prefix="hrlc-demo-") as folder:
        command = [sys.executable, "-m", "hrlc", "demo", "--out", folder, *extra]
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"hrlc demo failed with exit code {code}")
    result = {"benchmark": "demo", "command": " ".join(["hrlc", "demo", *extra]),
              "seconds": round(seconds, 1),
              "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
              "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2),
              "machine": machine_facts(load_at_start=start_load)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main()
