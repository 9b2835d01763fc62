"""``hrlc restore``: temporal gap filling, and with a DEM topographic and shadow correction."""

from __future__ import annotations

from pathlib import Path

import typer

from hrlc.cli.options import (ComputeFile, CubeFormat, Overwrite, Scheduler, Workers,
                              chunks_option, compute_from)


def _open_composites(path: Path, *, chunks: int):
    """The composites (Zarr from ``hrlc composite``, or its COG folder) as a Dataset."""
    import xarray as xr

    from hrlc.cli.composite import open_monthly
    from hrlc.io.cubes import open_zarr_store
    from hrlc.restore.sun import estimate_sun_angles

    if path.suffix == ".zarr" or (path / "zarr.json").exists() or (path / ".zgroup").exists():
        ds = open_zarr_store(path)
    else:
        ds = xr.Dataset({"reflectance": open_monthly(path, "reflectance", fmt="cog",
                                                     chunks=chunks)})
        if any(path.glob("clear_count_*.tif")):
            ds["clear_count"] = open_monthly(path, "clear_count", fmt="cog", chunks=chunks)
    # COGs keep no sun angles, and an empty month has none: estimated for the tile centre
    refl = estimate_sun_angles(ds["reflectance"], monthly=True)
    refl = refl.chunk({"time": -1, "band": -1, "y": chunks, "x": chunks})
    ds = ds.assign_coords(sun_zenith=refl["sun_zenith"], sun_azimuth=refl["sun_azimuth"])
    return ds.assign(reflectance=refl)


def _terrain(dem_path: Path, like, *, chunks: int):
    """Slope, aspect (degrees) and elevation (m) of the DEM, reprojected (bilinear) to the
    tile grid."""
    from hrlc.io.cubes import open_dem
    from hrlc.features.terrain import terrain
    from hrlc.geo import reproject_match
    from hrlc.restore import check_coverage

    dem = open_dem(dem_path, chunks=chunks)
    check_coverage(dem, like, name=str(dem_path))
    grid = like.isel(time=0, band=0, drop=True)
    features = terrain(reproject_match(dem, grid, resampling="bilinear"))
    return (features.sel(feature="slope", drop=True), features.sel(feature="aspect", drop=True),
            features.sel(feature="elevation", drop=True))


def _rows(fractions, shadow, c) -> list[dict]:
    from hrlc.composite import month_labels

    rows = []
    for i, label in enumerate(month_labels(fractions.time.values)):
        f = fractions.isel(time=i)
        row = {"month": label,
               "gap before %": float(1 - f.sel(state="observed")),
               "one side %": float(f.sel(state="one_side")),
               "both sides %": float(f.sel(state="both_sides")),
               "gap after %": float(f.sel(state="missing"))}
        if shadow is not None:
            row["terrain shadow %"] = float(shadow.values[i, 0])
            row["cast shadow %"] = float(shadow.values[i, 1])
            row["mean c"] = float(c.isel(time=i).mean())
        rows.append(row)
    return rows


def restore(
    composites: Path = typer.Argument(..., help="Monthly composites: the Zarr store (or "
                                      "COG folder) written by hrlc composite."),
    out: Path = typer.Option(..., "--output", "-o", "--out",
                             help="Output Zarr store or COG folder."),
    dem: Path | None = typer.Option(None, "--dem", exists=True, dir_okay=False,
                                    help="DEM (any CRS and resolution, must cover the tile); "
                                    "without it the topographic correction is skipped."),
    config: Path | None = typer.Option(None, "--config", exists=True, dir_okay=False,
                                       help="YAML of restore options (configs/restore.yaml)."),
    fmt: str = CubeFormat,
    chunks: int = chunks_option(
        512, memory="memory per task ~ 3 x months x bands x chunks^2 x 4 bytes"),
    overwrite: bool = Overwrite,
    scheduler: str | None = Scheduler,
    workers: int | None = Workers,
    compute: Path | None = ComputeFile,
) -> None:
    """Fill cloud gaps of monthly composites from adjacent months; correct terrain illumination.

    With --dem, terrain shadow is found per month (self-shadow from the slope, cast
    shadow by ray-marching towards the sun), lit slopes are corrected for illumination
    (C-correction fitted per month and band) and shadowed pixels get the statistics of
    lit pixels of the same surface type (shadow_correction). By default (order:
    correct_then_fill) the terrain is corrected first, so that gaps are filled from
    illumination-free neighbours. The output holds the restored reflectance, the gap flag
    (0 observed, 1 filled from one side, 2 from both, 3 missing), the terrain-shadow codes
    (0 lit, 1 self, 2 cast shadow), the C factors and the clear count.

    Example: [bold]hrlc restore composites.zarr --dem dem.tif --config configs/restore.yaml
    --out restored.zarr[/]
    """
    import xarray as xr

    from hrlc.cli.composite import open_monthly, show_summary, summary_path, write_monthly
    from hrlc.compute import compute_context
    from hrlc.config import load_config
    from hrlc.config.restore import RestoreConfig
    from hrlc.restore import fit_restoration, gap_fractions, restore_composites

    cfg = load_config(config, RestoreConfig) if config else RestoreConfig()
    options = cfg.model_dump()
    ds = _open_composites(composites, chunks=chunks)
    refl, c = ds["reflectance"], None
    with compute_context(compute_from(compute, scheduler, workers)):
        terrain, fitted = (), None
        if dem is not None:
            terrain = _terrain(dem, refl, chunks=chunks)
            # fitted first (small reductions), so the tile is not held between passes
            fitted = fit_restoration(refl, *terrain, **options)
            c = fitted.c
        result = restore_composites(refl, *terrain, fitted=fitted, **options)
        if "clear_count" in ds:
            result["clear_count"] = ds["clear_count"]
        write_monthly(result, out, fmt=fmt, overwrite=overwrite)
        fractions = gap_fractions(open_monthly(out, "gap_flag", fmt=fmt, chunks=chunks))
        codes = (open_monthly(out, "terrain_shadow", fmt=fmt, chunks=chunks)
                 if dem is not None else None)
        shadow = None if codes is None else xr.concat(
            [(codes > 0).mean(("y", "x")), (codes == 2).mean(("y", "x"))], dim="kind").T
        fractions, shadow = fractions.compute(), None if shadow is None else shadow.compute()
    show_summary(_rows(fractions, shadow, c), title=f"gaps before and after restoration: {out}",
                 path=summary_path(out), overwrite=overwrite)
