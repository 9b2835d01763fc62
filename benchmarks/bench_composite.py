"""Benchmark: monthly compositing + restoration of a full Sentinel-2 tile on a laptop.

A lazy synthetic input stands in for the reader (same dims, dtypes, chunks and coords as
``read_l2a``): ``--scenes-per-month`` scenes in every month but one (a month with no
scene at all), ``--bands`` bands of reflectance, cloud masks made of moving cloud
fields, and a DEM with relief. The chain is the one ``hrlc composite`` + ``hrlc restore
--dem`` runs: median composite with clear count, terrain (slope/aspect), C-factors
fitted (pass 1), then topographic correction and gap filling (pass 2). Outputs go to a
null sink by default (a full tile of 12 x 10 float32 layers is 58 GB), or to Zarr with
``--write``.

Example (2 cores, as in the issue)::

    nice -n 10 .venv/bin/python benchmarks/bench_composite.py --size 10980 --workers 2
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import dask
import dask.array as da
import numpy as np
import xarray as xr

BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
#: Mean reflectance of each band (a vegetated surface) and the NIR-ish bands' seasonality.
LEVEL = np.array([0.04, 0.07, 0.05, 0.10, 0.20, 0.25, 0.30, 0.31, 0.18, 0.10], np.float32)


def _relief(y: np.ndarray, x: np.ndarray):
    """Elevation (m) and its gradient (east, north) at map coordinates: hills and ridges."""
    a, b, k = x / 2300.0, y / 3100.0, (x + y) / 700.0
    z = 600 + 700 * np.sin(a) * np.cos(b) + 150 * np.sin(k)
    dz_east = 700 / 2300.0 * np.cos(a) * np.cos(b) + 150 / 700.0 * np.cos(k)
    dz_north = -700 / 3100.0 * np.sin(a) * np.sin(b) + 150 / 700.0 * np.cos(k)
    return z, dz_east, dz_north


def _illumination_block(y: np.ndarray, x: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(time, y, x) float32 illumination factor (cos i + 0.3) / (cos z + 0.3) of a block.

    ``angles`` is (time, 2): sun zenith and azimuth in degrees.
    """
    _, de, dn = _relief(y[:, None], x[None, :])
    slope, aspect = np.arctan(np.hypot(de, dn)), np.arctan2(-de, -dn)
    z, phi = np.deg2rad(angles[:, 0])[:, None, None], np.deg2rad(angles[:, 1])[:, None, None]
    cos_i = np.cos(z) * np.cos(slope) + np.sin(z) * np.sin(slope) * np.cos(phi - aspect)
    return ((np.maximum(cos_i, 0) + 0.3) / (np.cos(z) + 0.3)).astype(np.float32)


def _scene_block(light: np.ndarray, index: np.ndarray, y: np.ndarray, x: np.ndarray, *,
                 n_bands: int) -> np.ndarray:
    """(time, band, y, x) reflectance of scenes ``index`` in one block, deterministic.

    Lambertian-like terrain illumination, rho * (cos i + 0.3) / (cos z + 0.3), so the
    C-correction has something to correct.
    """
    out = np.empty((index.size, n_bands, y.size, x.size), np.float32)
    for k, t in enumerate(index):
        rng = np.random.default_rng([int(t), int(y[0]), int(x[0])])
        season = np.float32(1 + 0.3 * np.sin(2 * np.pi * t / 36))
        noise = rng.random((n_bands, y.size, x.size), dtype=np.float32)
        noise *= np.float32(0.4)
        noise += np.float32(0.8)
        noise *= (LEVEL[:n_bands] * season)[:, None, None]
        noise *= light[k]
        out[k] = noise
    return out


def _mask_block(block_id, *, chunk_shape, chunk, cloudiness):
    """Cloud mask (CloudSEN12 codes) of one scene x chunk: a drifting sinusoidal cloud field."""
    t, i, j = block_id
    ny, nx = chunk_shape
    y = (i * chunk + np.arange(ny))[:, None] / 700.0
    x = (j * chunk + np.arange(nx))[None, :] / 900.0
    field = np.sin(x + 1.7 * t) * np.cos(y - 0.9 * t) + 0.5 * np.sin(0.37 * (x + y) + t)
    codes = np.where(field > 1 - 2 * cloudiness, 1, 0).astype(np.uint8)
    codes[(field > 1 - 2 * cloudiness - 0.15) & (codes == 0)] = 3  # shadow-ish fringes
    return codes[None]


