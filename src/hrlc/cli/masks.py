"""``hrlc masks`` (refined cloud/shadow masks per scene) and ``hrlc evaluate-masks``."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import typer

from hrlc.cli.options import (AreaOfInterest, OutputOverride, Overwrite, Scheduler, Workers,
                              output_override, read_options)

#: Tile and sensing time in a file name (product ids and truth stems alike): the match key.
_TILE = re.compile(r"(?<![A-Z0-9])T\d{2}[A-Z]{3}(?![A-Z0-9])")
_SENSING = re.compile(r"\d{8}T\d{6}")
_SUFFIXES = ("_cloud_mask", "_mask", "_scl", "_truth", "_reference", "_ref")


def _open_dem(path: str, like, *, chunks: int):
    from hrlc.geo import reproject_match
    from hrlc.io.cubes import open_dem
    from hrlc.restore import check_coverage

    dem = open_dem(path, chunks=chunks)
    check_coverage(dem, like, name=str(path))  # else no terrain shadow where it falls short
    return reproject_match(dem, like)


def _summary_rows(layers) -> list[dict]:
    """Per scene: cloud, thick, thin and shadow share of valid pixels; no data, no background."""
    import dask
    import numpy as np

    mask = layers["mask"]
    per_code = {code: (mask == code).sum(("y", "x")) for code in (1, 2, 3, 255)}
    no_bg = layers["no_background"].sum(("y", "x"))
    counts, no_bg = dask.compute(per_code, no_bg)
    total = mask.sizes["y"] * mask.sizes["x"]
    rows = []
    for i in range(mask.sizes["time"]):
        valid = max(total - int(counts[255][i]), 1)
        rows.append({
            "product": str(mask["product_name"].values[i]) if "product_name" in mask.coords
            else str(i),
            "date": str(np.datetime_as_string(mask["time"].values[i], unit="s")),
            "cloud %": (int(counts[1][i]) + int(counts[2][i])) / valid,
            "thick cloud %": int(counts[1][i]) / valid,
            "thin cloud %": int(counts[2][i]) / valid,
            "shadow %": int(counts[3][i]) / valid,
            "no data %": int(counts[255][i]) / total,
            "no background %": int(no_bg[i]) / total,
        })
    return rows


def _print_rows(rows: list[dict], *, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for key in rows[0]:
        table.add_column(key, justify="left" if isinstance(rows[0][key], str) else "right")
    for row in rows:
        table.add_row(*(f"{v:.1%}" if k.endswith("%") else f"{v:.3f}" if isinstance(v, float)
                        else str(v) for k, v in row.items()))
    Console().print(table)


def _write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _peer_names(cfg) -> tuple[str, ...]:
    """The CNN peer masks to make: for the chosen source, or all with ``peers: true``."""
    from hrlc.errors import ConfigError
    from hrlc.masks.cnn import cnn_available

    wanted = {"cnn", "combined"} if cfg.peers else {cfg.source} & {"cnn", "combined"}
    if wanted and not cnn_available():
        if cfg.source in wanted:
            raise ConfigError(f"source: {cfg.source} needs the optional extra: pip install "
                              "'hrlc[cnn]' (ukis-csmask and onnxruntime)")
        return ()
    return tuple(n for n in ("cnn", "combined") if n in wanted)


def _with_sources(layers, scenes, scl, options: dict, *, peers, scl_masks: bool):
    """Add the SCL-derived mask and the CNN peers to the refined layers (all lazy)."""
    from hrlc.masks import scl_to_mask

    base = scl_to_mask(scl, dark_area=options["dark_area"], snow=options["snow"])
    base = base.drop_vars([c for c in base.coords if c not in layers["mask"].coords])
    extra = {"scl": base.chunk(dict(zip(base.dims, layers["mask"].chunks)))}
    if peers:
        from hrlc.masks.cnn import cnn_masks, combine_masks

        cnn = cnn_masks(scenes).chunk(dict(zip(("time", "y", "x"), layers["mask"].chunks)))
        extra["cnn"] = cnn
        if "combined" in peers:
            extra["combined"] = combine_masks(base, layers["mask"], cnn)
    return layers.assign({k: v.assign_coords(layers["mask"].coords) for k, v in extra.items()})


def _write_cogs(masks, rows: list[dict], folder_root: Path, *, folder: str, suffix: str, like,
                tags: dict) -> None:
    """One COG per scene: ``<folder><product><suffix>.tif``."""
    from hrlc.io import write_cog
    from hrlc.masks.scl import MASK_COLOURS

    for i, row in enumerate(rows):
        mask = masks.isel(time=i, drop=True).rio.write_crs(like.rio.crs)
        mask = mask.rio.write_transform(like.rio.transform())
        write_cog(mask, folder_root / f"{folder}{row['product']}{suffix}.tif", nodata=255,
                  colormap=MASK_COLOURS, tags={**tags, "date": row["date"],
                  "codes": "0 clear, 1 thick cloud, 2 thin cloud, 3 cloud shadow, 255 no data"})


def masks(
    config: Path = typer.Argument(..., exists=True, dir_okay=False,
                                  help="YAML file (see configs/masks.yaml)."),
    output: Path | None = OutputOverride,
    overwrite: bool = Overwrite,
    scheduler: str | None = Scheduler,
    workers: int | None = Workers,
    aoi: str | None = AreaOfInterest,
) -> None:
    """Refined cloud/shadow masks: one COG per scene (CloudSEN12 codes) and summary.csv.

    With scl_masks: true the SCL-derived masks go to scl/ beside them (the baseline of
    hrlc evaluate-masks); with the extra hrlc\\[cnn] and peers: true the ukis-csmask CNN
    and the combined masks go to cnn/ and combined/. source (scl, refined, cnn,
    combined) chooses the main masks.

    Example: [bold]hrlc masks configs/masks.yaml --overwrite[/]

    Only a region: [bold]hrlc masks configs/masks.yaml --aoi 7.1,46.2,7.4,46.4[/]

    The output folder is written whole or not at all: scenes from several tiles or a
    scene without SCL stop the run before anything is written.
    """
    import shutil

    from rich.console import Console

    from hrlc.cli._progress import dask_progress
    from hrlc.cli.options import chosen_compute
    from hrlc.compute import compute_context
    from hrlc.config import load_config
    from hrlc.config.masks import MasksRunConfig
    from hrlc.io import read_l2a, read_scl, read_zarr, write_zarr
    from hrlc.io.atomic import atomic_output
    from hrlc.masks.refine import refine_layers, required_bands
    from hrlc.restore.sun import estimate_sun_angles

    cfg = load_config(config, MasksRunConfig,
                      overrides=output_override(output))
    cfg.read = read_options(cfg.read, aoi=aoi)
    options = cfg.masks.model_dump()
    peers = _peer_names(cfg)
    read = cfg.read
    bands = required_bands(**options)
    if peers:
        from hrlc.masks.cnn import CNN_BANDS

        bands = list(dict.fromkeys([*bands, *CNN_BANDS]))
    scenes = read_l2a(cfg.sources, bands, chunks=cfg.chunks, options=read)
    scenes = estimate_sun_angles(scenes, monthly=False)
    scl = read_scl(cfg.sources, chunks=cfg.chunks, options=read)
    dem = _open_dem(cfg.dem, scenes.isel(time=0, band=0), chunks=cfg.chunks) if cfg.dem else None
    out = Path(cfg.output)
    console = Console(stderr=True, soft_wrap=True)
    compute = chosen_compute(cfg.compute, scheduler, workers)
    with compute_context(compute) as client, atomic_output(out, overwrite=overwrite) as tmp:
        tmp.mkdir()
        with dask_progress("fitting the cloud clusters", client=client, console=console):
            layers = refine_layers(scenes, scl, dem=dem, **options)
        layers = _with_sources(layers, scenes, scl, options, peers=peers, scl_masks=cfg.scl_masks)
        with dask_progress("refining the masks", client=client, console=console):
            store = write_zarr(layers, tmp / "layers.zarr")
        layers = read_zarr(store)
        main = cfg.source if cfg.source != "refined" else "mask"
        layers = layers.assign(mask=layers[main]) if main != "mask" else layers
        rows = _summary_rows(layers)
        if rows and all(row["no data %"] >= 1.0 for row in rows):
            from hrlc.errors import InputError

            raise InputError(
                f"every pixel of all {len(rows)} scene(s) is no data (DN 0 or the nodata "
                "value, or SCL 0): the products are empty over the area read; check the "
                "sources and the area of interest with hrlc info")
        folders = {"mask": ("", "_mask")}
        folders.update({name: (f"{name}/", f"_{name}_mask") for name in ("scl", *peers)
                        if name in layers and (name != "scl" or cfg.scl_masks)})
        for name, (folder, suffix) in folders.items():
            _write_cogs(layers[name], rows, tmp, folder=folder, suffix=suffix, like=scenes,
                        tags={"method": cfg.source if name == "mask" else name,
                              "options": json.dumps(options, default=str)})
        shutil.rmtree(store)
        _write_csv(rows, tmp / "summary.csv")
    _print_rows(rows, title=f"refined masks: {out}")
    for row in rows:
        if row["cloud %"] >= 0.99:
            console.print(f"note: {row['product']} is all cloud ({row['cloud %']:.1%}); its "
                          "mask is written, its observations are unusable")
        if row["no background %"] > 0:
            console.print(f"note: {row['product']}: {row['no background %']:.1%} of the pixels "
                          f"had fewer than {options['min_clear']} clear observations "
                          f"(mask: {'SCL' if options['fallback'] == 'scl' else 'no data'})")
    console.print(f"{len(rows)} masks and summary.csv in {out}")


# --------------------------------------------------------------------------- evaluate


def _key(path: Path) -> str:
    """What matches a mask to its reference: tile and sensing time, else the bare stem."""
    tile, sensing = _TILE.search(path.name), _SENSING.search(path.name)
    if tile and sensing:
        return f"{tile.group(0)}_{sensing.group(0)}"
    stem = path.name.split(".")[0]
    for suffix in _SUFFIXES:
        stem = stem.removesuffix(suffix)
    return stem


def _mask_files(path: Path) -> dict[str, Path]:
    from hrlc.errors import InputError

    if not path.exists():
        raise InputError(f"{path}: no such file or folder; check the path")
    files = ([path] if path.is_file() else
             sorted(p for p in path.glob("*") if p.suffix.lower() in (".tif", ".tiff", ".npy")))
    if not files:
        raise InputError(f"{path}: no mask GeoTIFF (.tif) or array (.npy) in it")
    return {_key(f): f for f in files}


def _open_mask(path: Path, like=None):
    """A mask as a (y, x) DataArray; GeoTIFFs on another grid are put on ``like``'s."""
    import numpy as np
    import rioxarray
    import xarray as xr

    from hrlc.errors import GridMismatchError
    from hrlc.geo import reproject_match

    if path.suffix.lower() == ".npy":
        values = np.load(path)
        values = values[..., 0] if values.ndim == 3 and values.shape[-1] == 1 else values
        if like is not None and values.shape[-2:] != like.shape[-2:]:
            raise GridMismatchError(f"{path}: array of shape {values.shape} does not match "
                                    f"the predicted mask's {like.shape}; arrays match by shape")
        dims = ("y", "x") if values.ndim == 2 else ("time", "y", "x")
        array = xr.DataArray(values.astype(np.uint8), dims=dims)
        return array if like is None else array.assign_coords(y=like.y, x=like.x)
    array = rioxarray.open_rasterio(path, chunks={"y": 1024, "x": 1024}).isel(band=0, drop=True)
    if like is not None and like.rio.crs is not None:
        same = (array.rio.crs == like.rio.crs and array.shape == like.shape
                and np.allclose(tuple(array.rio.transform()), tuple(like.rio.transform())))
        if not same:
            array = reproject_match(array.rio.write_nodata(255), like, resampling="nearest")
    return array


