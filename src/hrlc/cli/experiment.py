"""``hrlc experiment``: a grid of training variants on one sample table, in one table."""

from __future__ import annotations

from pathlib import Path

import typer

from hrlc.cli.options import OutputOverride, output_override, Scheduler, Workers

#: Columns of the console table: (table column, header, format); the files hold them all.
CONSOLE_COLUMNS = (("OA", "OA", ".3f"), ("macro_F1", "F1", ".3f"), ("ECE", "ECE", ".3f"),
                   ("features", "feat.", "d"), ("model_size", "SVs", "d"),
                   ("fit_s", "fit s", ".2f"), ("kernel_us_per_px", "µs/px", ".3f"),
                   ("agreement", "agree", ".3f"))


def print_experiment_table(console, table, *, title: str = "experiment") -> None:
    """Print the main columns of an experiment's table (``ExperimentResult.table``), then
    the minor classes of each map; ``SVs`` holds tree nodes for a RandomForest."""
    import pandas as pd
    from rich.table import Table

    table = table.assign(model_size=table["support_vectors"].fillna(table["tree_nodes"]))
    shown = [c for c in CONSOLE_COLUMNS if c[0] in table and table[c[0]].notna().any()]
    view = Table(title=title)
    view.add_column("variant", overflow="fold")
    for key, header, _ in shown:
        view.add_column(header, justify="right", no_wrap=True)
    for _, row in table.iterrows():
        view.add_row(row["variant"], *("-" if pd.isna(row[key]) else format(
            int(row[key]) if fmt == "d" else row[key], fmt) for key, _, fmt in shown))
    console.print(view)
    for _, row in table.iterrows():
        if str(row.get("minor_classes", "-")) not in ("-", "nan", "not mapped"):
            console.print(f"minor classes of {row['variant']}: {row['minor_classes']}",
                          markup=False, highlight=False)


def experiment(
    config: Path = typer.Argument(..., exists=True, dir_okay=False,
                                  help="YAML file (see configs/experiment.yaml)."),
    output: Path | None = OutputOverride,
    restart: bool = typer.Option(False, "--restart",
                                 help="Discard the cached variants, maps and comparisons of "
                                      "an earlier run and compute everything again."),
    force: bool = typer.Option(False, "--force",
                               help="Write into an output folder that holds files an "
                                    "experiment did not write."),
    scheduler: str | None = Scheduler,
    workers: int | None = Workers,
) -> None:
    """Train a grid of variants (feature preset x selection x PCA x classifier x
    calibration, any training option) on one sample table and compare them in one table.

    Variants run as dask tasks (compute: block, or --scheduler); what they share is
    computed once, and each finished variant is cached under <output>/cache, so a rerun
    trains only new or changed variants. Writes <output>/table.md, table.csv, table.html
    (sortable) and experiment.json: OA, macro-F1, ECE, features, support vectors, fit time
    and predicted mapping cost per variant. With 'maps: true' every variant is mapped
    (<output>/maps/) and compared: agreement matrix, class distributions side by side,
    minor classes, compare-maps results against the first variant (<output>/compare/).

    Example: [bold]hrlc experiment configs/experiment.yaml --scheduler local --workers 2[/]
    """
    from rich.console import Console

    from hrlc.cli.options import chosen_compute
    from hrlc.compute import compute_context
    from hrlc.config import load_config
    from hrlc.config.experiment import ExperimentConfig
    from hrlc.pipeline.experiment import run_experiment

    run = load_config(config, ExperimentConfig,
                      overrides=output_override(output))
    compute = chosen_compute(run.compute, scheduler, workers)
    console = Console(stderr=True, soft_wrap=True)
    cube = None
    if run.maps and run.composites is not None:
        from hrlc.cli._cubes import open_feature_cube  # as `hrlc map` computes them

        cube = open_feature_cube(composites=run.composites, dem=run.dem,
                                 dem_use_nodata=run.dem_use_nodata, chunks=run.chunks,
                                 read=run.read, options=run.feature_options)
    with compute_context(compute) as client:
        result = run_experiment(run, cube=cube, restart=restart, force=force, client=client,
                                echo=lambda text: console.print(text, markup=False,
                                                                highlight=False))
    print_experiment_table(Console(), result.table, title=f"experiment {config}")
    console.print(f"wrote {', '.join(p.name for p in result.files.values())} to {run.output} "
                  f"({len(result.trained)} trained, {len(result.cached)} from the cache)")
