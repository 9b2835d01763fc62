"""A simulated Sentinel-2 tile mapped end to end: features from composites, predict, write.

    nice -n 10 python benchmarks/bench_map.py                  # 1/16, 1/4 and a full tile
    python benchmarks/bench_map.py --base 512 --repeats 1 2 --sv 300   # a quick check
    python benchmarks/bench_map.py --size 2048     # 512 px base: 512, 1024, 2048 px mapped

A tile of a quarter of the side (2745 x 2745 px, 1/16 of the area) comes from ``hrlc.simulate.simulate_series`` (seed 0):
three cloud-free dates a month apart stand for three monthly composites
(``clear_reflectance``, 12 bands), with the simulator's DEM; it is simulated once and
stored (Zarr), since rendering scenes costs far more than mapping them. The 1/4 tile and
the full tile are mosaics of 2 x 2 and 4 x 4 copies of it, every other copy mirrored so
that nothing changes at the seams: the same pixels per second are expected if the cost is
linear in the area. Features: 12 bands x 3 months, 14 indices x 3 months, the 14 index
medians, 6 GLCM textures and elevation/slope/aspect (102 features). The model is trained
once on a 768 x 768 window of the same cube with 25 % of the labels flipped, so that the
SVM keeps about ``--sv`` support vectors (the realistic cost: thousands of support
vectors, ~100 features). Each case (1/16, 1/4, full tile by area) then runs in a fresh
child process: ``predict_map`` on the lazily built features (never stored), the
block-resumable Zarr intermediate, and all map outputs (COGs, PNGs, distribution); wall
time, CPU time and peak RSS are recorded, and pixels per second show whether the cost is
linear in the area.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

FULL = 10980
FEATURES = dict(index_statistics=["median"], glcm_window=7)


def _simulate(folder: Path, size: int, chunks: int) -> str:
    """Simulate a tile of ``size`` px once and store its composites and DEM (Zarr)."""
    import xarray as xr

    from hrlc.io import write_zarr
    from hrlc.simulate import simulate_series

    series = simulate_series(size=size, dates=3, seed=0, start="2019-04-01", interval_days=31,
                             chunks=chunks)
    path = folder / "composites.zarr"
    data = xr.Dataset({"composites": series.clear_reflectance, "dem": series.dem})
    write_zarr(data.drop_vars([c for c in data.coords if c not in ("time", "band", "y", "x",
                                                                   "spatial_ref")]), path)
    return str(path)


def _mirrored(copy, repeat: int):
    """``repeat`` x ``repeat`` copies of a (..., y, x) dask array, every other one flipped, so
    that the mosaic is continuous across the seams (textures see no artificial edge).

    ``copy(i, j)`` gives copy (i, j) as a dask array of its own: each copy reads the store
    with task keys of its own, as the parts of a real tile would. (Copies sharing their
    read tasks would let dask keep every chunk read until all the copies that need it are
    done: the whole stored tile in memory, which a real tile never asks for.)"""
    import dask.array as da

    rows = []
    for i in range(repeat):
        row = [copy(i, j)[..., ::-1 if i % 2 else 1, ::-1 if j % 2 else 1]
               for j in range(repeat)]
        rows.append(row)
    return da.block(rows)


def _stored_copy(composites_path: str, variable: str, side: int):
    """copy(i, j) for :func:`_mirrored`: the stored variable's top-left ``side`` px."""
    import dask.array as da

    def copy(i: int, j: int):
        return da.from_zarr(composites_path, component=variable,
                            name=f"{variable}-copy-{i}-{j}")[..., :side, :side]
    return copy


def _cube(composites_path: str, repeat: int, chunks: int, base: int | None = None):
    """The lazy (feature, y, x) cube of a mosaic of ``repeat`` x ``repeat`` stored tiles
    (their ``base`` x ``base`` px top-left corner when given)."""
    import xarray as xr

    from hrlc.features import build_features
    from hrlc.io import read_zarr

    stored = read_zarr(composites_path)
    if base is not None:
        stored = stored.isel(y=slice(0, base), x=slice(0, base))
    crs = stored.rio.crs
    side = stored.sizes["y"]
    size = side * repeat
    x0, y0 = float(stored.x[0]) - 5, float(stored.y[0]) + 5
    coords = {"y": y0 - 10 * (np.arange(size) + 0.5), "x": x0 + 10 * (np.arange(size) + 0.5)}
    comp = stored["composites"]
    composites = xr.DataArray(
        _mirrored(_stored_copy(composites_path, "composites", side), repeat), dims=comp.dims,
        coords={"time": comp.time, "band": comp.band, **coords})
    dem = xr.DataArray(_mirrored(_stored_copy(composites_path, "dem", side), repeat),
                       dims=("y", "x"), coords=coords)
    composites = composites.chunk({"time": -1, "band": -1, "y": chunks, "x": chunks})
    dem = dem.chunk({"y": chunks, "x": chunks})
    return build_features(composites.rio.write_crs(crs), dem=dem.rio.write_crs(crs), **FEATURES)


