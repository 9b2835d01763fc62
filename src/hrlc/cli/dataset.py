"""``hrlc dataset``: the training sample table (CSV + Parquet + JSON) and its report."""

from __future__ import annotations

from pathlib import Path

import typer

from hrlc.cli.options import OutputOverride, output_override, Overwrite, Scheduler, Workers


def _open_features(source):
    """The (feature, y, x) cube: a Zarr store, or built lazily from composites (the DEM's
    coverage checked, as the map stage does)."""
    from hrlc.cli._cubes import open_feature_cube

    return open_feature_cube(zarr=source.zarr, composites=source.composites, dem=source.dem,
                             dem_use_nodata=source.dem_use_nodata, chunks=source.chunks,
                             read=source.read, options=source.options)


def _labels(run, crs):
    """Class table, labelled polygons (or None) and land-cover maps with mappings."""
    from hrlc.dataset import (
        infer_classes,
        polygon_labels,
        read_class_table,
        read_lc_map,
        read_lc_mapping,
        read_vectors,
    )

    polygons = classes = None
    if run.polygons is not None:
        p = run.polygons
        vectors = read_vectors(p.path, layers=p.layer_names())
        options = dict(class_field=p.class_field, layers=p.layer_classes(), values=p.values)
        classes = (read_class_table(run.classes) if run.classes else
                   infer_classes(vectors, ignore=p.ignore, source=p.path, **options))
        polygons = polygon_labels(vectors, classes=classes, crs=crs, ignore=p.ignore,
                                  id_field=p.id_field, **options)
    if classes is None:
        classes = read_class_table(run.classes)
    lc_maps = [(read_lc_map(m.path), read_lc_mapping(m.mapping)) for m in run.lc_maps]
    return classes, polygons, lc_maps


def _report_folder(run) -> Path:
    from hrlc.io.vectors import sample_paths

    stem = sample_paths(run.output)["json"].with_suffix("")
    return Path(run.report) if run.report else stem.with_name(f"{stem.name}_report")


def _check_outputs(run, overwrite: bool) -> None:
    from hrlc.errors import OutputExistsError
    from hrlc.io.vectors import sample_paths

    paths = sample_paths(run.output)
    targets = [paths[f] for f in run.formats] + [paths["json"], _report_folder(run)]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"{', '.join(existing)} already exist(s); pass --overwrite "
                                "to replace, or change 'output'/'report'")


def write_report(table, metadata, folder: Path, *, features=None, overwrite: bool = False):
    """Write ``dataset_report.md``, ``class_counts.png`` and ``feature_distributions.png``
    into ``folder`` (atomically, as one folder). Returns the Markdown path."""
    from hrlc.dataset import (
        ClassTable,
        key_features,
        plot_class_counts,
        plot_feature_distributions,
        report_markdown,
    )
    from hrlc.errors import ConfigError
    from hrlc.io.atomic import atomic_output

    classes = ClassTable(metadata["classes"])
    chosen = list(features) if features else key_features(metadata["features"])
    unknown = [f for f in chosen if f not in metadata["features"]]
    if unknown:
        raise ConfigError(f"report_features {unknown} are not features of the cube "
                          f"(e.g. {metadata['features'][:5]})")
    images = {"Samples per class": "class_counts.png",
              "Feature distributions per class": "feature_distributions.png"}
    with atomic_output(folder, overwrite=overwrite) as tmp:
        tmp.mkdir()
        plot_class_counts(table, classes).savefig(tmp / images["Samples per class"], dpi=110)
        plot_feature_distributions(table, classes, chosen).savefig(
            tmp / images["Feature distributions per class"], dpi=110)
        (tmp / "dataset_report.md").write_text(report_markdown(table, metadata, images=images))
    return folder / "dataset_report.md"


def dataset(
    config: Path = typer.Argument(..., exists=True, dir_okay=False,
                                  help="YAML file (see configs/dataset.yaml)."),
    output: Path | None = OutputOverride,
    overwrite: bool = Overwrite,
    scheduler: str | None = Scheduler,
    workers: int | None = Workers,
) -> None:
    """Build the training sample table from polygons and/or land-cover maps.

    Writes <output>.csv, <output>.parquet, the <output>.json sidecar (class table, CRS,
    blocks, strategy, seed, features) and a report folder (Markdown + PNG). Only the
    chunks of the feature cube that hold samples are computed.

    Example: [bold]hrlc dataset configs/dataset.yaml --overwrite[/]
    """
    import time
    import warnings

    from rich.console import Console

    from hrlc.cli.options import chosen_compute
    from hrlc.compute import compute_context
    from hrlc.config import load_config
    from hrlc.config.dataset import DatasetRunConfig
    from hrlc.dataset import DatasetWarning, build_dataset, class_summary, write_samples
    from hrlc.io.cubes import decoding

    run = load_config(config, DatasetRunConfig,
                      overrides=output_override(output))
    compute = chosen_compute(run.compute, scheduler, workers)
    console = Console(stderr=True, soft_wrap=True)
    _check_outputs(run, overwrite)
    start = time.perf_counter()
    cube = _open_features(run.features)
    classes, polygons, lc_maps = _labels(run, cube.rio.crs)
    console.print(f"{run.dataset.strategy}: {cube.sizes['feature']} features on "
                  f"{cube.sizes['y']} x {cube.sizes['x']} px, {len(classes)} classes, "
                  f"{0 if polygons is None else len(polygons)} labelled geometries, "
                  f"{len(lc_maps)} land-cover map(s)")
    with warnings.catch_warnings(record=True) as caught, \
            compute_context(compute) as client, _progress(client, console), \
            decoding(*([run.features.zarr] if run.features.zarr else run.features.composites)):
        warnings.simplefilter("always", DatasetWarning)
        table, metadata = build_dataset(cube, classes=classes, polygons=polygons,
                                        lc_maps=lc_maps, **run.dataset.model_dump())
    for w in caught:
        if issubclass(w.category, DatasetWarning):
            console.print(f"[yellow]warning:[/] {w.message}")
    written = write_samples(table, metadata, run.output, formats=run.formats,
                            overwrite=overwrite)
    report = write_report(table, metadata, _report_folder(run),
                          features=run.report_features, overwrite=overwrite)
    _print_summary(console, class_summary(table, classes))
    console.print(f"wrote {', '.join(map(str, written))} and {report} in "
                  f"{time.perf_counter() - start:.1f} s")


def _print_summary(console, summary) -> None:
    from rich.table import Table

    view = Table(title="samples per class")
    for column in summary.columns:
        view.add_column(str(column), justify="left" if column == "name" else "right")
    for row in summary.itertuples(index=False):
        view.add_row(*map(str, row))
    console.print(view)


def _progress(client, console):
    """A rich progress bar over the dask tasks of each compute (local schedulers)."""
    from contextlib import nullcontext

    if client is not None:
        return nullcontext()
    from dask.callbacks import Callback
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn

    class _Bar(Callback):
        def __init__(self):
            super().__init__()
            self.bar = Progress("[progress.description]{task.description}", BarColumn(),
                                TaskProgressColumn(), TimeElapsedColumn(), console=console)
            self.task = None
            self.runs = 0

        def _start_state(self, dsk, state):
            self.runs += 1
            total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
            self.task = self.bar.add_task(f"dask pass {self.runs}", total=total)
            self.bar.start()

        def _posttask(self, key, result, dsk, state, worker_id):
            self.bar.advance(self.task)

        def _finish(self, dsk, state, errored):
            self.bar.stop()

    return _Bar()
