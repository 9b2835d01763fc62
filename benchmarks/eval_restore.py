"""Evaluate cloud restoration on real and simulated data; print Markdown tables.

1. **Real NDVI** (tests/data/eolearn-testeopatch: 68 dates 2015-2017, s2cloudless masks):
   monthly median composites of the clear observations; observed pixel-months are
   hidden at random and in cloud-shaped blobs (and whole months), restored, and scored
   (MAE/RMSE against the hidden values) beside leaving the gap, the month's mean over
   the patch (what an imputer does with a left gap) and a per-pixel seasonal median.
2. **Simulated series** (``hrlc.simulate``, known clear-sky truth): the same per band,
   plus the natural gaps (no clear observation in the month) scored against the
   clear-sky composite.
3. **Topographic correction**: correlation of reflectance with cos i before and after
   the C-correction, per band, on the simulated tile (terrain illumination built in)
   and on the real Aberystwyth scene with its DEM.

Example: ``.venv/bin/python benchmarks/eval_restore.py --json eval.json``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter

from hrlc.composite import monthly_composite
from hrlc.restore import correct_topography, fill_gaps, fit_c_factors

ROOT = Path(__file__).resolve().parents[1]
PATCH = ROOT / "tests" / "data" / "eolearn-testeopatch"
SEASON = np.array([0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0])  # DJF, MAM, JJA, SON by month - 1


# ---------------------------------------------------------------- inputs
def eolearn_ndvi() -> tuple[xr.DataArray, xr.DataArray]:
    """NDVI scenes (time, band=NDVI, y, x) and CloudSEN12-style masks of the real patch."""
    ndvi = np.load(PATCH / "NDVI.npy")[..., 0]
    cloud = np.load(PATCH / "CLM.npy")[..., 0]
    data = np.load(PATCH / "IS_DATA.npy")[..., 0]
    times = np.array(json.loads((PATCH / "timestamps.json").read_text()), "datetime64[ns]")
    ny, nx = ndvi.shape[1:]
    # the bbox split into 100 columns x 101 rows (see SOURCE.md)
    coords = {"time": times, "y": 5_080_254.63 - 1009.74 / ny * (np.arange(ny) + 0.5),
              "x": 465_181.05 + 999.48 / nx * (np.arange(nx) + 0.5)}
    scenes = xr.DataArray(ndvi[:, None], dims=("time", "band", "y", "x"),
                          coords={**coords, "band": ["NDVI"]}).rio.write_crs(32633)
    codes = np.where(data == 0, 255, np.where(cloud == 1, 1, 0)).astype(np.uint8)
    return scenes, xr.DataArray(codes, dims=("time", "y", "x"), coords=coords)


def simulated(size: int, seed: int):
    """A simulated year (36 dates), its composites and the clear-sky composites."""
    from hrlc.simulate import simulate_series

    series = simulate_series(size=size, dates=36, seed=seed, start="2023-01-01", chunks=size)
    refl = series.reflectance.drop_vars(["boa_add_offset"])
    comp = monthly_composite(refl, series.cloud_mask)
    always = xr.zeros_like(series.cloud_mask)
    truth = monthly_composite(series.clear_reflectance.drop_vars(["boa_add_offset"]), always)
    return series, comp.compute(), truth["reflectance"].compute()


# ---------------------------------------------------------------- hiding
def hide_random(observed: np.ndarray, fraction: float, rng) -> np.ndarray:
    """(time, y, x) bool: a random ``fraction`` of the observed pixel-months."""
    return observed & (rng.random(observed.shape) < fraction)


def hide_blobs(observed: np.ndarray, fraction: float, rng, sigma: float = 6.0) -> np.ndarray:
    """(time, y, x) bool: cloud-shaped blobs covering ``fraction`` of each month."""
    hidden = np.zeros_like(observed)
    for t in range(observed.shape[0]):
        field = gaussian_filter(rng.standard_normal(observed.shape[1:]), sigma)
        hidden[t] = field > np.quantile(field, 1 - fraction)
    return hidden & observed


def hide_months(observed: np.ndarray, count: int, rng) -> np.ndarray:
    """(time, y, x) bool: ``count`` whole months (not the first or last), as if no scene."""
    months = rng.choice(np.arange(1, observed.shape[0] - 1), count, replace=False)
    hidden = np.zeros_like(observed)
    hidden[months] = True
    return hidden & observed


# ---------------------------------------------------------------- methods
def restored(cube: xr.DataArray, reach: int) -> np.ndarray:
    return fill_gaps(cube, reach=reach)["reflectance"].values


def month_mean(cube: xr.DataArray) -> np.ndarray:
    """Each gap gets the mean of the month's observed pixels (per band)."""
    values = cube.values
    with np.errstate(invalid="ignore"), _quiet():
        mean = np.nanmean(values, axis=(2, 3), keepdims=True)
    return np.where(np.isfinite(values), values, mean)


