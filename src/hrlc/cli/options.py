"""Options shared by several sub-commands, defined once."""

from __future__ import annotations

from pathlib import Path

import typer

Overwrite = typer.Option(False, "--overwrite", help="Replace outputs that already exist.")
Scheduler = typer.Option(
    "threads", "--scheduler",
    help="dask scheduler: threads, processes, synchronous, local (LocalCluster) or tcp://host:port.",
)
Workers = typer.Option(None, "--workers", min=1, help="Number of dask workers (default: all cores).")
Mapping = typer.Option(
    None, "--mapping", exists=True, dir_okay=False,
    help="YAML with band_names, quantification, boa_add_offset, datetime, sun angles for "
    "sources without Sentinel-2 metadata.",
)


def source_options(mapping: Path | None):
    """Load a mapping YAML into read_l2a options (None when not given)."""
    if mapping is None:
        return None
    from hrlc.config import SourceOptions, load_config

    return load_config(mapping, SourceOptions)


def compute_config(scheduler: str, workers: int | None):
    """Validated compute settings from CLI options."""
    from hrlc.config import ComputeConfig, validate_config

    return validate_config({"scheduler": scheduler, "n_workers": workers}, ComputeConfig,
                           source="command line")


def chosen_compute(configured, scheduler: str, workers: int | None):
    """The config's ``compute:`` block unless ``--scheduler``/``--workers`` were given
    (the defaults, threads and no worker count, leave the config's choice)."""
    if scheduler == "threads" and workers is None:
        return configured
    return compute_config(scheduler, workers)