def synthetic_inputs(size: int, *, months: int, per_month: int, n_bands: int, chunk: int,
                     empty_month: int, cloudiness: float):
    """Lazy scenes (time, band, y, x), masks (time, y, x) and DEM (y, x) on a UTM tile grid."""
    days = [np.datetime64(f"2023-{m + 1:02d}-01") + np.timedelta64(3 + 9 * k, "D")
            for m in range(months) if m != empty_month for k in range(per_month)]
    times = np.array(days, dtype="datetime64[ns]")
    n_time = len(times)
    chunks2 = da.core.normalize_chunks(chunk, (size, size))
    y = 5_100_000 - 10 * np.arange(size) - 5.0
    x = 400_000 + 10 * np.arange(size) + 5.0
    month = times.astype("datetime64[M]").astype(int) % 12
    zenith = 60 - 25 * np.sin(np.pi * (month + 0.5) / 12)
    azimuth = np.full(n_time, 160.0)
    y_arr, x_arr = da.from_array(y, chunks=chunks2[0]), da.from_array(x, chunks=chunks2[1])
    # terrain illumination of each block is computed once per month and shared by that
    # month's scenes only, so no input is held across months (a reader shares nothing)
    runs = tuple(np.unique(month, return_counts=True)[1])
    angles = da.from_array(np.stack([zenith, azimuth], axis=1), chunks=(runs, 2))
    light = da.blockwise(_illumination_block, "tyx", y_arr, "y", x_arr, "x", angles, "ta",
                         concatenate=True, dtype=np.float32,
                         meta=np.empty((0, 0, 0), np.float32))
    index = da.arange(n_time, chunks=(runs,))
    scenes = da.blockwise(_scene_block, "tbyx", light, "tyx", index, "t", y_arr, "y",
                          x_arr, "x", new_axes={"b": n_bands}, dtype=np.float32,
                          n_bands=n_bands, meta=np.empty((0, 0, 0, 0), np.float32))
    scenes = scenes.rechunk({0: 1})  # one scene per chunk, as read_l2a gives
    masks = da.map_blocks(
        lambda block_id=None, **kw: _mask_block(block_id, **kw_shape(block_id, chunks2, 1), **kw),
        dtype=np.uint8, chunks=((1,) * n_time, *chunks2), chunk=chunk, cloudiness=cloudiness,
        meta=np.empty((0, 0, 0), np.uint8))
    coords = {"time": times, "y": y, "x": x, "sun_zenith": ("time", zenith),
              "sun_azimuth": ("time", azimuth)}
    refl = xr.DataArray(scenes, dims=("time", "band", "y", "x"),
                        coords={**coords, "band": list(BANDS[:n_bands])}).rio.write_crs(32633)
    mask = xr.DataArray(masks, dims=("time", "y", "x"), coords=coords).rio.write_crs(32633)
    yy = da.from_array(y, chunks=chunks2[0])[:, None]
    xx = da.from_array(x, chunks=chunks2[1])[None, :]
    # explicit chunks: with one block per axis dask would take the (n, 1) chunks of yy
    relief = da.map_blocks(lambda a, b: _relief(a, b)[0], yy, xx, dtype=np.float64,
                           chunks=chunks2)
    dem = xr.DataArray(relief.astype(np.float32), dims=("y", "x"), coords={"y": y, "x": x})
    return refl, mask, dem.rio.write_crs(32633)


def kw_shape(block_id, chunks2, offset=2):
    """The (rows, cols) of the spatial block named by ``block_id``."""
    i, j = block_id[offset], block_id[offset + 1]
    return {"chunk_shape": (chunks2[0][i], chunks2[1][j])}


class NullSink:
    """A ``da.store`` target that drops each block (the chain is computed, nothing is kept)."""

    def __setitem__(self, key, value):
        pass


def run(args) -> dict:
    from hrlc.benchmark import PeakRSS
    from hrlc.composite import monthly_composite
    from hrlc.features.terrain import terrain
    from hrlc.restore import correct_topography, fill_gaps, fit_c_factors

    refl, mask, dem = synthetic_inputs(args.size, months=args.months, per_month=args.per_month,
                                       n_bands=args.bands, chunk=args.chunks,
                                       empty_month=args.empty_month, cloudiness=args.cloudiness)
    result = {"size": args.size, "months": args.months, "bands": args.bands,
              "scenes": int(refl.sizes["time"]), "chunks": args.chunks, "workers": args.workers}
    start = time.perf_counter()
    with PeakRSS() as rss, dask.config.set(scheduler="threads", num_workers=args.workers):
        comp = monthly_composite(refl, mask)
        features = terrain(dem)
        slope = features.sel(feature="slope", drop=True)
        aspect = features.sel(feature="aspect", drop=True)
        t0 = time.perf_counter()
        c = fit_c_factors(comp["reflectance"], slope, aspect).compute()
        result["pass1_fit_s"] = round(time.perf_counter() - t0, 1)
        topo = correct_topography(comp["reflectance"], slope, aspect, c)
        filled = fill_gaps(topo["reflectance"])
        layers = {"reflectance": filled["reflectance"], "gap_flag": filled["gap_flag"],
                  "terrain_shadow": topo["terrain_shadow"], "clear_count": comp["clear_count"]}
        t0 = time.perf_counter()
        if args.write:
            from hrlc.io import write_zarr

            write_zarr(xr.Dataset(layers), args.write, overwrite=True)
        else:
            da.store([v.data for v in layers.values()], [NullSink() for _ in layers],
                     lock=False)
        result["pass2_correct_fill_s"] = round(time.perf_counter() - t0, 1)
    result["wall_s"] = round(time.perf_counter() - start, 1)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 1)  # < 2 x wall: shared cores
    result["peak_rss_gb"] = round(max(rss.peak, resource.getrusage(  # GiB, as the others
        resource.RUSAGE_SELF).ru_maxrss * 1024) / 2**30, 2)
    result["mean_c"] = float(np.nanmean(c.values))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10980, help="tile side in pixels")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--bands", type=int, default=10)
    parser.add_argument("--per-month", type=int, default=3, help="scenes per month")
    parser.add_argument("--empty-month", type=int, default=4, help="month index with no scene")
    parser.add_argument("--cloudiness", type=float, default=0.3)
    parser.add_argument("--chunks", type=int, default=512)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write", default=None, help="write a Zarr store here (else no output)")
    parser.add_argument("--json", default=None, help="save the result as JSON here")
    args = parser.parse_args()
    from hrlc.benchmark import load_average, machine_facts

    start = load_average()
    result = run(args)
    result["machine"] = machine_facts(load_at_start=start)
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