def seasonal_median(cube: xr.DataArray) -> np.ndarray:
    """Each gap gets the pixel's median over the observed months of the same season."""
    values = cube.values
    season = SEASON[cube.time.dt.month.values - 1]
    out = values.copy()
    for s in range(4):
        members = season == s
        if members.any():
            with _quiet():
                median = np.nanmedian(values[members], axis=0)
            out[members] = np.where(np.isfinite(values[members]), values[members], median)
    return out


class _quiet:
    """Silence numpy's all-NaN warnings (those pixels simply stay NaN)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def score(prediction: np.ndarray, truth: np.ndarray, where: np.ndarray) -> dict:
    """Coverage, MAE and RMSE of ``prediction`` at ``where`` (time, y, x), over all bands."""
    pred = np.moveaxis(prediction, 1, -1)[where]
    true = np.moveaxis(truth, 1, -1)[where]
    ok = np.isfinite(pred).all(-1) & np.isfinite(true).all(-1)
    if not ok.any():
        return {"coverage": 0.0, "mae": None, "rmse": None}
    err = pred[ok] - true[ok]
    return {"coverage": float(ok.mean()), "mae": float(np.abs(err).mean()),
            "rmse": float(np.sqrt((err ** 2).mean()))}


def compare(cube: xr.DataArray, truth: np.ndarray, hidden: np.ndarray) -> dict:
    """Scores of every method at the hidden pixel-months (truth: the values hidden)."""
    gappy = cube.where(~xr.DataArray(hidden, dims=("time", "y", "x")))
    methods = {"leave gap": gappy.values, "month mean (imputer)": month_mean(gappy),
               "seasonal median": seasonal_median(gappy)}
    for reach in (1, 2, 3):
        methods[f"restore reach {reach}"] = restored(gappy, reach)
    common = hidden & np.all([np.isfinite(v).all(1) for k, v in methods.items()
                              if k != "leave gap"], axis=0)
    out = {}
    for name, values in methods.items():
        out[name] = score(values, truth, hidden)
        out[name]["mae_common"] = score(values, truth, common)["mae"]
    return out


def table(title: str, results: dict) -> str:
    lines = [f"\n### {title}\n", "| method | restored | MAE | RMSE | MAE on pixels all fill |",
             "|---|---:|---:|---:|---:|"]
    fmt = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
    for name, r in results.items():
        lines.append(f"| {name} | {r['coverage']:.1%} | {fmt(r['mae'])} | {fmt(r['rmse'])} | "
                     f"{fmt(r['mae_common'])} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- evaluations
def evaluate_real(rng, fraction: float) -> dict:
    scenes, mask = eolearn_ndvi()
    cube = monthly_composite(scenes, mask)["reflectance"].compute()
    observed = np.isfinite(cube.values).all(1)
    natural = fill_gaps(cube)["gap_flag"].values
    results = {"months": int(cube.sizes["time"]), "gap_before": float(1 - observed.mean()),
               "gap_after_reach1": float((natural == 3).mean())}
    for name, hidden in (("random", hide_random(observed, fraction, rng)),
                         ("blobs", hide_blobs(observed, fraction, rng)),
                         ("whole months", hide_months(observed, 4, rng))):
        results[name] = compare(cube, cube.values, hidden)
    return results


def evaluate_simulated(rng, fraction: float, size: int, seed: int) -> dict:
    series, comp, truth = simulated(size, seed)
    cube = comp["reflectance"]
    observed = np.isfinite(cube.values).all(1)
    results = {"gap_before": float(1 - observed.mean())}
    natural = ~observed & np.isfinite(truth.values).all(1)
    results["natural gaps"] = compare(cube, truth.values, np.zeros_like(observed)) | {
        name: score(values, truth.values, natural) for name, values in (
            ("leave gap", cube.values), ("month mean (imputer)", month_mean(cube)),
            ("seasonal median", seasonal_median(cube)), ("restore reach 1", restored(cube, 1)),
            ("restore reach 2", restored(cube, 2)), ("restore reach 3", restored(cube, 3)))}
    for entry in results["natural gaps"].values():
        entry.setdefault("mae_common", None)
    results["blobs"] = compare(cube, cube.values, hide_blobs(observed, fraction, rng))
    per_band = {}
    hidden = hide_blobs(observed, fraction, rng)
    gappy = cube.where(~xr.DataArray(hidden, dims=("time", "y", "x")))
    filled = restored(gappy, 1)
    for i, band in enumerate(cube.band.values):
        per_band[str(band)] = score(filled[:, i:i + 1], cube.values[:, i:i + 1], hidden)
    results["per band, blobs, reach 1"] = per_band
    results["topographic"] = topographic_simulated(series, truth)
    return results


def _correlations(cube: xr.DataArray, slope, aspect) -> dict:
    """Per band, corr(reflectance, cos i) per month on lit slopes, averaged over months.

    Pooling months would mix the seasonal change of reflectance with that of the sun
    and show a correlation neither has, so each month is taken on its own.
    """
    c = fit_c_factors(cube, slope, aspect).compute()
    out = correct_topography(cube, slope, aspect, c)
    cos_i = out["cos_i"].values
    lit = (slope.values >= 2)[None] & (cos_i > 0.1) & (out["terrain_shadow"].values == 0)
    rows = {}
    for i, band in enumerate(cube.band.values):
        before, after = [], []
        for t in range(cube.sizes["time"]):
            x0, x1 = cube.values[t, i], out["reflectance"].values[t, i]
            ok = lit[t] & np.isfinite(x0) & np.isfinite(x1)
            if ok.sum() >= 100 and np.isfinite(c.values[t, i]):
                before.append(np.corrcoef(x0[ok], cos_i[t][ok])[0, 1])
                after.append(np.corrcoef(x1[ok], cos_i[t][ok])[0, 1])
        if before:
            rows[str(band)] = {"before": float(np.mean(before)), "after": float(np.mean(after)),
                               "max |after|": float(np.max(np.abs(after))),
                               "months": len(before),
                               "mean c": float(np.nanmean(c.values[:, i]))}
    return rows


def topographic_simulated(series, truth: xr.DataArray) -> dict:
    """On the clear-sky composites of the simulated tile, so clouds do not blur the signal."""
    from hrlc.features.terrain import terrain

    features = terrain(series.dem)
    slope = features.sel(feature="slope", drop=True).compute()
    aspect = features.sel(feature="aspect", drop=True).compute()
    cube = truth.sel(band=["B02", "B03", "B04", "B08", "B11", "B12"])
    return _correlations(cube, slope, aspect)


def topographic_aber() -> dict:
    """The real Aberystwyth scene (2021-05-27 11:06 UTC) and its 10 m DEM."""
    import rioxarray

    from hrlc.features.terrain import terrain
    from hrlc.io import read_l2a
    from hrlc.restore.sun import estimate_sun_angles
    from hrlc.testing import bundled

    scene = estimate_sun_angles(read_l2a(bundled("aber", "sen2_20210527_aber_10band.tif")),
                                monthly=False).compute()
    dem = rioxarray.open_rasterio(bundled("aber", "srtm_aber_10m.tif"), masked=True)
    features = terrain(dem.isel(band=0, drop=True).astype("float32"))
    slope = features.sel(feature="slope", drop=True).compute()
    aspect = features.sel(feature="aspect", drop=True).compute()
    cube = scene.sel(band=["B02", "B03", "B04", "B08", "B11", "B12"])
    rows = _correlations(cube, slope.assign_coords(y=cube.y, x=cube.x),
                         aspect.assign_coords(y=cube.y, x=cube.x))
    return {"sun_zenith": float(scene.sun_zenith[0]), "sun_azimuth": float(scene.sun_azimuth[0]),
            "bands": rows}


def report(results: dict) -> str:
    parts = ["## Real NDVI (eolearn-testeopatch, monthly medians)",
             f"{results['real']['months']} months; gaps before restoration "
             f"{results['real']['gap_before']:.1%}, after (reach 1) "
             f"{results['real']['gap_after_reach1']:.1%}."]
    for name in ("random", "blobs", "whole months"):
        parts.append(table(f"hidden: {name} (NDVI units)", results["real"][name]))
    if "simulated" in results:
        sim = results["simulated"]
        parts.append(f"\n## Simulated year (gaps before {sim['gap_before']:.1%})")
        parts.append(table("natural gaps vs clear-sky truth (reflectance)", sim["natural gaps"]))
        parts.append(table("hidden blobs (reflectance)", sim["blobs"]))
        parts += ["\n### per band, hidden blobs, reach 1\n", "| band | MAE | RMSE |",
                  "|---|---:|---:|"]
        parts += [f"| {b} | {r['mae']:.4f} | {r['rmse']:.4f} |"
                  for b, r in sim["per band, blobs, reach 1"].items()]
        parts.append(_topo_table("simulated tile, clear-sky composites", sim["topographic"]))
    if "aber" in results:
        aber = results["aber"]
        parts.append(_topo_table(f"Aberystwyth, real scene (sun zenith {aber['sun_zenith']:.1f}"
                                 f", azimuth {aber['sun_azimuth']:.1f})", aber["bands"]))
    return "\n".join(parts)


def _topo_table(title: str, rows: dict) -> str:
    lines = [f"\n### topographic correction: {title}\n",
             "| band | months | corr(rho, cos i) before | after | max abs after | mean c |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {b} | {r['months']} | {r['before']:.3f} | {r['after']:.3f} | "
              f"{r['max |after|']:.3f} | {r['mean c']:.2f} |" for b, r in rows.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=0.2, help="share hidden")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sim-size", type=int, default=384, help="simulated tile side (px)")
    parser.add_argument("--no-sim", action="store_true", help="skip the simulated series")
    parser.add_argument("--json", default=None, help="save all figures as JSON here")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    results = {"real": evaluate_real(rng, args.fraction), "aber": topographic_aber()}
    if not args.no_sim:
        results["simulated"] = evaluate_simulated(rng, args.fraction, args.sim_size, args.seed)
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
