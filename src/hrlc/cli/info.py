"""``hrlc info``: what a product, band folder or raster holds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from hrlc.cli.options import AreaOfInterest, FilenamePattern, Mapping, read_options, source_options


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def print_manifest(manifest: dict, console) -> None:
    """A run's manifest as tables: stages (time, memory, outputs), scenes, software; for a
    run with tiles, each tile's in turn."""
    from rich.table import Table

    if "tiles" in manifest:
        from hrlc.pipeline import read_manifest

        for name, entry in manifest["tiles"].items():
            console.print(f"[bold]tile {name}[/]: {entry['status']}, {entry['output']}")
            print_manifest(read_manifest(Path(entry["output"]), strict=True), console)
        return

    stages = Table(title=f"run {manifest.get('config_source', '')} "
                   f"(config {manifest.get('config_hash', '-')})", title_justify="left")
    for column in ("stage", "status", "seconds", "peak RSS (MiB)", "outputs"):
        stages.add_column(column)
    for name, record in manifest.get("stages", {}).items():
        outputs = ", ".join(f"{o['path']} ({o['bytes'] / 1e6:.1f} MB)"
                            for o in record.get("outputs", []))
        stages.add_row(name, record.get("status", "-"), _fmt(record.get("seconds")),
                       _fmt(record.get("peak_rss_mb")), outputs)
    console.print(stages)
    scenes = Table(title="scenes", title_justify="left")
    for column in ("product", "sensing time", "baseline", "BOA offset"):
        scenes.add_column(column)
    for scene in manifest.get("scenes", []):
        scenes.add_row(scene["product"], scene["sensing_time"][:19],
                       _fmt(scene.get("processing_baseline")), _fmt(scene.get("boa_add_offset")))
    console.print(scenes)
    software = manifest.get("software", {})
    console.print("software: " + ", ".join(f"{k} {v}" for k, v in software.items() if v))
    console.print(f"seeds: {manifest.get('seeds', {})}")


def _notes(path: Path, scenes, options) -> list[str]:
    """What a user should know beyond each scene's facts: files skipped in a band
    folder, and the window an area of interest selects."""
    from hrlc.io.folders import scan_band_folder
    from hrlc.io.l2a import describe_window

    from hrlc.config import SourceOptions

    defaults = options if options is not None else SourceOptions()
    notes = []
    if path.is_dir() and scenes and scenes[0].kind == "band-folder":
        skipped = scan_band_folder(path, defaults).skipped
        if skipped:
            notes.append(f"{len(skipped)} raster file(s) skipped, their names match no band "
                         f"file pattern: {', '.join(skipped[:5])}"
                         + (" ..." if len(skipped) > 5 else ""))
    if defaults.aoi is not None:
        notes.append(describe_window(scenes, defaults))
    return notes


def info(
    path: Path = typer.Argument(..., help="SAFE folder or .zip, folder of products or band files, a GeoTIFF, or STAC items (.json)."),
    mapping: Path | None = Mapping,
    filename_pattern: str | None = FilenamePattern,
    aoi: str | None = AreaOfInterest,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Summarise L2A products (tile, date, baseline, BOA offset, bands, CRS, cloud cover),
    or a run folder of ``hrlc run`` (its manifest: stages, time, memory, outputs).

    Example: [bold]hrlc info S2B_MSIL2A_20230610T103629_N0509_R008_T32TQM_20230610T134207.zip[/]
    """
    from rich.console import Console
    from rich.table import Table

    from hrlc.pipeline import MANIFEST, read_manifest

    if (path / MANIFEST).is_file():
        manifest = read_manifest(path, strict=True)
        if as_json:
            typer.echo(json.dumps(manifest, indent=2, default=str))
        else:
            print_manifest(manifest, Console(width=max(Console().width, 120)))
        return
    from hrlc.io.describe import describe_scene  # products: rasterio, dask
    from hrlc.io.l2a import discover_scenes

    options = read_options(source_options(mapping), aoi=aoi, filename_pattern=filename_pattern)
    scenes = discover_scenes(path, options)
    facts = [describe_scene(s) for s in scenes]
    notes = _notes(path, scenes, options)
    if as_json:
        typer.echo(json.dumps(facts if not notes else {"scenes": facts, "notes": notes},
                              indent=2, default=str))
        return
    console = Console(width=max(Console().width, 100))
    for note in notes:
        console.print(note, highlight=False, markup=False, soft_wrap=True)
    for item in facts:
        table = Table(title=str(item["product"]), show_header=False, title_justify="left")
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        for key, value in item.items():
            if key == "product":
                continue
            if key in ("bands", "scl") and isinstance(value, dict):
                value = ", ".join(f"{b} {'/'.join(f'{r:g}' for r in res)} m"
                                  for b, res in value.items())
            elif key == "scl":
                value = "/".join(f"{r:g} m" for r in value) or "absent"
            table.add_row(key.replace("_", " "), _fmt(value))
        console.print(table)