def _panel_png(rgb_source: str | None, key: str, panels: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from hrlc.io.quicklook import decimate, stretch
    from hrlc.masks.scl import MASK_COLOURS as CLOUD_MASK_COLOURS

    images = {}
    if rgb_source:
        from hrlc.io import read_l2a

        cube = read_l2a([rgb_source], ["B04", "B03", "B02"])
        images["RGB"] = np.moveaxis(stretch(np.asarray(decimate(cube.isel(time=0)).values)), 0, -1)
    lut = np.zeros((256, 3), np.float32)
    for code, colour in CLOUD_MASK_COLOURS.items():
        lut[code] = np.array(colour) / 255.0
    for name, mask in panels.items():
        images[name] = lut[np.asarray(decimate(mask).values, np.uint8)]
    fig, axes = plt.subplots(1, len(images), figsize=(4 * len(images), 4.4), squeeze=False)
    for ax, (name, image) in zip(axes[0], images.items()):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(name)
        ax.set_axis_off()
    handles = [plt.Rectangle((0, 0), 1, 1, color=np.array(CLOUD_MASK_COLOURS[c]) / 255.0)
               for c in (0, 1, 2, 3, 255)]
    fig.legend(handles, ["clear", "thick cloud", "thin cloud", "shadow", "no data"],
               loc="lower center", ncol=5, frameon=False)
    fig.suptitle(key, fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    fig.savefig(path, format="png", dpi=90)
    plt.close(fig)


def evaluate_masks_command(
    pred: Path = typer.Option(..., "--pred", help="Refined mask(s): a GeoTIFF, a .npy array "
                              "or a folder of them (e.g. the output of hrlc masks)."),
    ref: Path = typer.Option(..., "--ref", help="Reference mask(s), CloudSEN12 codes; files "
                             "are matched to --pred by product id (or name)."),
    baseline: Path | None = typer.Option(None, "--baseline", help="Baseline mask(s) (e.g. "
                                         "SCL-derived) scored beside the refined ones."),
    rgb: str | None = typer.Option(None, "--rgb", help="An L2A scene (or RGB-named GeoTIFF) "
                                   "for the RGB panel of the PNG."),
    out: Path = typer.Option(Path("mask-evaluation"), "--output", "-o", "--out",
                             help="Folder for scores.json and comparison.png."),
    overwrite: bool = Overwrite,
) -> None:
    """Precision, recall, F1, IoU and confusion matrix of masks against references.

    Example: [bold]hrlc evaluate-masks --pred masks/ --ref sim/truth/cloud_mask
    --baseline scl-masks/ --out evaluation[/]

    The cnn/ and combined/ folders that hrlc masks writes with peers: true (extra
    hrlc\\[cnn]) are scored beside the refined masks when present.
    """
    from rich.console import Console

    from hrlc.errors import InputError
    from hrlc.io.atomic import atomic_output
    from hrlc.masks.evaluate import MaskScores, evaluate_masks, score_rows

    sources = {"refined": _mask_files(pred)}
    if baseline is not None:
        sources["baseline"] = _mask_files(baseline)
    for peer in ("cnn", "combined"):  # written by hrlc masks with the extra hrlc[cnn]
        if pred.is_dir() and (pred / peer).is_dir():
            sources[peer] = _mask_files(pred / peer)
    refs = _mask_files(ref)
    keys = [k for k in sources["refined"] if k in refs and all(k in s for s in sources.values())]
    if not keys:
        raise InputError(f"no mask in {pred} matches a reference in {ref} by product id or "
                         "name; name the files after their products")
    totals: dict[str, MaskScores] = {}
    shown = None
    for key in keys:
        reference = _open_mask(refs[key])
        for name, files in sources.items():
            scores = evaluate_masks(_open_mask(files[key], like=reference), reference)
            previous = totals.get(name)
            totals[name] = scores if previous is None else MaskScores(
                previous.confusion + scores.confusion)
        if shown is None or (rgb and _key(Path(rgb)) == key):
            shown = key
    rows = score_rows(totals)
    _print_rows([{k: v for k, v in r.items()} for r in rows],
                title=f"{len(keys)} mask(s) against {ref}")
    with atomic_output(out, overwrite=overwrite) as tmp:
        tmp.mkdir()
        (tmp / "scores.json").write_text(json.dumps(
            {"masks": keys, "methods": {n: s.to_dict() for n, s in totals.items()},
             "rows": rows}, indent=2))
        reference = _open_mask(refs[shown])
        panels = {"reference": reference}
        if "baseline" in sources:
            panels["baseline"] = _open_mask(sources["baseline"][shown], like=reference)
        for name in ("refined", "cnn", "combined"):
            if name in sources:
                panels[name] = _open_mask(sources[name][shown], like=reference)
        if "time" in reference.dims:
            panels = {k: v.isel(time=0) for k, v in panels.items()}
        _panel_png(rgb, shown, panels, tmp / "comparison.png")
    Console(stderr=True, soft_wrap=True).print(f"scores.json and comparison.png in {out}")
