"""Options shared by several sub-commands, defined once."""

from __future__ import annotations

from pathlib import Path

import typer

Overwrite = typer.Option(False, "--overwrite", help="Replace outputs that already exist.")
#: ``-o/--output`` of the commands whose config names the output: overrides ``output:``.
OutputOverride = typer.Option(
    None, "--output", "-o", metavar="PATH",
    help="Where to write (default: the config's output:).")


def output_override(output) -> dict:
    """``load_config`` overrides for ``-o/--output`` (none when not given)."""
    return {"output": None if output is None else str(output)}
#: ``--format`` of the commands that write a monthly cube.
CubeFormat = typer.Option("zarr", "--format", help="zarr (one store) or cog (one COG per month "
                          "and layer in a folder).")


def chunks_option(default: int, *, memory: str = ""):
    """``--chunks``: the spatial chunk size, px (``memory``: what a chunk costs)."""
    return typer.Option(default, "--chunks", min=64,
                        help="Spatial chunk size in pixels" + (f" ({memory})." if memory else "."))


Scheduler = typer.Option(
    None, "--scheduler",
    help="dask scheduler: threads, processes, synchronous, local (LocalCluster) or "
    "tcp://host:port (default: the config's compute.scheduler, else threads).",
)
Workers = typer.Option(None, "--workers", min=1,
                       help="Number of dask workers (default: the config's, else all cores).")
ComputeFile = typer.Option(
    None, "--compute", exists=True, dir_okay=False,
    help="YAML of compute settings (scheduler, n_workers, threads_per_worker, "
    "memory_limit, connect_timeout), as the compute: block of the stage configs.",
)
Mapping = typer.Option(
    None, "--mapping", exists=True, dir_okay=False,
    help="YAML with band_names, quantification, boa_add_offset, datetime, sun angles for "
    "sources without Sentinel-2 metadata.",
)


AreaOfInterest = typer.Option(
    None, "--aoi", metavar="AOI",
    help="Area of interest: 'west,south,east,north' in longitude/latitude, "
    "'w,s,e,n@EPSG:32630', or a vector file in any CRS (GeoJSON, GeoPackage); only the "
    "windows of the products that cover it are read (snapped outward to 60 m).",
)
FilenamePattern = typer.Option(
    None, "--filename-pattern", metavar="PATTERN",
    help="Naming of band files: {band}, {date}, {tile} and *, e.g. "
    "'SENTINEL-2_MSI_{tile}_{band}_{date}', or the preset 'sits'.",
)


def read_options(base, *, aoi: str | None = None, filename_pattern: str | None = None):
    """Read options (``SourceOptions`` or None) with the command line's ``--aoi`` and
    ``--filename-pattern`` put in; None when there is nothing to set."""
    from hrlc.config import SourceOptions, validate_config

    given = {k: v for k, v in (("aoi", aoi), ("filename_pattern", filename_pattern)) if v}
    if not given:
        return base
    data = {**(base.model_dump() if base is not None else {}), **given}
    return validate_config(data, SourceOptions, source="command line")


def source_options(mapping: Path | None):
    """Load a mapping YAML into read_l2a options (None when not given)."""
    if mapping is None:
        return None
    from hrlc.config import SourceOptions, load_config

    return load_config(mapping, SourceOptions)


def chosen_compute(configured=None, scheduler: str | None = None, workers: int | None = None):
    """The compute settings a stage runs with: the config's ``compute:`` block (or the
    defaults) with what ``--scheduler``/``--workers`` give put in; the other settings
    (``threads_per_worker``, ``memory_limit``...) are kept."""
    from hrlc.config import ComputeConfig, validate_config

    base = configured if configured is not None else ComputeConfig()
    given = {k: v for k, v in (("scheduler", scheduler), ("n_workers", workers)) if v is not None}
    if not given:
        return base
    return validate_config({**base.model_dump(), **given}, ComputeConfig, source="command line")


def compute_from(path: Path | None, scheduler: str | None = None, workers: int | None = None):
    """:func:`chosen_compute` of a ``--compute`` YAML (None: the defaults)."""
    from hrlc.config import ComputeConfig, load_config

    return chosen_compute(load_config(path, ComputeConfig) if path else None, scheduler, workers)
