"""``hrlc train``: the model bundle and the training report from a sample table."""

from __future__ import annotations

from pathlib import Path

import typer

from hrlc.cli.options import OutputOverride, output_override, Overwrite


def _sample_file(path: str) -> Path:
    """The file ``read_samples`` reads for ``path`` (for the checksum)."""
    from hrlc.io.vectors import FORMATS, sample_paths

    paths = sample_paths(path)
    suffix = Path(path).suffix.lstrip(".")
    if suffix in FORMATS:
        return paths[suffix]
    return paths["parquet"] if paths["parquet"].exists() else paths["csv"]


def _outputs(run, overwrite: bool) -> tuple[Path, Path]:
    from hrlc.errors import OutputExistsError

    report = Path(run.output)
    bundle = Path(run.bundle) if run.bundle else report / "model.npz"
    existing = [str(p) for p in (report, bundle) if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"{', '.join(existing)} already exist(s); pass --overwrite to "
                                "replace, or change 'output'/'bundle'")
    return report, bundle


def _steps(run) -> int:
    """Steps reported by train_model (samples, selection, PCA, each SVM, evaluation,
    forest) plus writing."""
    cfg = run.train
    svms = {cfg.classifier, *[c for c in cfg.compare if c != "random_forest"]}
    return 2 + (cfg.pca != "none") + len(svms) + 1 + ("random_forest" in cfg.compare) + 1


def _print_summary(console, result, bundle_path: Path) -> None:
    """The reference table's figures of every variant (costs and fit times: report.md)."""
    from rich.table import Table

    from hrlc.model.evaluation import headline

    view = Table(title="held-out accuracy (F1, recall, precision: macro means)", box=None,
                 padding=(0, 1))
    for column in ("variant", "set", "OA", "F1", "recall", "precision", "ECE"):
        view.add_column(column, justify="left" if column in ("variant", "set") else "right",
                        no_wrap=True)
    for name, info in result.variants.items():
        for split in ("test", "eval"):
            if split in info:
                view.add_row(name, split, *("-" if v is None else f"{v:.3f}"
                                            for v in headline(info[split]).values()))
    console.print(view)
    bundle = result.bundle
    console.print(f"bundle: {bundle_path} ({bundle.summary()})")


def train(
    config: Path = typer.Argument(..., exists=True, dir_okay=False,
                                  help="YAML file (see configs/train.yaml)."),
    output: Path | None = OutputOverride,
    overwrite: bool = Overwrite,
) -> None:
    """Train the SVM classifier and write the model bundle and the training report.

    Scaling, feature selection, PCA and the SVM of the bundle ('classifier': multiclass,
    multiclass_uncalibrated or ova) are fitted on the training rows; every variant in
    'compare' (the other SVMs, random_forest) is evaluated on the same held-out rows.
    Writes <output>/report.md, .html, .json, the PNG figures, and the bundle (default
    <output>/model.npz).

    Example: [bold]hrlc train configs/train.yaml --overwrite[/]
    """
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hrlc.config import load_config
    from hrlc.config.train import TrainRunConfig
    from hrlc.dataset import read_samples
    from hrlc.model import file_checksum, train_model
    from hrlc.model.report import write_report

    run = load_config(config, TrainRunConfig,
                      overrides=output_override(output))
    console = Console(stderr=True, soft_wrap=True)
    report_path, bundle_path = _outputs(run, overwrite)
    start = time.perf_counter()
    table, metadata = read_samples(run.samples)
    classes = {r["code"]: {"name": r["name"], "colour": r.get("colour")}
               for r in metadata.get("classes", [])}
    options = run.train.model_dump()
    options["features"] = options["features"] or metadata.get("features")
    console.print(f"{len(table)} samples, {len(options['features'] or [])} features, "
                  f"{table['class'].nunique()} classes from {run.samples}")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("training", total=_steps(run))
        started = [False]

        def step(name: str) -> None:
            if started[0]:
                progress.advance(task)
            started[0] = True
            progress.update(task, description=name)

        result = train_model(table, class_table=classes, map_areas=run.map_areas,
                             progress=step, **options)
        step("writing the report and the bundle")
        source = _sample_file(run.samples)
        result.bundle.training.update(
            samples=str(source), samples_sha256=file_checksum(source),
            dataset={k: metadata.get(k) for k in ("strategy", "seed", "block_size", "crs",
                                                  "hrlc_version")})
        write_report(result, report_path, overwrite=overwrite, area_unit=run.area_unit)
        result.bundle.save(bundle_path, overwrite=True if bundle_path.parent == report_path
                           else overwrite)
        progress.update(task, completed=progress.tasks[task].total)
    _print_summary(console, result, bundle_path)
    console.print(f"wrote {report_path}/report.md and {bundle_path} in "
                  f"{time.perf_counter() - start:.1f} s")
