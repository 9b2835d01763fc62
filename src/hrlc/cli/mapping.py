"""``hrlc map``: a land-cover map from a model bundle; ``hrlc compare-maps``: two maps compared."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import typer

from hrlc.cli.options import OutputOverride, output_override, Overwrite, Scheduler, Workers


def _cube(run):
    """The feature cube: a Zarr cube, or built lazily from the composites (never stored)."""
    from hrlc.cli._cubes import open_feature_cube

    return open_feature_cube(zarr=run.features, composites=run.composites, dem=run.dem,
                             dem_use_nodata=run.dem_use_nodata, chunks=run.chunks,
                             read=run.read, options=run.feature_options)


def _mask(run):
    import rioxarray

    from hrlc.io import open_header

    open_header(run.mask)
    mask = rioxarray.open_rasterio(run.mask, chunks={"x": run.chunks, "y": run.chunks})
    return mask.isel(band=0, drop=True)


def _manifest(path: Path, record: dict) -> None:
    import json

    from hrlc.io.atomic import atomic_output

    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(record, indent=2, default=str))


def map_(
    config: Path = typer.Argument(..., exists=True, dir_okay=False,
                                  help="YAML file (see configs/map.yaml)."),
    output: Path | None = OutputOverride,
    overwrite: bool = Overwrite,
    restart: bool = typer.Option(False, "--restart",
                                 help="Discard the blocks of an interrupted run instead of "
                                      "resuming from them."),
    scheduler: str | None = Scheduler,
    workers: int | None = Workers,
) -> None:
    """Map land cover with a trained model: class, probability and confidence COGs, a
    quick-look PNG and the class distribution.

    Each spatial chunk is predicted in one task (features computed on the fly from
    composites, or read from a cube) and written to a Zarr intermediate with a completion
    marker; an interrupted run resumes from the finished blocks.

    Example: [bold]hrlc map configs/map.yaml --overwrite[/]
    """
    import shutil
    import time
    from datetime import UTC, datetime

    from rich.console import Console

    from hrlc import __version__
    from hrlc.cli._progress import dask_progress
    from hrlc.cli.options import chosen_compute
    from hrlc.compute import compute_context
    from hrlc.config import load_config
    from hrlc.config.mapping import MapRunConfig
    from hrlc.io import read_zarr
    from hrlc.io.checksum import file_checksum
    from hrlc.io.cubes import decoding
    from hrlc.io.map_files import check_outputs
    from hrlc.mapping import compute_blocks, map_fingerprint, predict_map, write_map_outputs
    from hrlc.model import load_bundle

    run = load_config(config, MapRunConfig,
                      overrides=output_override(output))
    compute = chosen_compute(run.compute, scheduler, workers)
    console = Console(stderr=True, soft_wrap=True)
    output = Path(run.output)
    manifest = check_outputs(output, overwrite=overwrite)["manifest"]
    start = time.perf_counter()
    bundle = load_bundle(run.bundle)
    checksum = file_checksum(run.bundle)
    cube = _cube(run)
    mask = _mask(run) if run.mask else None
    result = predict_map(cube, bundle, mask=mask, **run.map.model_dump())
    work = Path(run.work) if run.work else output / ".hrlc-work.zarr"
    fingerprint = map_fingerprint(
        cube, bundle_sha256=checksum, options=run.map.model_dump(mode="json"),
        source=run.model_dump(mode="json", include={"features", "composites", "dem",
                                                    "feature_options"}), mask=run.mask)
    console.print(f"{bundle.kind} SVM, {len(bundle.input_features)} of "
                  f"{cube.sizes['feature']} features, {bundle.n_support_vectors} support "
                  f"vectors; {cube.sizes['y']} x {cube.sizes['x']} px -> {output}")
    with compute_context(compute) as client:
        with _block_progress(result, client, console) as on_block, \
                decoding(*([run.features] if run.features else run.composites)):
            blocks = compute_blocks(result, work, fingerprint=fingerprint, resume=not restart,
                                    on_block=on_block)
        if blocks.done_before:
            console.print(f"resumed: {blocks.done_before} of {blocks.total} blocks were done")
        tags = {"hrlc_version": __version__, "bundle": str(run.bundle),
                "bundle_sha256": checksum, "config": run.model_dump(mode="json"),
                "created": datetime.now(UTC).isoformat(timespec="seconds")}
        with dask_progress("writing", client=client, console=console):
            written = write_map_outputs(read_zarr(work), output, class_table=bundle.class_table,
                                        tags=tags, title=run.title, overwrite=overwrite)
    seconds = time.perf_counter() - start
    _manifest(manifest, {**tags, "blocks": blocks.total, "blocks_resumed": blocks.done_before,
                         "seconds": seconds, "outputs": {k: str(v) for k, v in written.items()}})
    if not run.keep_intermediate:
        shutil.rmtree(work, ignore_errors=True)
    console.print(f"wrote {', '.join(p.name for p in written.values())} to {output} in "
                  f"{seconds:.1f} s")


@contextmanager
def _block_progress(result, client, console):
    """A bar of map blocks (local schedulers), or the cluster's dashboard note."""
    from hrlc.cli._progress import count_progress, dask_progress

    if client is not None:
        with dask_progress("map", client=client, console=console):
            yield None
        return
    import numpy as np

    blocks = int(np.prod(result.classes.data.numblocks))
    with count_progress("map blocks", blocks, console=console) as advance:
        yield advance


