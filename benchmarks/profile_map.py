"""Where the map stage's time goes: features, kernel GEMM, exp, weights, refinement, writing.

Uses the tile and model kept by ``bench_map.py --keep FOLDER`` (a simulated 2745 px tile
of composites and DEM, a bundle with thousands of support vectors, 102 features). On one
window of ``--window`` px, on one thread (a map task runs with one BLAS thread per dask
worker thread), it times in this process:

1. ``features``: the lazy feature cube of the whole stored tile computed chunk by chunk
   as the map computes it (bands, indices, GLCM textures with their halo, terrain; each
   chunk reduced to one value at once, so nothing is held), dask's synchronous
   scheduler; the window's pixels are then computed for the steps below;
2. ``transform``: the bundle's preprocessing (scaling, PCA) of those pixels, in the map's
   batches (:class:`hrlc.mapping.preprocessing.Preprocessing`);
3. ``predict``: :class:`hrlc.mapping.BundlePredictor` as the map calls it (float32 kernel,
   percent resolution, float64 refinement of the unsure pixels), and without refinement;
4. inside the float32 kernel: the kernel GEMMs alone, ``exp`` alone, and the rest (the
   products with the dual coefficients and the sums), by repeating the kernel's own
   arithmetic on the same arrays with a timer around each part;
5. ``write``: from ``bench_map``'s full-tile result, the time after the blocks were
   predicted (COGs, PNG, distribution).

CPU seconds per million pixels are extrapolated to a full tile (10980 x 10980 px, 2
cores). Writes ``benchmarks/results/map_profile.json``.

    .venv/bin/python benchmarks/bench_map.py --keep /tmp/bm --repeats 1
    .venv/bin/python benchmarks/profile_map.py --keep /tmp/bm

``kernel_full_tile_seconds_2_cores_at_bench_map_sv`` scales the kernel parts to the
support vectors of the model of ``bench_map.json`` (the kernel is linear in them): the
floor of a full tile on two cores at this GEMM speed, before features and writing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FULL_TILE_PIXELS = 10980 ** 2
#: Pixels per predictor call, as the map stage's ``_PIXEL_BATCH``.
BATCH = 32768


class _Clock:
    """Wall and CPU time (this process, all threads) of a ``with`` block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def kernel_parts(gemm, x: np.ndarray) -> dict[str, float]:
    """CPU seconds of the GEMMs, the exps and the weight products of ``gemm(x)``.

    ``gemm`` is the predictor's :class:`hrlc.model.svm_kernel._KernelGemm` (its private
    arrays are read here, for the profile only); the loop below is its ``_block`` with a
    timer around each part, so the parts add up to the kernel's time.
    """
    parts = {"kernel_gemm": 0.0, "exp": 0.0, "weights": 0.0}
    n_features = x.shape[1]
    augmented = np.zeros((gemm.batch, n_features + 2), gemm.dtype)
    slab = np.empty((gemm.batch, gemm.SLAB), gemm.dtype)
    for start in range(0, len(x), gemm.batch):
        part = x[start:start + gemm.batch]
        augmented[:] = 0
        centred = augmented[:len(part), :n_features]
        np.subtract(part, gemm._centre, out=centred, casting="unsafe")
        augmented[:len(part), n_features] = 1
        augmented[:len(part), n_features + 1] = -gemm.gamma * np.einsum(
            "ij,ij->i", centred, centred, dtype=np.float64)
        for segment in gemm._segments:
            sums = np.zeros((gemm.batch, len(segment.columns)))
            for lo in range(segment.start, segment.stop, gemm.SLAB):
                hi = min(lo + gemm.SLAB, segment.stop)
                kernel = slab[:, :hi - lo]
                t0 = time.process_time()
                np.matmul(augmented, gemm._sv[lo:hi].T, out=kernel)
                t1 = time.process_time()
                np.exp(kernel, out=kernel)
                t2 = time.process_time()
                sums += kernel @ segment.weights[lo - segment.start:hi - segment.start]
                t3 = time.process_time()
                parts["kernel_gemm"] += t1 - t0
                parts["exp"] += t2 - t1
                parts["weights"] += t3 - t2
    return parts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, required=True,
                        help="folder of bench_map.py --keep (composites.zarr, model.npz)")
    parser.add_argument("--window", type=int, default=915, help="window side, px")
    parser.add_argument("--chunks", type=int, default=915)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results"
                        / "map_profile.json")
    args = parser.parse_args(argv)

    import dask
    from threadpoolctl import threadpool_limits

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_map import _cube

    from hrlc.benchmark import load_average, machine_facts
    from hrlc.mapping import BundlePredictor
    from hrlc.mapping.preprocessing import Preprocessing
    from hrlc.model import load_bundle

    start_load = load_average()
    bundle = load_bundle(args.keep / "model.npz")
    cube = _cube(str(args.keep / "composites.zarr"), 1, args.chunks)
    window = slice(args.chunks, args.chunks + args.window)  # an inner window: halo on all sides
    rows: dict[str, dict] = {}
    with threadpool_limits(1), dask.config.set(scheduler="synchronous"):
        with _Clock() as clock:
            cube.data.map_blocks(lambda b: np.nansum(b, keepdims=True, dtype=np.float64),
                                 chunks=(1,) * cube.ndim, dtype=np.float64).compute()
        rows["features"] = {"cpu": clock.cpu * args.window ** 2 / cube[0].size,
                            "wall": clock.wall * args.window ** 2 / cube[0].size}
        values = cube.isel(y=window, x=window).values
        pixels = values.reshape(values.shape[0], -1).T
        pixels = pixels[np.isfinite(pixels).all(axis=1)]
        n = len(pixels)
        preprocessing = Preprocessing(bundle)
        with _Clock() as clock:  # the map's pixel batches
            for lo in range(0, n, BATCH):
                preprocessing(pixels[lo:lo + BATCH])
        rows["transform"] = {"cpu": clock.cpu, "wall": clock.wall}
        model_features = preprocessing(pixels)
        predictors = {}
        for refine in (True, False):
            predictor = predictors[refine] = BundlePredictor(bundle, refine=refine)
            with _Clock() as clock:
                for lo in range(0, n, BATCH):
                    predictor.predict(pixels[lo:lo + BATCH], resolution=0.01)
            rows["predict" if refine else "predict_unrefined"] = {"cpu": clock.cpu,
                                                                  "wall": clock.wall}
        gemm = predictor._svm._gemm  # noqa: SLF001 - the profile reads the kernel's arrays
        x32 = model_features.astype(np.float32)
        rows.update({name: {"cpu": cpu} for name, cpu in kernel_parts(gemm, x32).items()})
        unsure = predictor_unsure_share(predictors[True], model_features)
    bench = json.loads((ROOT / "benchmarks" / "results" / "bench_map.json").read_text())
    full = bench[-1]
    per_mpx = {name: round(r["cpu"] / n * 1e6, 3) for name, r in rows.items()}
    predict = per_mpx["predict"]
    out = {
        "window_px": args.window, "pixels": n, "support_vectors": bundle.n_support_vectors,
        "features": len(bundle.input_features), "classes": len(bundle.classes),
        "kernel_batch": gemm.batch, "refined_share": unsure,
        "cpu_seconds_per_million_pixels": per_mpx,
        "full_tile_estimate_seconds_2_cores": {
            name: round(v * FULL_TILE_PIXELS / 1e6 / 2, 1) for name, v in per_mpx.items()},
        "kernel_flops_per_pixel": 2 * gemm._sv.shape[0] * gemm._sv.shape[1],
        "kernel_gflops_one_thread": round(
            2 * gemm._sv.shape[0] * gemm._sv.shape[1] * n / rows["kernel_gemm"]["cpu"] / 1e9,
            1),
        "share_of_predict": {name: round(per_mpx[name] / predict, 3)
                             for name in ("kernel_gemm", "exp", "weights")},
        # the kernel's parts scale with the support vectors: at bench_map's model size
        "kernel_full_tile_seconds_2_cores_at_bench_map_sv": round(
            sum(per_mpx[k] for k in ("kernel_gemm", "exp", "weights"))
            * full["support_vectors"] / bundle.n_support_vectors
            * FULL_TILE_PIXELS / 1e6 / 2, 1),
        "bench_map_full_tile": {"support_vectors": full["support_vectors"],"seconds": full["seconds"], "cpu_seconds": full["cpu_seconds"],
                                "write_seconds": round(full["seconds"]
                                                       - full["predict_seconds"], 1)},
        "machine": machine_facts(load_at_start=start_load),
    }
    args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "machine"}, indent=1))
    return 0


def predictor_unsure_share(predictor, model_features) -> float:
    """Share of pixels the float32 path of ``predictor`` (refining) hands to float64 (at
    percent resolution)."""
    pairwise = predictor._svm.pairwise_decision(model_features)  # noqa: SLF001
    scores = predictor._svm.ovr_decision(pairwise)  # noqa: SLF001
    return round(float(predictor._unsure(scores, pairwise, 0.01).mean()), 4)  # noqa: SLF001


if __name__ == "__main__":
    sys.exit(main())
