"""Terrain-shadow restoration and the order of gap filling and terrain correction.

On a simulated year with terrain cast shadows (``hrlc.simulate``, ``cast_shadows=True``),
whose flat-illumination clear-sky truth is known (``flat_reflectance``):

1. **Shadow correction**, on the clear-sky monthly composites (no gaps, so only terrain
   matters): RMSE against the flat-illumination truth inside the shadowed pixels
   (``terrain_shadow`` 1 self, 2 cast) before any correction, after the C-correction
   alone (which leaves shadow unchanged), and after the statistical correction with
   strata from clusters (several ``n_strata``), from the simulator's land-cover map,
   and from the truth itself (each month's clusters assigned on the flat truth: what a
   perfect assignment of shadowed pixels to strata would give); the correlation of
   reflectance with cos i over lit sloped pixels before and after.
2. **Order**: the cloudy composites restored with ``order`` ``correct_then_fill`` and
   ``fill_then_correct`` (each with and without the shadow correction), scored against
   the flat truth on observed, filled and shadowed pixel-months.

Writes ``benchmarks/results/restore_shadow.json`` and ``.md``, the figure
``docs/images/restore_shadow.png`` (from the JSON) and the block between
``<!-- shadow:start -->`` and ``<!-- shadow:end -->`` of ``docs/restore.md``.
About 2 minutes on 2 cores::

    .venv/bin/python benchmarks/eval_restore_shadow.py           # measure, write all
    .venv/bin/python benchmarks/eval_restore_shadow.py --render  # .md, figure, docs from JSON
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "restore_shadow"
FIGURE = ROOT / "docs" / "images" / "restore_shadow.png"
DOCS = ROOT / "docs" / "restore.md"
MARKERS = ("<!-- shadow:start -->", "<!-- shadow:end -->")
CORR_BANDS = ("B02", "B03", "B04", "B08", "B11", "B12")


# ---------------------------------------------------------------- data
def simulated(size: int, dates: int, seed: int) -> dict:
    """Composites (cloudy, clear-sky, flat truth), DEM, slope, aspect, land cover."""
    import dask

    from hrlc.composite import monthly_composite
    from hrlc.features.terrain import terrain
    from hrlc.simulate import simulate_series

    series = simulate_series(size=size, dates=dates, seed=seed, start="2023-01-01",
                             chunks=size, cast_shadows=True)
    always = xr.zeros_like(series.cloud_mask)

    def composite(refl, mask):
        return monthly_composite(refl.drop_vars("boa_add_offset"), mask)["reflectance"]

    cubes = dask.compute(composite(series.reflectance, series.cloud_mask),
                         composite(series.clear_reflectance, always),
                         composite(series.flat_reflectance, always), series.dem,
                         series.landcover)
    gappy, clear, flat, dem, landcover = cubes
    relief = terrain(dem)
    return {"gappy": gappy, "clear": clear, "flat": flat, "dem": dem, "landcover": landcover,
            "slope": relief.sel(feature="slope", drop=True).compute(),
            "aspect": relief.sel(feature="aspect", drop=True).compute()}


# ---------------------------------------------------------------- scores
def rmse(values: np.ndarray, truth: np.ndarray, where: np.ndarray) -> float | None:
    """RMSE over the pixel-months ``where`` (time, y, x), all bands, where both have values."""
    a, b = np.moveaxis(values, 1, -1)[where], np.moveaxis(truth, 1, -1)[where]
    ok = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
    return float(np.sqrt(((a[ok] - b[ok]) ** 2).mean())) if ok.any() else None


def shadow_scores(values, truth, codes) -> dict:
    months = [rmse(values[t:t + 1], truth[t:t + 1], codes[t:t + 1] > 0)
              for t in range(len(codes))]
    per_band = [rmse(values[:, b:b + 1], truth[:, b:b + 1], codes > 0)
                for b in range(values.shape[1])]
    return {"shadow": rmse(values, truth, codes > 0), "self": rmse(values, truth, codes == 1),
            "cast": rmse(values, truth, codes == 2), "lit": rmse(values, truth, codes == 0),
            "per_month": months, "per_band": per_band}


def correlation(values, cos_i, lit, bands) -> dict:
    """Per band, corr(reflectance, cos i) on lit sloped pixels per month, averaged."""
    out = {}
    for name in CORR_BANDS:
        b = bands.index(name)
        r = [np.corrcoef(values[t, b][m], cos_i[t][m])[0, 1] for t in range(len(cos_i))
             if (m := lit[t] & np.isfinite(values[t, b])).sum() >= 100]
        out[name] = float(np.mean(r))
    return out


# ---------------------------------------------------------------- evaluations
def _truth_strata(topo, codes, slope, flat, fit):
    """Per month, the fit's clusters assigned on the flat truth (a perfect assignment)."""
    from hrlc.restore import correct_terrain_shadow, fit_shadow_correction

    out = []
    for t in range(topo.sizes["time"]):
        centres = fit["centres"].values[t]
        one, code = topo.isel(time=[t]), codes.isel(time=[t])
        if not np.isfinite(centres[0]).all():
            out.append(one.values[0])
            continue
        logs = np.log(np.maximum(np.moveaxis(flat.values[t], 0, -1), 1e-3))
        labels = ((logs[..., None, :] - centres) ** 2).sum(-1)
        strata = xr.DataArray(np.nan_to_num(labels, nan=np.inf).argmin(-1), dims=("y", "x"),
                              coords={"y": topo.y, "x": topo.x})
        month_fit = fit_shadow_correction(one, code, slope, strata)
        out.append(correct_terrain_shadow(one, code, slope, month_fit, strata).values[0])
    return np.stack(out)


