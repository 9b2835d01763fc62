"""Benchmark: one tile-year end to end, from JP2 SAFE products to a land-cover map (issue 20).

``hrlc simulate --format safe`` writes ``--dates`` products of one tile spread over a year
(JPEG 2000 SAFE folders as delivered, processing baselines 02.12 and 05.09 alternating,
so with and without the -1000 BOA offset, the simulator's cloud, cirrus, shadow and
swath-edge model) into ``--data/products``, once: a later run with the same size, dates
and seed reuses them. The script then writes a run YAML (``--data/chain.yaml``: the stage
options of ``configs/bench_chain.yaml`` plus the products, DEM, class table, training
polygons and land-cover map the simulator wrote) and runs ``hrlc run`` on it in a child
process: masks -> composite -> restore -> features -> dataset -> train -> map.

Per stage, the JSON gives the figures ``hrlc run`` records in its ``manifest.json``
(``wall_s``; ``peak_rss_gb``: the stage's own child process, from ``os.wait4``) and two
figures sampled here every 0.25 s: ``tree_peak_rss_gb``, the memory of the whole process
tree (``hrlc run`` itself plus the stage and anything it starts; PSS, read once a second,
see :class:`TreeSampler`), and ``cpu_s_sampled``. The total is the wall time of ``hrlc
run``: the stages plus ``overhead_s``, the run's own work (start-up, fingerprints, output
checksums, manifest and report). The simulation is timed separately and not counted.
Target: a full tile in <= 7,200 s and <= 4 GB on 2 cores.

Example (1/100 of a tile; a full tile is ``--size 10980``, hours)::

    nice -n 5 .venv/bin/python benchmarks/bench_chain.py --size 1098 --dates 36 \\
        --data /tmp/hrlc-bench/chain-1098 --out benchmarks/results/chain_1098.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import yaml

from hrlc.benchmark import load_average, machine_facts

ROOT = Path(__file__).resolve().parents[1]
#: Keys of the run YAML that this script sets (the inputs and the output).
FILLED = ("output", "sources", "dem", "classes", "polygons", "lc_maps")
#: Spatial blocks are at most this share of the tile side (a small tile keeps enough blocks).
BLOCKS_PER_SIDE = 10
TARGET = {"wall_s": 7200.0, "peak_rss_gb": 4.0}
GIB = 2**30


def _hrlc(*args: str) -> list[str]:
    return [sys.executable, "-m", "hrlc", *args]


def products_match(products: Path, *, size: int, dates: int, seed: int) -> bool:
    """True when ``products`` holds a finished simulation (its ``truth/simulation.yaml``,
    written last) of this size, number of dates and seed, every product of it as a JPEG
    2000 SAFE folder."""
    record = products / "truth" / "simulation.yaml"
    if not record.is_file():
        return False
    facts = yaml.safe_load(record.read_text())
    options = facts["options"]
    if (options["size"], options["dates"], options["seed"]) != (size, dates, seed):
        return False
    folders = [products / f"{d['product']}.SAFE" for d in facts["dates"]]
    return all(f.is_dir() and next(f.rglob("*_B02_10m.jp2"), None) for f in folders)


def _measured(command: list[str], *, sample: bool = False) -> dict:
    """Run ``command``: exit code, wall s, CPU s and largest process RSS (GiB) of it and
    its descendants (``os.wait4``), and with ``sample`` the :class:`TreeSampler`."""
    start = time.perf_counter()
    process = subprocess.Popen(command)
    sampler = TreeSampler(process.pid).start() if sample else None
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if sampler is not None:
        sampler.stop()
    return {"code": os.waitstatus_to_exitcode(status), "seconds": round(seconds, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "largest_process_rss_gb": round(usage.ru_maxrss * 1024 / GIB, 3),
            "sampler": sampler}


def simulate(products: Path, *, size: int, dates: int, seed: int, workers: int | None) -> dict:
    """Write the products unless matching ones are there; the simulation's figures (those
    of the run that wrote them when reused)."""
    record = products.parent / "simulate.json"
    if products_match(products, size=size, dates=dates, seed=seed) and record.is_file():
        return {**json.loads(record.read_text()), "reused": True}
    command = _hrlc("simulate", "--out", str(products), "--size", str(size), "--dates",
                    str(dates), "--seed", str(seed), "--format", "safe", "--clear-dates", "0",
                    "--overwrite", *(["--workers", str(workers)] if workers else []))
    print(f"simulating {dates} JP2 SAFE products of {size} x {size} px into {products}",
          flush=True)
    result = _measured(command)
    if result.pop("code") != 0:
        raise SystemExit(f"hrlc simulate failed (its message is above): {' '.join(command)}")
    result.pop("sampler")
    result["command"] = " ".join(command[1:])
    products.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(result, indent=2) + "\n")
    return {**result, "reused": False}


def run_config(template: Path, data: Path, *, size: int, workers: int | None) -> tuple[dict, dict]:
    """The run YAML's content: ``template``'s stage options, the simulated inputs, the
    output ``data/run``; and what was adjusted to the tile size (key -> [from, to]).

    Raises
    ------
    SystemExit
        ``template`` sets one of the keys this script fills in.
    """
    config = yaml.safe_load(template.read_text()) or {}
    clash = [k for k in FILLED if k in config]
    if clash:
        raise SystemExit(f"{template} sets {', '.join(clash)}; the benchmark fills in the "
                         "inputs and the output itself: remove them from the file")
    products, truth = data / "products", data / "products" / "truth"
    classes = yaml.safe_load((truth / "classes.yaml").read_text())["classes"]
    mapping = data / "landcover_mapping.yaml"  # the simulator's codes are the class codes
    mapping.write_text(yaml.safe_dump({"mapping": {c["code"]: c["name"] for c in classes},
                                       "ignore": [0]}))
    dates = yaml.safe_load((truth / "simulation.yaml").read_text())["dates"]
    # the products by name: a folder may still hold others from an earlier simulation
    config.update(output=str(data / "run"),
                  sources=[str(products / f"{d['product']}.SAFE") for d in dates],
                  dem=str(truth / "dem.tif"), classes=str(truth / "classes.yaml"),
                  polygons={"path": str(truth / "training_polygons.gpkg"),
                            "class_field": "class"},
                  lc_maps=[{"path": str(truth / "landcover.tif"), "mapping": str(mapping)}])
    adjusted = {}
    dataset = config.setdefault("dataset", {})
    block, largest = float(dataset.get("block_size", 1000.0)), size * 10.0 / BLOCKS_PER_SIDE
    if block > largest:
        dataset["block_size"] = largest
        adjusted["dataset.block_size"] = [block, largest]
    if workers:
        config.setdefault("compute", {})["n_workers"] = workers
    return config, adjusted


def fresh_run_folder(folder: Path) -> None:
    """Remove the run folder of an earlier benchmark run (``hrlc run --restart`` would
    redo every stage too, but stops at the report the earlier run wrote).

    Raises
    ------
    SystemExit
        ``folder`` exists and is not a run folder of hrlc (no ``manifest.json`` of a run).
    """
    if not folder.exists():
        return
    manifest = folder / "manifest.json"
    try:
        ours = json.loads(manifest.read_text()).get("format") == "hrlc-run"
    except (OSError, ValueError):
        ours = False
    if not ours:
        raise SystemExit(f"{folder} exists and is not a run folder of hrlc (no run "
                         f"{manifest.name}); move it away or pass another --data")
    shutil.rmtree(folder)


class TreeSampler:
    """Every ``interval`` s: the memory of process ``pid`` and all its descendants, and the
    CPU time of its stage process, booked to that stage (forked by the run's launcher,
    process name ``hrlc <stage>``, or started as ``python -m hrlc <stage> ...``).
    ``stages[name]``: ``tree_peak`` and ``parent_rss`` (largest seen, bytes), ``cpu_s``
    (last seen: up to one interval of the stage's end is missed), ``samples``. The tree's
    memory is the sum of proportional set sizes (PSS) where Linux gives them: a stage
    forked from the launcher shares the launcher's imported libraries, and a sum of RSS
    would count those pages twice.

    Reading a PSS makes Linux walk the process's page tables (about 10 ms of system time
    per GB of RSS), so a process's PSS is read every ``pss_interval`` s only; in between
    it is its RSS (cheap) minus the pages it shared at the last reading (RSS - PSS then).
    Memory a stage allocates counts at once; a copy-on-write of a page shared with the
    launcher counts at the next reading. Read every 0.25 s, the PSS of a 600 MB stage
    tree cost about 45 ms a sample: a sixth of a core, beside the chain it measures."""

    def __init__(self, pid: int, interval: float = 0.25, pss_interval: float = 1.0):
        self.pid, self.interval, self.pss_interval = pid, interval, pss_interval
        self.stages: dict[str, dict] = {}
        self._names: dict[int, str | None] = {}
        #: (pid, start time) -> (time of the last PSS reading, RSS - PSS then), bytes
        self._shared: dict[tuple[int, float], tuple[float, int]] = {}
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> TreeSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._halt.set()
        self._thread.join()

    def _stage(self, proc) -> str | None:
        if proc.pid not in self._names:
            from hrlc.pipeline.child import stage_name

            self._names[proc.pid] = stage_name(proc.name(), proc.cmdline())
        return self._names[proc.pid]

    def _memory(self, proc, psutil) -> int:
        """The PSS of ``proc``: read, or estimated from its RSS between two readings."""
        key, now = (proc.pid, proc.create_time()), time.monotonic()
        last = self._shared.get(key)
        if last is not None and now - last[0] < self.pss_interval:
            return max(0, proc.memory_info().rss - last[1])
        try:
            full = proc.memory_full_info()
        except (AttributeError, psutil.AccessDenied):  # no PSS on this system
            return proc.memory_info().rss
        self._shared[key] = (now, full.rss - full.pss)
        return full.pss

    def _loop(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:  # the run has ended already
            return
        while not self._halt.wait(self.interval):
            try:
                self._sample(root, psutil)
            except psutil.Error:  # a process of the tree ended during the walk
                if not root.is_running():
                    return

    def _sample(self, root, psutil) -> None:
        parent = root.memory_info().rss
        total, stage, cpu = self._memory(root, psutil), None, 0.0
        for proc in root.children(recursive=True):
            try:
                total += self._memory(proc, psutil)
                if self._stage(proc) is not None:
                    stage = self._stage(proc)
                    t = proc.cpu_times()
                    cpu = t.user + t.system + t.children_user + t.children_system
            except psutil.Error:  # a process that just ended
                continue
        if stage is None:
            return
        record = self.stages.setdefault(stage, {"tree_peak": 0, "parent_rss": 0,
                                                "cpu_s": 0.0, "samples": 0})
        record["tree_peak"] = max(record["tree_peak"], total)
        record["parent_rss"] = max(record["parent_rss"], parent)
        record["cpu_s"] = max(record["cpu_s"], cpu)
        record["samples"] += 1


def stage_rows(manifest: dict, sampler: TreeSampler) -> list[dict]:
    """One row per stage of the manifest, in chain order. ``tree_peak_rss_gb`` is the larger
    of the sampled tree and the stage's exact peak plus the run's own RSS (the run waits,
    its RSS steady, while the stage runs; a short peak can fall between two samples)."""
    parents = [r["parent_rss"] for r in sampler.stages.values()]
    rows = []
    for name, record in manifest["stages"].items():
        if record.get("status") != "done":
            raise SystemExit(f"stage {name} is {record.get('status')!r} in the manifest, "
                             "not done: the run did not finish")
        sampled = sampler.stages.get(name, {})
        peak = record["peak_rss_mb"] * 2**20
        parent = sampled.get("parent_rss") or max(parents, default=0)
        rows.append({"stage": name, "wall_s": record["seconds"],
                     "peak_rss_gb": round(peak / GIB, 3),
                     "tree_peak_rss_gb": round(max(sampled.get("tree_peak", 0),
                                                   peak + parent) / GIB, 3),
                     "cpu_s_sampled": round(sampled["cpu_s"], 1) if sampled else None,
                     "samples": sampled.get("samples", 0)})
    return rows


def shared_read(config: dict) -> dict:
    """The JPEG 2000 bands both masks and composite decode, and their share of the
    composite's decoding (native pixels: a 20 m band is a quarter of a 10 m one)."""
    from hrlc.io.bands import L2A_BANDS, NATIVE_RESOLUTION
    from hrlc.masks.refine import required_bands

    masks = [*required_bands(**(config.get("masks") or {})), "SCL"]
    composite = list(config.get("bands") or L2A_BANDS)
    both = [b for b in composite if b in masks]
    weight = {b: (10 / NATIVE_RESOLUTION[b]) ** 2 for b in NATIVE_RESOLUTION}
    return {"masks_bands": masks, "composite_bands": composite, "decoded_by_both": both,
            "share_of_composite_pixels": round(sum(weight[b] for b in both)
                                               / sum(weight[b] for b in composite), 3)}


