"""``hrlc bench``: every stage's benchmark at one size, and the table of the latest results."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer



def _write(path: Path, text: str) -> None:
    from hrlc.io.atomic import atomic_output

    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(text)


def _save(rows: list[dict], *, results: Path, markdown_path: Path, command: str, console,
          root: Path | None = None) -> None:
    """Write bench_all.json and RESULTS.md (atomically), refresh the figures of the source
    tree ``root`` (README, docs), and show the table."""
    from rich.table import Table

    from hrlc.bench_suite import markdown, payload
    from hrlc.bench_suite.results import COLUMNS, table_cells

    _write(results / "bench_all.json", json.dumps(payload(rows, command=command), indent=2) + "\n")
    _write(markdown_path, markdown(rows, command=command))
    if root is not None:
        _refresh_generated(results, root, console)
    table = Table(title="latest result per stage")
    # when, where, notes and the result file are in the Markdown
    shown = COLUMNS[:COLUMNS.index("measured")]
    for column in shown:
        table.add_column(column, justify="right" if column.endswith(("s", "GB")) else "left")
    for row in rows:
        table.add_row(*table_cells(row)[:len(shown)])
    console.print(table)
    console.print(f"wrote {results / 'bench_all.json'} and {markdown_path}")


def _refresh_generated(results: Path, root: Path, console) -> None:
    """Regenerate the results blocks of the README and the docs (``GENERATED``) from the
    result files, in each file that has one."""
    from hrlc.bench_suite.readme import BEGIN, GENERATED, replace_section

    for name, render in GENERATED.items():
        path = root / name
        text = path.read_text() if path.is_file() else ""
        if BEGIN not in text:
            continue
        try:
            text = replace_section(text, render(results))
        except (OSError, KeyError, ValueError, StopIteration) as exc:
            console.print(f"[yellow]{name} figures not refreshed[/]: {type(exc).__name__}: {exc}")
            continue
        _write(path, text)
        console.print(f"refreshed the figures in {path}")


def bench(
    stage_names: list[str] | None = typer.Argument(
        None, metavar="[STAGES]...", show_default=False,
        help="Stages to run (also --stages): simulate, masks (GeoTIFF products), masks_jp2 "
        "(JPEG 2000 SAFE products), composite, features, glcm, train, predict, map, chain "
        "(a tile-year end to end with hrlc run: hours on a "
        "full tile, so run only when named). Default: all but chain."),
    stages: list[str] | None = typer.Option(
        None, "--stages", show_default=False,
        help="Stages to run: repeat the option, list them after it or give a comma list "
        "(--stages composite,features)."),
    size: int = typer.Option(10980, "--size", min=64,
                             help="Tile side, px (10980 = a full tile). Stages that write "
                             "products round it down to a multiple of 6, map to a multiple "
                             "of 4; predict uses a chunk of at most 1000 x 1000 px; train "
                             "scales its 20,000 samples by area (at least 1,000)."),
    dates: int | None = typer.Option(None, "--dates", min=1,
                                     help="Acquisitions for simulate, masks and chain "
                                     "(default: the scripts' own, 2, 8 and 36)."),
    workers: int | None = typer.Option(None, "--workers", min=1,
                                       help="dask workers / BLAS threads (default: the "
                                       "scripts' own, 2)."),
    data: Path | None = typer.Option(None, "--data",
                                     help="Folder for simulated inputs kept between runs "
                                     "(default: TMPDIR/hrlc-bench)."),
    results: Path | None = typer.Option(None, "--results",
                                        help="Results folder (default: BENCHMARKS/results)."),
    markdown_path: Path | None = typer.Option(None, "--markdown",
                                              help="Markdown table (default: "
                                              "BENCHMARKS/RESULTS.md)."),
    benchmarks: Path | None = typer.Option(None, "--benchmarks",
                                           help="The benchmarks/ folder of the source tree "
                                           "(default: the checkout hrlc runs from)."),
    from_results: bool = typer.Option(False, "--from-results",
                                      help="Run nothing: rebuild the table from the result "
                                      "JSONs already in the results folder."),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="Print the commands that would run, and stop."),
) -> None:
    """Benchmark every stage on a simulated tile; keep a table of the latest results.

    Each stage's script in benchmarks/ runs in a child process at --size.
    Its JSON goes to RESULTS/suite/STAGE-SIZE.json, its output to a .log beside it.
    The table (wall time, peak RSS, CPU time, the reference chain's figures, the
    targets, the size and date of each measurement) goes to RESULTS/bench_all.json
    and RESULTS.md. A stage not run keeps its latest result, also one written by
    running its script by hand (e.g. results/masks.json).

    Example: [bold]nice -n 19 hrlc bench --size 1024 --stages composite,features[/]

    After [bold]python benchmarks/bench_masks.py[/]: [bold]hrlc bench --from-results[/]
    """
    from rich.console import Console

    from hrlc.bench_suite import (Options, check_benchmarks, default_benchmarks, file_rows,
                                  latest, plan, previous_rows, select)
    from hrlc.errors import HrlcError, InputError

    console = Console(stderr=True, soft_wrap=True)
    benchmarks = (benchmarks or default_benchmarks()).resolve()
    results = (results or benchmarks / "results").resolve()
    # the README quotes the source tree's own results only
    root = benchmarks.parent if results == benchmarks / "results" else None
    markdown_path = markdown_path or benchmarks / "RESULTS.md"
    names = select([*(stages or []), *(stage_names or [])])
    if from_results:
        if not results.is_dir():
            raise InputError(f"results folder {results} not found; pass --results DIR (the "
                             "benchmarks/results folder of the source tree)")
        found, skipped = file_rows(results)
        for reason in skipped:
            console.print(f"[yellow]skipped[/] {reason}")
        rows = latest(previous_rows(results / "bench_all.json"), found)
        _save(rows, results=results, markdown_path=markdown_path,
              command="hrlc bench --from-results", console=console, root=root)
        return
    check_benchmarks(benchmarks, names)
    options = Options(size=size, dates=dates, workers=workers,
                      data=data or Path(tempfile.gettempdir()) / "hrlc-bench")
    jobs = plan(names, options, benchmarks=benchmarks, results=results)
    if dry_run:
        for job in jobs:
            typer.echo(job.text())
        return
    fresh, failed = _run(jobs, results=results, cwd=benchmarks.parent, console=console)
    found, _ = file_rows(results)
    rows = latest(previous_rows(results / "bench_all.json"), found, fresh)
    line = f"hrlc bench --size {size} --stages {','.join(names)}"
    _save(rows, results=results, markdown_path=markdown_path, command=line, console=console,
          root=root)
    if failed:
        raise HrlcError(f"{len(failed)} of {len(jobs)} stages failed: {'; '.join(failed)}")


def _run(jobs, *, results: Path, cwd: Path, console) -> tuple[dict, list[str]]:
    """Run the jobs one after the other with a live status line; rows and failures."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from hrlc.bench_suite import StageFailed, run_job

    fresh, failed = {}, []
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    for k, job in enumerate(jobs, 1):
        label = f"[{k}/{len(jobs)}] {job.stage.name}"
        with Progress(*columns, console=console, transient=True,
                      disable=not console.is_terminal) as progress:
            task = progress.add_task(label, total=None)

            def show(line: str, task=task, label=label) -> None:
                progress.update(task, description=f"{label}: {line[:70]}")

            try:
                row = run_job(job, results=results, cwd=cwd, on_line=show)
            except StageFailed as exc:
                failed.append(str(exc))
                console.print(f"[red]✗[/] {label} failed: {exc}")
                continue
        fresh[job.stage.name] = row
        console.print(f"[green]✓[/] {label} {row['size_text']}: {row['wall_s']:,.1f} s, "
                      f"peak {row['peak_rss_gb']:.2f} GB (script {row['script_seconds']:,.1f} s "
                      f"in all)")
    return fresh, failed