def evaluate_shadow(data: dict, strata_counts=(3, 4, 6, 8)) -> dict:
    from hrlc.restore import (correct_terrain_shadow, correct_topography, fit_c_factors,
                              fit_shadow_correction, terrain_shadow)

    clear, flat, slope, aspect = data["clear"], data["flat"], data["slope"], data["aspect"]
    codes = terrain_shadow(data["dem"], slope, aspect, sun_zenith=clear.sun_zenith,
                           sun_azimuth=clear.sun_azimuth).compute()
    c = fit_c_factors(clear, slope, aspect, codes).compute()
    topo = correct_topography(clear, slope, aspect, c, codes).compute()
    code = codes.values
    methods = {"no correction": clear.values, "C-correction only": topo["reflectance"].values}
    timing = {}
    for k in strata_counts:
        start = time.perf_counter()
        fit = fit_shadow_correction(topo["reflectance"], codes, slope, n_strata=k)
        methods[f"statistical, {k} clusters"] = correct_terrain_shadow(
            topo["reflectance"], codes, slope, fit).values
        timing[f"statistical, {k} clusters"] = time.perf_counter() - start
        if k == 4:
            methods["statistical, 4 clusters assigned on the truth"] = _truth_strata(
                topo["reflectance"], codes, slope, flat, fit)
    fit = fit_shadow_correction(topo["reflectance"], codes, slope, data["landcover"])
    methods["statistical, land-cover map"] = correct_terrain_shadow(
        topo["reflectance"], codes, slope, fit, data["landcover"]).values
    bands = [str(b) for b in clear.band.values]
    lit = (slope.values >= 2)[None] & (code == 0)
    cos_i = topo["cos_i"].values
    return {
        "months": [str(t)[:7] for t in clear.time.values],
        "sun_zenith": clear.sun_zenith.values.tolist(), "bands": bands,
        "fraction_self": (code == 1).mean((1, 2)).tolist(),
        "fraction_cast": (code == 2).mean((1, 2)).tolist(),
        "shadow_reach_m": float(codes.attrs["shadow_reach_m"]),
        "scores": {name: shadow_scores(v, flat.values, code) for name, v in methods.items()},
        "correlation": {"before": correlation(clear.values, cos_i, lit, bands),
                        "after": correlation(methods["statistical, 4 clusters"], cos_i, lit,
                                             bands)},
        "fit_seconds": timing,
    }


def evaluate_order(data: dict) -> dict:
    from hrlc.restore import ORDERS, fill_gaps, fit_restoration, restore_composites

    gappy, flat = data["gappy"], data["flat"].values
    terrain = (data["slope"], data["aspect"], data["dem"])
    filled = fill_gaps(gappy)
    flag = filled["gap_flag"].values
    rows = {"fill only (no terrain correction)": filled["reflectance"].values}
    shadow = None
    for order in ORDERS:
        for correction in ("statistical", "none"):
            options = {"order": order, "shadow_correction": correction}
            fitted = fit_restoration(gappy, *terrain, **options)
            out = restore_composites(gappy, *terrain, fitted=fitted, **options).compute()
            rows[f"{order}, shadow {correction}"] = out["reflectance"].values
            shadow = out["terrain_shadow"].values
    observed, gap = flag == 0, (flag == 1) | (flag == 2)
    return {"gap_fraction": float(gap.mean() + (flag == 3).mean()),
            "scores": {name: {"all": rmse(v, flat, flag < 3), "observed": rmse(v, flat, observed),
                              "filled": rmse(v, flat, gap),
                              "filled, shadowed": rmse(v, flat, gap & (shadow > 0)),
                              "filled, lit": rmse(v, flat, gap & (shadow == 0)),
                              "shadowed": rmse(v, flat, (flag < 3) & (shadow > 0))}
                       for name, v in rows.items()}}


