"""Evaluation of the cloud/shadow mask refinement: SCL baseline vs refined, P/R/F1.

Three data sets:

1. **simulator** - ``hrlc.simulate`` seasons (known truth, Sen2Cor-like SCL errors);
2. **semi-synthetic** - real clear surfaces with simulated clouds, cirrus and shadows
   (the simulator's own fractal opacity, shadow projection and compositing) and a
   degraded SCL made by the simulator's Sen2Cor model:
   - ``aber``: the bundled real L2A scene (Aberystwyth, 947 x 930 px, sea and town),
     one real surface; each date gets a smooth per-band gain field (+-8 %) so that the
     background is not trivially the surface itself; the real DEM excludes terrain;
   - ``eolearn``: the three clear real L1C scenes of the eo-learn test patch (Slovenia,
     101 x 100 px; TOA reflectance stands in for surface reflectance), used in turn;
   With the optional extra ``hrlc[cnn]`` installed, the ukis-csmask CNN (6-band L2A model at
   30 m) and the majority combination of SCL, refined and CNN are scored beside them;
3. **real SCL vs s2cloudless** - agreement of the SCL-derived cloud mask (raw, and
   cleaned with the refinement's morphology) with s2cloudless on 36 real dates.

Usage::

    .venv/bin/python benchmarks/eval_masks.py            # writes benchmarks/results/masks_eval.*
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import dask
import numpy as np
import xarray as xr

from hrlc.io import L2A_BANDS, read_l2a
from hrlc.masks import clean_mask, evaluate_masks, refine_masks, scl_to_mask
from hrlc.masks.cnn import cnn_available, cnn_masks, combine_masks
from hrlc.masks.evaluate import MaskScores
from hrlc.simulate import landcover as lc
from hrlc.simulate import simulate_series, sun_position
from hrlc.simulate.atmosphere import cirrus_opacity, cloud_opacity, plan_skies
from hrlc.simulate.noise import fbm
from hrlc.simulate.scene import CIRRUS_SPECTRUM, CLOUD_SPECTRUM, _compose
from hrlc.simulate.sen2cor import SclErrors, sen2cor_scl
from hrlc.simulate.spectra import DIFFUSE_FRACTION
from hrlc.testing import bundled

ROOT = Path(__file__).resolve().parents[1]
EOLEARN = ROOT / "tests" / "data" / "eolearn-testeopatch"
#: Default simulator thresholds and Sen2Cor error rates (hrlc.config.simulate).
THICK, THIN, SHADOW_STRENGTH = 0.5, 0.1, 0.3
ERRORS = SclErrors(missed_thin_cloud=0.4, missed_thick_cloud=0.03, missed_shadow=0.7,
                   bright_as_cloud=0.1, dark_area=0.3)


def _scores(name: str, ref: np.ndarray, **masks: np.ndarray) -> dict:
    out = {}
    for method, mask in masks.items():
        scores = evaluate_masks(mask, ref)
        out[method] = {g: scores.group(g) for g in ("cloud", "cloud shadow")}
        out[method]["confusion"] = scores.confusion.tolist()
    print(_table({name: out}))
    return out


def _table(results: dict) -> str:
    lines = ["| data set | method | cloud P | cloud R | cloud F1 | shadow P | shadow R | shadow F1 |",
             "|---|---|---|---|---|---|---|---|"]
    for data, methods in results.items():
        for method, groups in methods.items():
            c, s = groups["cloud"], groups.get("cloud shadow", {})
            cells = [f"{c[k]:.3f}" for k in ("precision", "recall", "f1")]
            cells += [f"{s[k]:.3f}" if s and s.get("support") else "-"
                      for k in ("precision", "recall", "f1")]
            lines.append(f"| {data} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _methods(refl: xr.DataArray, scl: xr.DataArray, dem=None) -> dict[str, np.ndarray]:
    """SCL-derived, refined and, with the extra installed, CNN and combined masks."""
    base = scl_to_mask(scl)
    refined = refine_masks(refl, scl, dem=dem).compute()
    out = {"SCL": base.values, "refined": refined.values}
    if cnn_available():
        size = max(refl.sizes["y"], refl.sizes["x"])
        cnn = cnn_masks(refl.chunk({"y": size, "x": size})).compute()
        out["CNN (ukis-csmask)"] = cnn.values
        out["combined"] = combine_masks(base, refined, cnn).values
    return out


# ----------------------------------------------------------------- 1. simulator


def simulated_season(seed: int, size: int = 512, dates: int = 12, **options):
    """Reflectance, SCL, truth (CloudSEN12) and DEM of one simulated season, computed.

    ``options``: more :func:`hrlc.simulate.simulate_series` options (e.g. SCL error rates).
    """
    series = simulate_series(size=size, dates=dates, seed=seed, chunks=256, **options)
    refl, scl, truth, dem = dask.compute(series.reflectance, series.scl, series.cloud_mask,
                                         series.dem)
    return refl, scl, truth.values, dem


def simulator(seeds=(0, 1, 2), size=512, dates=12) -> dict:
    """Refined vs SCL on simulated seasons (scores summed over the seeds)."""
    totals: dict[str, np.ndarray] = {}
    for seed in seeds:
        refl, scl, truth, dem = simulated_season(seed, size, dates)
        for method, mask in _methods(refl, scl, dem).items():
            conf = evaluate_masks(mask, truth).confusion
            totals[method] = totals.get(method, 0) + conf
    return {m: {g: MaskScores(c).group(g) for g in ("cloud", "cloud shadow")}
            for m, c in totals.items()}


# ------------------------------------------------------------ 2. semi-synthetic


def _landcover(refl: xr.DataArray) -> np.ndarray:
    """Rough classes for the Sen2Cor model: water (NDWI), bright bare/built, vegetation."""
    g, r, n = (refl.sel(band=b).values for b in ("B03", "B04", "B08"))
    with np.errstate(all="ignore"):
        ndwi, ndvi = (g - n) / (g + n), (n - r) / (n + r)
    code = np.full(g.shape, lc.GRASS, np.uint8)
    code[(ndvi < 0.3) & (r > 0.08)] = lc.BUILT
    code[ndwi > 0.1] = lc.WATER
    return code


def semi_synthetic(surfaces: list[xr.DataArray], *, days: list[int], lat: float, lon: float,
                   seed: int, macro: float, gain: float = 0.08, errors: SclErrors = ERRORS):
    """A season of real clear surfaces under simulated skies (``errors``: of the SCL).

    Returns reflectance (time, band, y, x), SCL and truth (time, y, x), CloudSEN12 codes.
    """
    bands = [str(b) for b in surfaces[0].band.values]
    index = [L2A_BANDS.index(b) for b in bands]
    diffuse = DIFFUSE_FRACTION[index]
    rows, cols = surfaces[0].shape[-2:]
    window = (0, 0, rows, cols)
    start = np.datetime64("2021-04-01T11:00")
    times = [start + np.timedelta64(d, "D") for d in days]
    sun = [tuple(float(v) for v in sun_position(t, lat, lon)) for t in times]
    observed, scls, truths = [], [], []
    for t, (when, (zenith, azimuth)) in enumerate(zip(times, sun)):
        height = 500.0 + 2500.0 * ((t * 0.37) % 1.0)
        sky = plan_skies(seed=seed + t, size=max(rows, cols), macro=macro,
                         sun=[(zenith, azimuth)], cloud_cover=(0.1, 0.5),
                         clear_date_probability=0.1, cloud_height=height,
                         thin_cloud_opacity=THIN, cirrus_probability=0.3,
                         swath_edge_probability=0.0)[0]
        base = surfaces[t % len(surfaces)].values.astype(np.float32)
        field = np.stack([fbm(window, wavelength=80.0, seed=seed * 100 + t * 13 + b, octaves=2)
                          for b in range(len(bands))])
        rho = np.clip(base * (1.0 + gain * field), 0.0, 1.5).astype(np.float32)
        kw = dict(seed=seed + t, index=0, macro=macro)
        cloud = cloud_opacity(sky, window, **kw)
        shadow = cloud_opacity(sky, window, shift=sky.shadow_shift, **kw)
        cirrus = cirrus_opacity(sky, window, **kw)
        tops = (1.0 + 0.1 * fbm(window, wavelength=12.0, seed=seed + 7 * t, octaves=3)
                ).astype(np.float32)
        direct = np.ones((rows, cols), np.float32)
        _, seen = _compose(rho, direct, shadow, cloud, cirrus, tops, diffuse,
                           CLOUD_SPECTRUM[index], CIRRUS_SPECTRUM[index])
        seen = seen + np.random.default_rng(seed + t).normal(0, 0.003, seen.shape)
        truth = np.zeros((rows, cols), np.uint8)
        truth[shadow >= SHADOW_STRENGTH] = 3
        truth[1.0 - (1.0 - cloud) * (1.0 - cirrus) >= THIN] = 2
        truth[cloud >= THICK] = 1
        clear = surfaces[t % len(surfaces)]
        scl = sen2cor_scl(truth=truth, opacity=cloud, cirrus=cirrus, landcover=_landcover(clear),
                          red=rho[bands.index("B04")], nir=rho[bands.index("B08")],
                          cell_window=window, errors=errors, seed=seed, index=t)
        nodata = ~np.isfinite(base).all(axis=0)
        seen[:, nodata] = np.nan
        truth[nodata], scl[nodata] = 255, 0
        observed.append(seen.astype(np.float32))
        scls.append(scl)
        truths.append(truth)
    coords = {"time": np.array(times, "datetime64[ns]"), "band": bands,
              "y": surfaces[0].y.values, "x": surfaces[0].x.values,
              "sun_zenith": ("time", [s[0] for s in sun]),
              "sun_azimuth": ("time", [s[1] for s in sun])}
    refl = xr.DataArray(np.stack(observed), dims=("time", "band", "y", "x"), coords=coords)
    crs = surfaces[0].rio.crs
    refl = refl.rio.write_crs(crs) if crs is not None else refl
    scl = xr.DataArray(np.stack(scls), dims=("time", "y", "x"))
    return refl, scl, np.stack(truths)


def aber_season(seed: int = 11, errors: SclErrors = ERRORS):
    """Reflectance, SCL, truth and DEM of the semi-synthetic aber season."""
    from hrlc.geo import reproject_match
    import rioxarray

    surface = read_l2a([bundled("aber", "sen2_20210527_aber_10band.tif")]).isel(time=0)
    surface = surface.load()
    dem = rioxarray.open_rasterio(bundled("aber", "srtm_aber_10m.tif")).isel(band=0, drop=True)
    dem = reproject_match(dem.astype(np.float32), surface.isel(band=0)).load()
    refl, scl, truth = semi_synthetic([surface], days=list(range(0, 180, 15)), lat=52.41,
                                      lon=-4.08, seed=seed, macro=600.0, errors=errors)
    return refl, scl, truth, dem


def aber(seed: int = 11) -> dict:
    refl, scl, truth, dem = aber_season(seed)
    return _scores("aber", truth, **_methods(refl, scl, dem))


def eolearn_season(seed: int = 5, errors: SclErrors = ERRORS):
    """Reflectance, SCL and truth (no DEM: None) of the semi-synthetic eo-learn season."""
    scenes = np.load(EOLEARN / "REFERENCE_SCENES.npy")
    order = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10",
             "B11", "B12"]
    keep = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
    rows, cols = scenes.shape[1:3]
    coords = {"band": keep, "y": 5080254.63 - 10 * np.arange(rows) - 5,
              "x": 465181.05 + 10 * np.arange(cols) + 5}
    surfaces = [xr.DataArray(np.moveaxis(scenes[t][..., [order.index(b) for b in keep]], -1, 0),
                             dims=("band", "y", "x"), coords=coords).rio.write_crs("EPSG:32633")
                for t in (2, 3, 4)]  # the three clear scenes
    refl, scl, truth = semi_synthetic(surfaces, days=list(range(0, 180, 15)), lat=45.86,
                                      lon=14.55, seed=seed, macro=360.0, errors=errors)
    return refl, scl, truth, None


def eolearn(seed: int = 5) -> dict:
    refl, scl, truth, _ = eolearn_season(seed)
    return _scores("eolearn L1C", truth, **_methods(refl, scl))


# ------------------------------------------------------- 3. real SCL vs s2cloudless


def scl_vs_s2cloudless() -> dict:
    scl = np.load(EOLEARN / "scl_2016_2017" / "SCL.npy")[..., 0].astype(np.uint8)
    clm = np.load(EOLEARN / "scl_2016_2017" / "CLM.npy")[..., 0].astype(np.uint8)
    from_scl = scl_to_mask(xr.DataArray(scl, dims=("time", "y", "x"))).values
    cleaned = clean_mask((from_scl == 1) | (from_scl == 2), opening=1, closing=2, buffer=0)
    as_cloud = {"SCL": from_scl, "SCL + morphology": np.where(cleaned, 1, from_scl * 0)}
    ref = clm  # s2cloudless: 1 cloud, 0 clear (no shadow class)
    out = {}
    for method, mask in as_cloud.items():
        scores = evaluate_masks(np.where(mask == 3, 0, mask), ref)
        out[method] = {"cloud": scores.group("cloud")}
    print(_table({"eo-learn real SCL vs s2cloudless": out}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "masks_eval"))
    parser.add_argument("--quick", action="store_true", help="one simulated season only")
    args = parser.parse_args()
    begin = time.perf_counter()
    results = {
        "simulator (3 seasons, 512 px, 12 dates)" if not args.quick else "simulator":
            simulator(seeds=(0,) if args.quick else (0, 1, 2)),
        "semi-synthetic aber (real L2A, 12 dates)": aber(),
        "semi-synthetic eo-learn (real L1C, 12 dates)": eolearn(),
        "real eo-learn SCL vs s2cloudless (36 dates)": scl_vs_s2cloudless(),
    }
    table = _table(results)
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2, default=float))
    out.with_suffix(".md").write_text(table + "\n")
    print(f"{time.perf_counter() - begin:.0f} s; written {out}.json and .md")


if __name__ == "__main__":
    main()