def compare_maps_(
    map_a: Path = typer.Argument(..., exists=True, dir_okay=False, help="Class map A (GeoTIFF)."),
    map_b: Path = typer.Argument(..., exists=True, dir_okay=False,
                                 help="Class map B (GeoTIFF); put on A's grid (nearest) when "
                                      "the grids differ."),
    out: Path = typer.Option(..., "--output", "-o", "--out",
                             help="Folder of the comparison files."),
    min_overlap: float = typer.Option(
        0.5, "--min-overlap",
        help="Least share (0-1) of map A's mapped pixels that map B must map too; under it "
             "the comparison is refused."),
    overwrite: bool = Overwrite,
) -> None:
    """Compare two land-cover maps: overall and per-class agreement, cross-tabulation (pixels
    and ha), class distributions side by side, a PNG of where they disagree.

    Class names and colours come from the maps (the class table tag that `hrlc map`
    writes, or the colour table). The agreement is computed where both maps have data;
    the share of map A that covers is printed with it, and under --min-overlap nothing
    is compared.

    Example: [bold]hrlc compare-maps new/classes.tif old/classes.tif --out compare[/]
    """
    import rioxarray
    from rich.console import Console
    from rich.table import Table

    from hrlc.io import open_header
    from hrlc.mapping import compare_maps, read_class_table, write_comparison

    layers = []
    for path in (map_a, map_b):
        open_header(str(path))
        layers.append(rioxarray.open_rasterio(path, chunks={"x": 1024, "y": 1024}))
    class_table = {**read_class_table(map_b), **read_class_table(map_a)}
    result = compare_maps(*layers, class_table=class_table, min_overlap=min_overlap)
    paths = write_comparison(result, out, labels=(str(map_a), str(map_b)), overwrite=overwrite)
    console = Console()
    compared = int(result.crosstab.to_numpy().sum())
    console.print(f"overlap {100 * result.overlap:.2f} % of map A ({compared} of its "
                  f"{result.mapped_a} mapped pixels are mapped in B): the agreement is "
                  "computed there", soft_wrap=True)
    view = Table(title=f"agreement {100 * result.overall_agreement:.2f} %"
                 + (" (B reprojected onto A's grid)" if result.aligned else ""))
    for column in ("code", "class", "A ha", "B ha", "agree ha", "agree % of A"):
        view.add_column(column, justify="left" if column == "class" else "right")
    for row in result.per_class.itertuples():
        view.add_row(str(row.code), row.name, f"{row.area_a_ha:.1f}", f"{row.area_b_ha:.1f}",
                     f"{row.agree_ha:.1f}", f"{100 * row.agreement_a:.1f}")
    console.print(view)
    console.print(f"wrote {', '.join(p.name for p in paths.values())} to {out}")