def disk_gb(folder: Path) -> dict[str, float]:
    """GiB on disk (allocated blocks) of ``folder`` and of each entry in it, largest first."""
    def size(path: Path) -> int:
        paths = [path, *path.rglob("*")] if path.is_dir() else [path]
        return sum(p.lstat().st_blocks * 512 for p in paths)

    entries = {p.name: size(p) for p in folder.iterdir()}
    ranked = sorted(entries.items(), key=lambda kv: -kv[1])
    return {"total": round(size(folder) / GIB, 3), **{k: round(v / GIB, 3) for k, v in ranked}}


def products_facts(products: Path) -> dict:
    """Dates, processing baselines and sky of the simulated products (simulation.yaml)."""
    dates = yaml.safe_load((products / "truth" / "simulation.yaml").read_text())["dates"]
    cover = [d["cloud_cover"] for d in dates]
    return {"format": "SAFE, JPEG 2000", "count": len(dates),
            "first": dates[0]["sensing_time"][:10], "last": dates[-1]["sensing_time"][:10],
            "baselines": dict(Counter(d["processing_baseline"] for d in dates)),
            "with_boa_offset": sum(d["boa_add_offset"] != 0 for d in dates),
            "cloud_cover": {"mean": round(sum(cover) / len(cover), 3),
                            "max": round(max(cover), 3),
                            "clear_dates": sum(c == 0 for c in cover)},
            "swath_edge_dates": sum(d["swath_edge"] for d in dates)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10980,
                        help="tile side, px, a multiple of 6 (10980: a full tile)")
    parser.add_argument("--dates", type=int, default=36, help="products over one year")
    parser.add_argument("--seed", type=int, default=0, help="simulator seed")
    parser.add_argument("--workers", type=int, default=None,
                        help="dask workers of the simulation and of every stage "
                        "(default: all cores)")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder kept between runs: products/ (reused when they match), "
                        "chain.yaml, run/ (replaced by every run); default "
                        "/tmp/hrlc-bench/chain-SIZE-DATES")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "bench_chain.yaml",
                        help="stage options of the run (default configs/bench_chain.yaml)")
    parser.add_argument("--out", type=Path, default=None,
                        help="result JSON (default benchmarks/results/chain_SIZE.json)")
    args = parser.parse_args(argv)
    if args.size % 6 or args.size < 60:
        raise SystemExit(f"--size {args.size}: products need a multiple of 6 of at least 60 "
                         f"px (a full tile is 10980), e.g. {max(60, args.size - args.size % 6)}")
    if not args.config.is_file():
        raise SystemExit(f"--config {args.config} not found; pass the stage options of the "
                         "run (configs/bench_chain.yaml of the source tree)")
    data = (args.data or Path(f"/tmp/hrlc-bench/chain-{args.size}-{args.dates}")).resolve()
    out = args.out or ROOT / "benchmarks" / "results" / f"chain_{args.size}.json"
    load_before_simulate = load_average()
    sim = simulate(data / "products", size=args.size, dates=args.dates, seed=args.seed,
                   workers=args.workers)
    config, adjusted = run_config(args.config, data, size=args.size, workers=args.workers)
    run_yaml = data / "chain.yaml"
    run_yaml.write_text(yaml.safe_dump(config, sort_keys=False))
    fresh_run_folder(data / "run")  # every stage runs: none is skipped as up to date
    command = _hrlc("run", str(run_yaml))
    print(f"running: hrlc run {run_yaml}", flush=True)
    load_at_start = load_average()
    run = _measured(command, sample=True)
    facts = machine_facts(load_at_start=load_at_start)  # the load while the chain ran
    if run["code"] != 0:
        raise SystemExit(f"hrlc run failed with exit code {run['code']} (its message is "
                         f"above); run folder {data / 'run'}")
    manifest_path = data / "run" / "manifest.json"
    stages = stage_rows(json.loads(manifest_path.read_text()), run["sampler"])
    stage_sum = round(sum(s["wall_s"] for s in stages), 2)
    for s in stages:
        s["share_of_total"] = round(s["wall_s"] / run["seconds"], 3)
    result = {
        "benchmark": "chain", "size": args.size, "dates": args.dates, "seed": args.seed,
        "products": products_facts(data / "products"),
        "simulate": sim,
        "stages": stages,
        "stage_sum_s": stage_sum,
        "total_s": run["seconds"],
        "overhead_s": round(run["seconds"] - stage_sum, 2),
        "peak_rss_gb": max(s["tree_peak_rss_gb"] for s in stages),
        "largest_stage_rss_gb": max(s["peak_rss_gb"] for s in stages),
        "cpu_s": run["cpu_s"],
        "rss_note": "peak_rss_gb per stage: the manifest's, the stage's child process alone "
                    "(os.wait4; a process it starts counts as the largest one, not summed), "
                    "without hrlc run itself. tree_peak_rss_gb: hrlc run and all its "
                    "descendants together, sampled every 0.25 s (PSS read once a second, "
                    "see TreeSampler and stage_rows). cpu_s: "
                    "exact, the whole run; cpu_s_sampled per stage may miss its last 0.25 s.",
        "disk_gb": {"products": disk_gb(data / "products")["total"],
                    "run": disk_gb(data / "run")},
        "adjusted": adjusted,
        "shared_read": shared_read(config),
        "targets": TARGET,
        "machine": {**facts, "load_average_before_simulate": load_before_simulate},
        "config": str(args.config), "run_config": str(run_yaml),
        "manifest": str(manifest_path),
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for s in stages:
        print(f"{s['stage']:>10} {s['wall_s']:10,.1f} s {s['tree_peak_rss_gb']:7.2f} GB")
    print(f"{'total':>10} {run['seconds']:10,.1f} s {result['peak_rss_gb']:7.2f} GB "
          f"(overhead {result['overhead_s']:.1f} s; simulate {sim['seconds']:,.1f} s not "
          f"counted); wrote {out}")


if __name__ == "__main__":
    main()