# ---------------------------------------------------------------- report
def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def render(results: dict) -> str:
    meta, sh, order = results["meta"], results["shadow"], results["order"]
    lines = ["<!-- generated by benchmarks/eval_restore_shadow.py from its JSON: do not edit -->",
             f"Simulated year: {meta['size']} x {meta['size']} px, {meta['dates']} dates, seed "
             f"{meta['seed']}, terrain cast shadows on; longest shadow "
             f"{sh['shadow_reach_m']:.0f} m. "
             "Shadowed pixels per month (self / cast): " + ", ".join(
                 f"{m} {a:.1%} / {b:.1%}" for m, a, b in zip(
                     sh["months"], sh["fraction_self"], sh["fraction_cast"]) if a + b > 0) + ".",
             "", "RMSE against the flat-illumination truth (clear-sky composites, all bands):", "",
             "| method | shadowed | self-shadow | cast shadow | lit |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {name} | {_fmt(s['shadow'])} | {_fmt(s['self'])} | {_fmt(s['cast'])} | "
              f"{_fmt(s['lit'])} |" for name, s in sh["scores"].items()]
    lines += ["", "Correlation of reflectance with cos i on lit slopes (per month, averaged):", "",
              "| band | " + " | ".join(CORR_BANDS) + " |", "|---|" + "---:|" * len(CORR_BANDS)]
    for when in ("before", "after"):
        lines.append(f"| {when} | " + " | ".join(f"{sh['correlation'][when][b]:.3f}"
                                                 for b in CORR_BANDS) + " |")
    lines += ["", f"Order (cloudy composites, {order['gap_fraction']:.1%} of pixel-months "
              "without a clear observation; RMSE against the flat-illumination truth):", "",
              "| restoration | all | observed | filled | filled, shadowed | filled, lit | "
              "shadowed |", "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {name} | " + " | ".join(_fmt(s[k]) for k in (
        "all", "observed", "filled", "filled, shadowed", "filled, lit", "shadowed")) + " |"
        for name, s in order["scores"].items()]
    load = ", ".join(f"{v:.2f}" for v in meta["loadavg_start"])
    load_end = ", ".join(f"{v:.2f}" for v in meta["loadavg_end"])
    lines += ["", f"Measured {meta['when']} by `benchmarks/eval_restore_shadow.py` in "
              f"{meta['seconds']:.0f} s on {meta['cpus']} CPUs; load average (1, 5, 15 min) "
              f"{load} at the start, {load_end} at the end."]
    return "\n".join(lines)


def figure(results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sh, meta = results["shadow"], results["meta"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), constrained_layout=True)
    months = sh["months"]
    for name in ("no correction", "statistical, 4 clusters", "statistical, land-cover map"):
        values = [np.nan if v is None else v for v in sh["scores"][name]["per_month"]]
        left.plot(months, values, "o-", label=name)
    left.set_ylabel("RMSE in terrain shadow"), left.tick_params(axis="x", rotation=90)
    left.set_title("shadowed pixels vs the flat-illumination truth"), left.legend()
    bands = sh["bands"]
    x = np.arange(len(bands))
    for i, name in enumerate(("no correction", "statistical, 4 clusters")):
        right.bar(x + 0.4 * i, sh["scores"][name]["per_band"], 0.4, label=name)
    right.set_xticks(x + 0.2, bands, rotation=90), right.legend()
    right.set_title("per band, all months")
    load = ", ".join(f"{v:.2f}" for v in meta["loadavg_start"])
    fig.suptitle(f"terrain-shadow correction, simulated {meta['size']} px year "
                 f"({meta['when']}, load average {load})", fontsize=10)
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE, dpi=80)


def write_docs(text: str) -> None:
    docs = DOCS.read_text()
    start, end = (docs.index(m) for m in MARKERS)
    DOCS.write_text(docs[:start + len(MARKERS[0])] + "\n" + text + "\n" + docs[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=384, help="simulated tile side (px)")
    parser.add_argument("--dates", type=int, default=36)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--render", action="store_true", help="only write the .md, the "
                        "figure and the docs block from the JSON")
    args = parser.parse_args()
    path = RESULTS.with_suffix(".json")
    if args.render:
        results = json.loads(path.read_text())
    else:
        start, load = time.perf_counter(), os.getloadavg()
        data = simulated(args.size, args.dates, args.seed)
        results = {"shadow": evaluate_shadow(data), "order": evaluate_order(data)}
        results["meta"] = {
            "size": args.size, "dates": args.dates, "seed": args.seed, "cpus": os.cpu_count(),
            "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": time.perf_counter() - start, "loadavg_start": list(load),
            "loadavg_end": list(os.getloadavg())}
        path.write_text(json.dumps(results, indent=1))
    text = render(results)
    RESULTS.with_suffix(".md").write_text(text + "\n")
    figure(results)
    write_docs(text)
    print(text)


if __name__ == "__main__":
    main()
