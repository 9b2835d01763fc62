"""``hrlc features``: the feature cube (Zarr) and its feature list, from a YAML config."""

from __future__ import annotations

from pathlib import Path

import typer

from hrlc.cli.options import OutputOverride, output_override, Overwrite, Scheduler, Workers


def _write_feature_list(cube, path: Path) -> None:
    import csv

    from hrlc.io.atomic import atomic_output

    with atomic_output(path, overwrite=True) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "feature", "description"])
        for i, (name, text) in enumerate(cube.attrs["feature_descriptions"].items()):
            writer.writerow([i, name, text])


def features(
    config: Path = typer.Argument(..., exists=True, dir_okay=False,
                                  help="YAML file (see configs/features.yaml)."),
    output: Path | None = OutputOverride,
    overwrite: bool = Overwrite,
    scheduler: str | None = Scheduler,
    workers: int | None = Workers,
) -> None:
    """Build the feature cube (spectral, indices, GLCM textures, terrain) and write it.

    Writes a Zarr store (feature, y, x) float32 and a CSV feature list with descriptions.

    Example: [bold]hrlc features configs/features.yaml --overwrite[/]
    """
    import time

    from rich.console import Console

    from hrlc.cli._progress import dask_progress
    from hrlc.cli.options import chosen_compute
    from hrlc.compute import compute_context
    from hrlc.config import load_config
    from hrlc.config.features import FeaturesRunConfig
    from hrlc.cli._cubes import open_feature_cube
    from hrlc.io import write_zarr

    run = load_config(config, FeaturesRunConfig,
                      overrides=output_override(output))
    compute = chosen_compute(run.compute, scheduler, workers)
    console = Console(stderr=True, soft_wrap=True)
    output = Path(run.output)
    if output.exists() and not overwrite:
        from hrlc.errors import OutputExistsError

        raise OutputExistsError(f"{output} already exists; pass --overwrite to replace it")
    cube = open_feature_cube(composites=run.composites, dem=run.dem,
                             dem_use_nodata=run.dem_use_nodata, chunks=run.chunks,
                             read=run.read, options=run.features)
    console.print(f"{cube.sizes['feature']} features, {cube.sizes['y']} x {cube.sizes['x']} "
                  f"px -> {output}")
    start = time.perf_counter()
    with compute_context(compute) as client, dask_progress("features", client=client,
                                                            console=console):
        write_zarr(cube, output, overwrite=overwrite)
    listing = Path(run.feature_list or f"{output}.features.csv")
    _write_feature_list(cube, listing)
    console.print(f"wrote {output} and {listing} in {time.perf_counter() - start:.1f} s")

