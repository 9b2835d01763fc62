"""``hrlc report``: the run report of a run folder, one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import typer

from hrlc.cli.options import Overwrite


def report(
    out: Path = typer.Argument(..., help="Output folder of hrlc run (holds manifest.json)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", dir_okay=False,
        help="HTML file to write (default: OUT/report.html, replaced on every call)."),
    overwrite: bool = Overwrite,
) -> None:
    """Write the run report: one self-contained HTML page (images embedded, no script, no
    network) with the map quick-look and legend, class areas, accuracy tables, confusion
    matrix, calibration curves, training samples, cloud-mask statistics per scene, gaps
    per month, time and memory per stage, and the manifest. Sections of stages that did
    not run say so.

    Example: [bold]hrlc report hrlc-output[/]  (then open hrlc-output/report.html)
    """
    from hrlc.pipeline.report import write_run_report

    path = write_run_report(out, output, overwrite=overwrite or output is None)
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
