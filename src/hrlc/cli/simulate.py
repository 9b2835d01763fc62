"""``hrlc simulate``: write a simulated L2A time series with its truth."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from hrlc.cli.options import Overwrite, Scheduler, Workers, chosen_compute


def simulate(
    out: Path = typer.Option(..., "--output", "-o", "--out",
                             help="Folder for the products and the truth."),
    size: int | None = typer.Option(None, "--size", help="Tile side in 10 m pixels, a multiple "
                                    "of 6 (10980 = full tile). Default 1020."),
    dates: int | None = typer.Option(None, "--dates", help="Number of acquisitions. Default 12."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed. Default 0."),
    format: str = typer.Option("safe", "--format",
                               help="safe (JPEG 2000 SAFE folders), safe-zip or geotiff "
                               "(SAFE folders of GeoTIFF bands, fastest)."),
    start: str | None = typer.Option(None, "--start", help="First acquisition day, "
                                     "YYYY-MM-DD. Default 2019-01-01."),
    config: Path | None = typer.Option(None, "--config", exists=True, dir_okay=False,
                                       help="YAML of simulator options (see "
                                       "configs/simulate.yaml); command-line values win."),
    clear_dates: int = typer.Option(3, "--clear-dates", min=0,
                                    help="Write clear-sky truth for this many (cloudiest) dates."),
    stac: bool = typer.Option(False, "--stac", help="Also write a STAC ItemCollection."),
    overwrite: bool = Overwrite,
    scheduler: str | None = Scheduler,
    workers: int | None = Workers,
) -> None:
    """Simulate Sentinel-2 L2A products of one tile with known truth.

    Writes one product per date (SAFE layout, real metadata, bands at 10/20/60 m, SCL
    with Sen2Cor-like errors) and, in OUT/truth, the land cover, DEM, class table,
    training polygons, per-date cloud masks (CloudSEN12 codes) and clear-sky reflectance.

    Example: [bold]hrlc simulate --out sim --size 1020 --dates 12 --seed 7 --format geotiff[/]
    """
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    from hrlc.compute import compute_context
    from hrlc.config import load_config, validate_config
    from hrlc.config.simulate import SimulateConfig
    from hrlc.io.safe_writer import write_series
    from hrlc.simulate import simulate_series

    options = load_config(config, SimulateConfig).model_dump() if config else {}
    given = {"size": size, "dates": dates, "seed": seed, "start": start}
    options.update({k: v for k, v in given.items() if v is not None})
    cfg = validate_config(options, SimulateConfig, source=str(config or "command line"))
    console = Console(stderr=True, soft_wrap=True)
    begin = time.perf_counter()
    series = simulate_series(**cfg.model_dump())
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with compute_context(chosen_compute(None, scheduler, workers)), \
            Progress(*columns, console=console, transient=True,
                     disable=not console.is_terminal) as bar:
        task = bar.add_task("simulating", total=None)

        def progress(description: str, done: int, total: int) -> None:
            bar.update(task, description=description, completed=done, total=total)

        products = write_series(series, out, format=format, overwrite=overwrite,
                                clear_dates=clear_dates, stac=stac, progress=progress)
    seconds = time.perf_counter() - begin
    console.print(f"{len(products)} {format} products of {cfg.size} x {cfg.size} px in {out}, "
                  f"truth in {out / 'truth'} ({seconds:.1f} s)")
