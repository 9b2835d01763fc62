"""GLCM textures: hrlc (numba, sliding histograms) against scikit-image, side by side.

Cases, each run in its own process so that its peak RSS is its own:

- ``skimage-256``: ``graycomatrix`` + ``graycoprops`` for every pixel of a 256 x 256 image
  (the naive way, one GLCM per window);
- ``hrlc-256``: :func:`hrlc.features.glcm_array` (the numba core, numpy in and out) on
  the same quantised image, and ``hrlc-lazy-256``: :func:`hrlc.features.glcm_textures`
  (quantisation + dask graph included);
- ``hrlc-tile``: a full Sentinel-2 band (10980 x 10980), generated lazily chunk by chunk,
  textures streamed to a null sink (compute only; no disk).

All with a 7 x 7 window, 32 grey levels, distance 1, angles 0/45/90/135 averaged, the six
default textures. Results: a table on stdout and JSON (``--out``).

Usage::

    nice -n 10 python benchmarks/bench_glcm.py --out benchmarks/results/glcm.json
    python benchmarks/bench_glcm.py --skip-tile      # the 256 x 256 comparison only
    python benchmarks/bench_glcm.py --size 2048 --skip-comparison   # one band only
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

WINDOW, LEVELS, DISTANCES, ANGLES = 7, 32, [1], [0, 45, 90, 135]


def _image(size: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.random((size, size)).astype(np.float32)


def _skimage(size: int) -> dict:
    import numpy as np
    from skimage.feature import graycomatrix, graycoprops

    from hrlc.features import DEFAULT_TEXTURES

    q = np.clip(np.floor(_image(size) * LEVELS), 0, LEVELS - 1).astype(np.uint8)
    r = WINDOW // 2
    padded = np.pad(q, r, mode="reflect")
    out = np.empty((len(DEFAULT_TEXTURES), size, size))
    start = time.perf_counter()
    for row in range(size):
        for col in range(size):
            glcm = graycomatrix(padded[row: row + WINDOW, col: col + WINDOW], DISTANCES,
                                np.radians(ANGLES), levels=LEVELS, symmetric=True, normed=True)
            for k, name in enumerate(DEFAULT_TEXTURES):
                out[k, row, col] = graycoprops(glcm, name).mean()
    return {"seconds": time.perf_counter() - start, "pixels": size * size}


def _core(size: int) -> dict:
    import numpy as np

    from hrlc.features import glcm_array

    q = np.clip(np.floor(_image(size) * LEVELS), 0, LEVELS - 1).astype(np.uint8)
    options = dict(window=WINDOW, levels=LEVELS, distances=DISTANCES, angles=ANGLES)
    glcm_array(q[:32, :32], **options)  # load the cached numba kernels
    start = time.perf_counter()
    glcm_array(q, **options)
    return {"seconds": time.perf_counter() - start, "pixels": size * size}


def _hrlc(size: int, chunks: int) -> dict:
    import dask.array as da
    import numpy as np
    import xarray as xr

    from hrlc.features import glcm_textures

    options = dict(window=WINDOW, levels=LEVELS, distances=DISTANCES, angles=ANGLES,
                   value_range=(0.0, 1.0))
    warm = xr.DataArray(_image(32), dims=("y", "x"))
    glcm_textures(warm, **options).compute()  # load the cached numba kernels
    if size <= 4096:
        band = xr.DataArray(_image(size), dims=("y", "x"))
    else:  # generated chunk by chunk: the input is never whole in memory either
        data = da.random.default_rng(0).random((size, size), chunks=chunks, dtype=np.float32)
        band = xr.DataArray(data, dims=("y", "x"))
        options.pop("value_range")  # robust 2-98 % range, as by default

    class _Sink:
        def __setitem__(self, key, value):
            pass

    start = time.perf_counter()
    textures = glcm_textures(band, **options)
    if size <= 4096:
        textures.compute()
    else:
        da.store(textures.data, _Sink(), lock=False)
    return {"seconds": time.perf_counter() - start, "pixels": size * size}


def _child(case: str, size: int, chunks: int) -> None:
    run = {"skimage": _skimage, "hrlc": _core}.get(case)
    result = run(size) if run else _hrlc(size, chunks)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # load-independent
    print(json.dumps(result))


def _run(case: str, size: int, chunks: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", case, str(size), str(chunks)],
                          capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(case=f"{case}-{'tile' if size > 4096 else size}", size=size)
    result["load_average"] = __import__("os").getloadavg()[0]
    result["pixels_per_second"] = result["pixels"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=256, help="side of the compared image")
    parser.add_argument("--tile", "--size", dest="tile", type=int, default=10980,
                        help="side of the full band (--size: the name every benchmark takes)")
    parser.add_argument("--chunks", type=int, default=1024, help="dask chunk side, full band")
    parser.add_argument("--skip-tile", action="store_true", help="only the small comparison")
    parser.add_argument("--skip-comparison", action="store_true",
                        help="only the band of --size (no scikit-image comparison, which takes "
                             "minutes)")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from hrlc.benchmark import load_average, machine_facts

    start = load_average()
    if args.child:
        _child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    results = [] if args.skip_comparison else [
        _run("skimage", args.small, args.chunks), _run("hrlc", args.small, args.chunks),
        _run("hrlc-lazy", args.small, args.chunks)]
    if not args.skip_tile:
        results.append(_run("hrlc-lazy", args.tile, args.chunks))
    compared = not args.skip_comparison
    speedup = results[0]["seconds"] / results[1]["seconds"] if compared else None
    report = {
        "benchmark": "glcm", "window": WINDOW, "levels": LEVELS, "distances": DISTANCES,
        "angles": ANGLES, "textures": 6, "speedup_vs_skimage": speedup,
        "speedup_vs_skimage_lazy": (results[0]["seconds"] / results[2]["seconds"]
                                    if compared else None),
        "machine": machine_facts(load_at_start=start),
        "results": results,
    }
    print(f"{'case':<18}{'pixels':>14}{'seconds':>10}{'px/s':>14}{'peak RSS MB':>13}"
          f"{'load':>6}")
    for r in results:
        print(f"{r['case']:<18}{r['pixels']:>14,}{r['seconds']:>10.3f}"
              f"{r['pixels_per_second']:>14,.0f}{r['peak_rss_mb']:>13,.0f}"
              f"{r['load_average']:>6.1f}")
    if compared:
        print(f"speed-up vs scikit-image on {args.small} x {args.small}: {speedup:,.0f}x (core), "
              f"{report['speedup_vs_skimage_lazy']:,.0f}x (lazy, with quantisation and dask)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