def _train(folder: Path, composites_path: str, *, base: int, target_sv: int, chunks: int) -> str:
    """Train a bundle on a window of the stored tile's cube; labels partly flipped."""
    import pandas as pd

    from hrlc.model import train_model
    from hrlc.simulate import simulate_series

    cube = _cube(composites_path, 1, chunks)
    window = dict(y=slice(base // 4, base // 4 + 768), x=slice(base // 4, base // 4 + 768))
    values = cube.isel(**window).compute().values
    landcover = simulate_series(size=base, dates=3, seed=0, start="2019-04-01",
                                interval_days=31, chunks=chunks).landcover
    labels = landcover.isel(**window).compute().values.ravel()
    X = values.reshape(values.shape[0], -1).T
    rng = np.random.default_rng(0)
    keep = np.flatnonzero(np.isfinite(X).all(axis=1))
    pick = rng.choice(keep, size=min(len(keep), 2 * target_sv), replace=False)
    y = labels[pick].copy()
    flip = rng.random(len(y)) < 0.25
    y[flip] = rng.choice(np.unique(y), size=flip.sum())
    table = pd.DataFrame(X[pick], columns=[str(f) for f in cube["feature"].values])
    table["class"] = y
    table["block"] = rng.integers(0, 30, len(y))
    table["split"] = np.where(rng.random(len(y)) < 0.1, "test", "train")
    result = train_model(table, features=list(table.columns[:-3]), compare=[],
                         selection="none", C=(1.0,), gamma_factors=(1.0,),
                         max_train_samples=None, cv_folds=3, n_jobs=1)
    path = folder / "model.npz"
    result.bundle.save(path, overwrite=True)
    return str(path)


def _map(composites_path: str, repeat: int, bundle_path: str, folder: str, chunks: int,
         base: int) -> dict:
    """One case, in its own process: composites -> features (lazy) -> blocks -> outputs."""
    import resource

    from hrlc.io import read_zarr
    from hrlc.mapping import compute_blocks, predict_map, write_map_outputs
    from hrlc.model import load_bundle

    cpu = resource.getrusage(resource.RUSAGE_SELF)
    bundle = load_bundle(bundle_path)
    result = predict_map(_cube(composites_path, repeat, chunks, base), bundle)
    out = Path(folder)
    start = time.perf_counter()
    blocks = compute_blocks(result, out / "work.zarr", fingerprint=str(repeat))
    predicted = time.perf_counter() - start
    write_map_outputs(read_zarr(out / "work.zarr"), out / "map", class_table=bundle.class_table,
                      overwrite=True)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"blocks": blocks.total, "predict_seconds": predicted,
            "cpu_seconds": (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)}


def main() -> None:
    from hrlc.benchmark import load_average, machine_facts, measure, write_results
    from hrlc.model import load_bundle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, nargs="+", default=[1, 2, 4],
                        help="mosaic side in stored tiles (1, 2, 4: 1/16, 1/4, a full tile "
                             "with the default --base)")
    parser.add_argument("--base", type=int, default=None,
                        help="side of the simulated tile, px (default a quarter of 10980); "
                             "with --keep, a smaller base crops the kept tile")
    parser.add_argument("--size", type=int, default=None,
                        help="side of the largest mapped mosaic, px: base = SIZE / the largest "
                             "repeat (e.g. 10980 with repeats 1 2 4: base 2745)")
    parser.add_argument("--sv", type=int, default=3000, help="target support vectors")
    parser.add_argument("--chunks", type=int, default=915,
                        help="chunk side, px (915: a twelfth of a tile, so that the mirrored "
                             "copies of a 2745 px tile line up with the chunks)")
    parser.add_argument("--name", default="bench_map", help="results file name (.json)")
    parser.add_argument("--results", default="benchmarks/results", help="results folder")
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder keeping the simulated tile and the model between runs")
    args = parser.parse_args()
    if args.size is not None and args.base is not None:
        parser.error("give --size or --base, not both")
    if args.size is not None:
        largest = max(args.repeats)
        if args.size % largest:
            parser.error(f"--size {args.size} is not a multiple of the largest repeat "
                         f"({largest}); e.g. --size {args.size - args.size % largest}")
        args.base = args.size // largest
    args.base = args.base or FULL // 4
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_map_",
                                              dir=os.environ.get("TMPDIR")))
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        # the preparation runs in child processes too, so that this parent stays small
        start = time.perf_counter()
        composites = str(root / "composites.zarr")
        if not Path(composites).exists():
            composites = measure(_simulate, root, args.base, args.chunks)["result"]
            print(f"simulated a {args.base} px tile in {time.perf_counter() - start:.0f} s",
                  flush=True)
        start = time.perf_counter()
        bundle_path = str(root / "model.npz")
        if not Path(bundle_path).exists():
            bundle_path = measure(_train, root, composites, base=args.base,
                                  target_sv=args.sv, chunks=args.chunks)["result"]
        bundle = load_bundle(bundle_path)
        print(f"model: {bundle.n_support_vectors} support vectors, "
              f"{len(bundle.input_features)} features, {len(bundle.classes)} classes "
              f"(trained in {time.perf_counter() - start:.0f} s)", flush=True)
        for repeat in args.repeats:
            size = args.base * repeat
            case = root / f"case_{repeat}"
            start_load = load_average()
            report = measure(_map, composites, repeat, bundle_path, str(case), args.chunks,
                             args.base)
            pixels = size * size
            rows.append({"case": f"{size} x {size} px ({pixels / FULL**2:.3g} tile)",
                         "pixels": pixels, "seconds": report["seconds"],
                         "predict_seconds": report["result"]["predict_seconds"],
                         "cpu_seconds": report["result"]["cpu_seconds"],
                         "peak_rss_mb": report["peak_rss_mb"],
                         "pixels_per_second": pixels / report["seconds"],
                         "blocks": report["result"]["blocks"],
                         "support_vectors": bundle.n_support_vectors,
                         "features": len(bundle.input_features),
                         "load_average": os.getloadavg()[0],
                         "machine": machine_facts(load_at_start=start_load)})
            print(rows[-1], flush=True)
            shutil.rmtree(case, ignore_errors=True)
            write_results(args.name, rows, args.results)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
