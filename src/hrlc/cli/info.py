"""``hrlc info``: what a product, band folder or raster holds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from hrlc.cli import app
from hrlc.cli.options import Mapping, source_options


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@app.command()
def info(
    path: Path = typer.Argument(..., help="SAFE folder or .zip, folder of products or band files, or a GeoTIFF."),
    mapping: Path | None = Mapping,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Summarise L2A products: tile, date, baseline, BOA offset, bands, CRS, cloud cover.

    Example: [bold]hrlc info S2B_MSIL2A_20230610T103629_N0509_R008_T32TQM_20230610T134207.zip[/]
    """
    from rich.console import Console
    from rich.table import Table

    from hrlc.io.describe import describe_scene
    from hrlc.io.l2a import discover_scenes

    facts = [describe_scene(s) for s in discover_scenes(path, source_options(mapping))]
    if as_json:
        typer.echo(json.dumps(facts, indent=2, default=str))
        return
    console = Console(width=max(Console().width, 100))
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
