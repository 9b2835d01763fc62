"""``hrlc composite``: monthly composites from L2A scenes and their masks, or imported.

Also holds the output helpers ``hrlc restore`` shares: monthly outputs as Zarr or one
COG per month, and the per-month summary table (printed and saved as JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from hrlc.cli.options import (AreaOfInterest, ComputeFile, CubeFormat, FilenamePattern, Mapping,
                              Overwrite, Scheduler, Workers, chunks_option, compute_from,
                              read_options, source_options)



def write_monthly(ds, out: Path, *, fmt: str, overwrite: bool) -> Path:
    """Write a monthly Dataset: one Zarr store, or a folder with one COG per month and layer.

    COG names: ``<variable>_<YYYY-MM>.tif``; layers with a ``band`` dim keep it as bands.
    Variables without a y/x grid (fitted factors) go to the Zarr store only.
    """
    from hrlc.composite import month_labels
    from hrlc.io.cubes import open_zarr_store
    from hrlc.errors import ConfigError
    from hrlc.io import write_cog, write_zarr
    from hrlc.io.atomic import atomic_output

    if fmt == "zarr":
        return write_zarr(ds, out, overwrite=overwrite)
    if fmt != "cog":
        raise ConfigError(f"--format must be zarr or cog, got {fmt!r}")
    with atomic_output(out, overwrite=overwrite) as tmp:
        tmp.mkdir()
        for name, var in ds.data_vars.items():
            if "y" not in var.dims:
                continue
            for label, layer in zip(month_labels(ds.time.values), var.transpose("time", ...)):
                write_cog(layer.drop_vars("time"), tmp / f"{name}_{label}.tif",
                          tags={"month": label, "layer": name,
                                **{k: v for k, v in var.attrs.items() if isinstance(v, str)}})
    return out


def summary_path(out: Path) -> Path:
    """Where the summary of an output goes: ``<out without suffix>_summary.json`` beside it."""
    return out.with_name(f"{out.name.removesuffix(out.suffix) or out.name}_summary.json")


def show_summary(rows: list[dict], *, title: str, path: Path, overwrite: bool) -> None:
    """Print ``rows`` (one dict per month) as a rich table and save them as JSON."""
    from rich.console import Console
    from rich.table import Table

    from hrlc.io.atomic import atomic_output

    table = Table(title=title)
    for key in rows[0]:
        table.add_column(key, justify="left" if key == "month" else "right")
    for row in rows:
        table.add_row(*(f"{v:.1%}" if isinstance(v, float) and k.endswith("%") else
                        f"{v:.2f}" if isinstance(v, float) else str(v) for k, v in row.items()))
    Console().print(table)
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(rows, indent=2))
    Console().print(f"summary saved to {path}")


def _masks(path: Path | None, sources: list[Path], reflectance, *, chunks: int, options):
    """Cloud masks for the scenes: a Zarr, a folder of per-scene GeoTIFFs, or the SCL."""
    import xarray as xr

    from hrlc.errors import InputError
    from hrlc.io import read_scl
    from hrlc.io.cubes import open_raster, open_zarr_store
    from hrlc.masks import scl_to_mask

    if path is None:
        return scl_to_mask(read_scl(sources, chunks=chunks, options=options))
    if path.suffix == ".zarr":
        store = open_zarr_store(path)
        name = "mask" if "mask" in store else next(iter(store.data_vars))
        return store[name]
    layers = []
    for product in reflectance.product_name.values:
        found = sorted(path.glob(f"*{product}*.tif"))
        if len(found) != 1:
            raise InputError(
                f"{path}: expected one mask GeoTIFF whose name contains {product!r}, found "
                f"{len(found)}; name each mask after its product (as hrlc masks does)"
            )
        layers.append(open_raster(found[0], chunks=chunks).isel(band=0, drop=True))
    return xr.concat(layers, dim="time").assign_coords(time=reflectance.time).astype("uint8")


def _external(items: list[str], *, bands: list[str] | None, scale: float, chunks: int):
    from hrlc.composite import stack_composites
    from hrlc.errors import InputError
    from hrlc.io.cubes import open_raster, open_zarr_store

    layers = {}
    for item in items:
        month, sep, path = item.partition("=")
        if not sep:
            raise InputError(f"--external {item!r}: write MONTH=PATH, e.g. 2023-06=june.tif")
        path = Path(path)
        if path.suffix == ".zarr":
            store = open_zarr_store(path)
            layer = store["reflectance" if "reflectance" in store else next(iter(store.data_vars))]
            layer = (layer.squeeze("time", drop=True) if "time" in layer.dims else layer) * scale
        else:
            layer = open_raster(path, chunks=chunks, scale=scale)
            if bands and layer.sizes["band"] == len(bands):
                layer = layer.assign_coords(band=bands)
        layers[month] = layer
    return stack_composites(layers, bands=bands)


def composite(
    sources: list[Path] = typer.Argument(None, help="L2A scenes (SAFE, .zip, band folders, "
                                         "GeoTIFFs); omit with --external."),
    out: Path = typer.Option(..., "--output", "-o", "--out",
                             help="Output Zarr store or COG folder."),
    config: Path | None = typer.Option(None, "--config", exists=True, dir_okay=False,
                                       help="YAML of composite options (configs/composite.yaml)."),
    masks: Path | None = typer.Option(None, "--masks", exists=True, help="Cloud masks "
                                      "(CloudSEN12 codes): a Zarr (time, y, x) or a folder with "
                                      "one GeoTIFF per scene named after the product; default "
                                      "the scenes' SCL."),
    external: list[str] = typer.Option(None, "--external", help="Import a composite made "
                                       "elsewhere: MONTH=PATH (GeoTIFF or Zarr), repeatable."),
    bands: str | None = typer.Option(None, "--bands", help="Comma-separated band list (and "
                                     "names of external GeoTIFF bands without descriptions)."),
    scale: float = typer.Option(1.0, "--scale", help="Factor from external DN to reflectance "
                                "(e.g. 0.0001)."),
    fmt: str = CubeFormat,
    chunks: int = chunks_option(1024),
    mapping: Path | None = Mapping,
    filename_pattern: str | None = FilenamePattern,
    aoi: str | None = AreaOfInterest,
    overwrite: bool = Overwrite,
    scheduler: str | None = Scheduler,
    workers: int | None = Workers,
    compute: Path | None = ComputeFile,
) -> None:
    """Monthly composites (median by default) with a per-pixel clear-observation count.

    Example: [bold]hrlc composite products/ --config configs/composite.yaml --out composites.zarr[/]

    Import composites made elsewhere: [bold]hrlc composite --external 2023-05=may.tif
    --external 2023-06=june.tif --bands B02,B03,B04,B08 --scale 0.0001 --out composites.zarr[/]
    """
    from hrlc.compute import compute_context
    from hrlc.config import load_config
    from hrlc.config.composite import CompositeConfig
    from hrlc.errors import InputError

    cfg = load_config(config, CompositeConfig) if config else CompositeConfig()
    band_list = [b.strip() for b in bands.split(",")] if bands else None
    if bool(sources) == bool(external):
        raise InputError("give either L2A scenes or --external composites (not both, not none)")
    if external:
        from hrlc.restore.sun import estimate_sun_angles

        stack = estimate_sun_angles(_external(external, bands=band_list, scale=scale,
                                              chunks=chunks), monthly=True)
        ds = stack.to_dataset(name="reflectance")
    else:
        from hrlc.composite import monthly_composite
        from hrlc.io import read_l2a
        from hrlc.restore.sun import estimate_sun_angles

        options = read_options(source_options(mapping), aoi=aoi,
                               filename_pattern=filename_pattern)
        scenes = estimate_sun_angles(read_l2a(sources, band_list, chunks=chunks,
                                              options=options), monthly=False)
        mask = _masks(masks, sources, scenes, chunks=chunks, options=options)
        ds = monthly_composite(scenes, mask, **cfg.model_dump())
    with compute_context(compute_from(compute, scheduler, workers)):
        write_monthly(ds, out, fmt=fmt, overwrite=overwrite)
        rows = _composite_rows(out, fmt=fmt, chunks=chunks)
    show_summary(rows, title=f"monthly composites: {out}", path=summary_path(out),
                 overwrite=overwrite)


def open_monthly(out: Path, name: str, *, fmt: str, chunks: int):
    """Read one variable of a monthly output back (Zarr store or COG folder)."""
    import numpy as np
    import xarray as xr

    from hrlc.io.cubes import open_raster, open_zarr_store

    if fmt == "zarr":
        return open_zarr_store(out)[name]
    files = sorted(out.glob(f"{name}_*.tif"))
    months = [np.datetime64(f.stem.rsplit("_", 1)[1], "M") for f in files]
    layers = [open_raster(f, chunks=chunks).squeeze("band", drop=True)
              if name != "reflectance" else open_raster(f, chunks=chunks) for f in files]
    return xr.concat(layers, dim="time").assign_coords(
        time=np.array(months).astype("datetime64[ns]"))


def _composite_rows(out: Path, *, fmt: str, chunks: int) -> list[dict]:
    """Per month: scenes, gap fraction and mean clear observations, from the written output."""
    import dask

    from hrlc.composite import month_labels
    from hrlc.io.cubes import open_zarr_store

    has_count = ("clear_count" in open_zarr_store(out) if fmt == "zarr"
                 else any(out.glob("clear_count_*.tif")))
    if has_count:
        count = open_monthly(out, "clear_count", fmt=fmt, chunks=chunks)
        gap, mean = dask.compute((count == 0).mean(("y", "x")), count.mean(("y", "x")))
    else:  # imported composites: no count, gaps from the reflectance itself
        refl = open_monthly(out, "reflectance", fmt=fmt, chunks=chunks)
        gap, mean = refl.isnull().any("band").mean(("y", "x")).compute(), None
    scenes = open_zarr_store(out).get("n_scenes") if fmt == "zarr" else None
    rows = []
    for i, label in enumerate(month_labels(gap.time.values)):
        row = {"month": label}
        if scenes is not None:
            row["scenes"] = int(scenes.values[i])
        row["gap %"] = float(gap.values[i])
        if mean is not None:
            row["mean clear obs"] = float(mean.values[i])
        rows.append(row)
    return rows
