"""Full feature cube of one Sentinel-2 tile written to Zarr: wall time, peak RSS, size.

The composites (``--months`` x 10 bands x 10980 x 10980, float32 reflectance quantised to
1e-4 like L2A) and a DEM are generated lazily chunk by chunk: smooth fields plus noise,
so that they compress like real data rather than like white noise. Every feature group is
built with the default options (all bands, the 14 indices per month, the 6 GLCM textures
of the median NIR, elevation/slope/aspect) and written with ``hrlc.io.write_zarr``. The
run happens in a child process so that the peak RSS is the cube's alone.

Usage::

    nice -n 10 python benchmarks/bench_features.py --out benchmarks/results/features.json
    python benchmarks/bench_features.py --size 2048      # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BANDS = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
LEVEL = [0.04, 0.07, 0.06, 0.11, 0.22, 0.26, 0.30, 0.31, 0.20, 0.12]  # typical reflectance


def _field(block_info=None, *, kind: str, seed: int):
    """One chunk of a smooth synthetic field, from its position in the whole array."""
    import numpy as np

    info = block_info[None]
    shape = info["chunk-shape"]
    (r0, r1), (c0, c1) = info["array-location"][-2:]
    yy, xx = np.mgrid[r0:r1, c0:c1].astype(np.float32)
    rng = np.random.default_rng([seed, r0, c0])
    if kind == "dem":
        z = 300 + 200 * np.sin(yy / 700) * np.cos(xx / 900) + 30 * np.sin((xx + yy) / 90)
        return z.astype(np.float32)
    months, bands = shape[0], shape[1]
    pattern = 0.5 + 0.5 * np.sin(xx / 150) * np.sin(yy / 230)  # fields and forests
    out = np.empty(shape, np.float32)
    for t in range(months):
        for b in range(bands):
            noise = rng.normal(0, 0.01, shape[-2:]).astype(np.float32)
            value = LEVEL[b] * (0.6 + 0.8 * pattern) * (1 + 0.1 * t) + noise
            out[t, b] = np.round(np.clip(value, 0.0001, 1), 4)
    return out


def _inputs(size: int, months: int, chunks: int):
    import dask.array as da
    import pandas as pd
    import xarray as xr

    y = 5_000_000 - 10 * (0.5 + da.arange(size, chunks=chunks)).compute()
    x = 400_000 + 10 * (0.5 + da.arange(size, chunks=chunks)).compute()
    data = da.map_blocks(_field, kind="composite", seed=1, dtype="float32",
                         chunks=((months,), (len(BANDS),),
                                 *da.core.normalize_chunks(chunks, (size, size))))
    time_ = pd.date_range("2021-04-01", periods=months, freq="MS")
    composites = xr.DataArray(data, dims=("time", "band", "y", "x"),
                              coords={"time": time_, "band": BANDS, "y": y, "x": x})
    dem = xr.DataArray(da.map_blocks(_field, kind="dem", seed=2, dtype="float32",
                                     chunks=da.core.normalize_chunks(chunks, (size, size))),
                       dims=("y", "x"), coords={"y": y, "x": x})
    return composites.rio.write_crs(32630), dem.rio.write_crs(32630)


def _child(size: int, months: int, chunks: int, folder: str) -> None:
    from hrlc.features import build_features
    from hrlc.io import write_zarr

    composites, dem = _inputs(size, months, chunks)
    start = time.perf_counter()
    cube = build_features(composites, dem=dem)
    build_seconds = time.perf_counter() - start
    path = Path(folder) / "cube.zarr"
    write_zarr(cube, path)
    seconds = time.perf_counter() - start
    size_bytes = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(json.dumps({
        "features": int(cube.sizes["feature"]), "size": size, "months": months,
        "chunks": chunks, "build_seconds": build_seconds, "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_seconds": (lambda u: u.ru_utime + u.ru_stime)(
            resource.getrusage(resource.RUSAGE_SELF)),  # whole child, load-independent
        "zarr_bytes": size_bytes, "raw_bytes": int(cube.size * 4),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10980, help="tile side in pixels")
    parser.add_argument("--months", type=int, default=2, help="monthly composites")
    parser.add_argument("--chunks", type=int, default=1024, help="spatial chunk side")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the Zarr store")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from hrlc.benchmark import load_average, machine_facts

    start = load_average()
    if args.child:
        _child(int(args.child[0]), int(args.child[1]), int(args.child[2]), args.child[3])
        return
    folder = tempfile.mkdtemp(prefix="hrlc-bench-features-", dir=args.tmp)
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", str(args.size),
                               str(args.months), str(args.chunks), folder],
                              capture_output=True, text=True)
        if proc.returncode:
            sys.exit(proc.stderr)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result["load_average"] = os.getloadavg()[0]
    result["machine"] = machine_facts(load_at_start=start)
    result["pixels_per_second"] = result["size"] ** 2 / result["seconds"]
    print(f"{'features':>9}{'tile px':>9}{'months':>7}{'seconds':>9}{'peak RSS MB':>13}"
          f"{'Zarr GB':>9}{'raw GB':>8}{'load':>6}")
    print(f"{result['features']:>9}{result['size']:>9}{result['months']:>7}"
          f"{result['seconds']:>9.1f}{result['peak_rss_mb']:>13,.0f}"
          f"{result['zarr_bytes'] / 1e9:>9.2f}{result['raw_bytes'] / 1e9:>8.2f}"
          f"{result['load_average']:>6.1f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"benchmark": "features", **result}, indent=2))


if __name__ == "__main__":
    main()
