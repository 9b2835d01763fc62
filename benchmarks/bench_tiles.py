"""Tiles side by side: a two-tile ``hrlc run`` on a 2-worker LocalCluster, one tile after
another (``parallel_tiles: 1``) against side by side (``parallel_tiles: 2``), in one run.

The tiles are the bundled real Aberystwyth scene, copied to two files (two tiles with
identical paths would also give identical dask keys, which clients sharing one scheduler
must not submit at the same time), each with a model of its own (features with GLCM
textures, dataset, train, map). Every stage of both runs connects
to the same LocalCluster (``compute.scheduler``: its address), so the comparison is the
one the issue asks for: the cluster's workers shared by two tiles, or used by one.

Usage::

    nice -n 5 .venv/bin/python benchmarks/bench_tiles.py --out benchmarks/results/tiles.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio


def run_config(out: Path, scenes: dict[str, Path], *, parallel: int, scheduler: str) -> dict:
    from hrlc.testing import bundled

    layers = {f"cls_{name}_smpls": name for name in ("forest", "grass", "urban", "water")}
    return {
        "output": str(out), "chunks": 256,
        "stages": ["features", "dataset", "train", "map"],
        "classes": str(bundled("aber", "classes.yaml")),
        "polygons": {"path": str(bundled("aber", "training_polygons_aber.gpkg")),
                     "layers": layers},
        "features": {"glcm_textures": ["contrast", "homogeneity"], "index_months": []},
        "train": {"C": [1, 10, 100], "gamma_factors": [0.3, 1.0, 3.0], "compare": [],
                  "cv_folds": 3, "max_train_samples": 2000, "n_jobs": 1},
        "compute": {"scheduler": scheduler},
        "tiles": {name: {"sources": [str(path)]} for name, path in scenes.items()},
        "parallel_tiles": parallel,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="JSON file for the results")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers")
    args = parser.parse_args(argv)

    from dask.distributed import LocalCluster

    from hrlc.benchmark import load_average, machine_facts
    from hrlc.config.run import RunConfig
    from hrlc.pipeline import run_chain
    from hrlc.testing import bundled_aber

    start_load = load_average()
    rows, maps = [], {}
    with tempfile.TemporaryDirectory() as tmp, \
            LocalCluster(n_workers=args.workers, threads_per_worker=1,
                         processes=True, dashboard_address=None) as cluster:
        scenes = {}
        for name in ("east", "west"):
            scenes[name] = Path(tmp) / name / bundled_aber().name
            scenes[name].parent.mkdir()
            shutil.copy(bundled_aber(), scenes[name])
            sidecar = bundled_aber().with_suffix(".yaml")  # band names, scale, date
            shutil.copy(sidecar, scenes[name].with_suffix(".yaml"))
        for parallel in (1, 2):
            out = Path(tmp) / f"parallel-{parallel}"
            config = RunConfig.model_validate(
                run_config(out, scenes, parallel=parallel,
                           scheduler=cluster.scheduler_address))
            began, load = time.perf_counter(), load_average()
            run_chain(config, echo=lambda _: None)
            wall = time.perf_counter() - began
            stages = {name: json.loads((out / name / "manifest.json").read_text())["stages"]
                      for name in ("east", "west")}
            rows.append({"parallel_tiles": parallel, "wall_s": round(wall, 1),
                         "load_average_start": load, "load_average_end": load_average(),
                         "stage_seconds": {t: {s: r["seconds"] for s, r in st.items()}
                                           for t, st in stages.items()},
                         "peak_rss_mb": {t: max(r["peak_rss_mb"] for r in st.values())
                                         for t, st in stages.items()}})
            for name in ("east", "west"):
                with rasterio.open(out / name / "map" / "classes.tif") as src:
                    maps[(parallel, name)] = src.read(1)
    same = all(np.array_equal(maps[(1, n)], maps[(2, n)]) for n in ("east", "west"))
    result = {"benchmark": "tiles", "tiles": 2, "cluster_workers": args.workers,
              "runs": rows, "speed_up": round(rows[0]["wall_s"] / rows[1]["wall_s"], 2),
              "maps_equal": same, "machine": machine_facts(load_at_start=start_load)}
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
