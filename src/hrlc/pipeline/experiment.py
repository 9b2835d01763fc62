"""``hrlc experiment``: a grid of training variants on one sample table, in one table.

Each variant (:meth:`hrlc.config.experiment.ExperimentConfig.variants`) is one
``train_model`` configuration. What variants share is computed once:

- variants that differ only in ``classifier`` are one ``train_model`` call (the others in
  its ``compare``): one scaling, selection and PCA for all. With ``maps: true`` each SVM
  gets a call of its own, since a bundle holds one classifier;
- calls that differ only after the feature selection (:data:`AFTER_SELECTION`: classifier,
  calibration, PCA, the C x gamma grid...) share one selection: the first call selects,
  the others train on its selected features with ``selection: none``. Their rows, folds
  and scaler are the same, so are their models (not under ``nan_policy: drop``, where the
  rows dropped depend on the columns);
- each variant's figures and bundle are cached (``OUT/cache/<key>.json``, ``.npz``), the
  key hashing its training options and the sample table's content: a rerun trains only
  the variants missing or changed.

The calls run as dask tasks on the configured scheduler; this process writes each
variant's record as soon as its call finishes, so an interrupted experiment resumes.
Files (cache, maps, tables): :mod:`hrlc.pipeline.experiment_files`.
"""

from __future__ import annotations

import fnmatch
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hrlc.config.experiment import ExperimentConfig, GridVariant
from hrlc.errors import ConfigError, HrlcError, InputError
from hrlc.io.checksum import json_digest as digest
from hrlc.pipeline.experiment_files import (check_folder, experiment_maps, read_record,
                                            table_frame, write_records, write_tables)

#: TrainConfig fields used only after the feature selection: calls that differ in these
#: alone share one selection.
AFTER_SELECTION = frozenset({"classifier", "compare", "calibration", "labels", "aggregation",
                             "temperature", "C", "gamma_factors", "pca", "pca_variance",
                             "rf_trees", "ece_bins", "n_jobs"})
#: TrainConfig fields that never change a result (not part of the cache key).
NOT_IN_KEY = ("n_jobs",)
Echo = Callable[[str], None]


@dataclass
class Variant:
    """A grid variant with its feature columns, cache key and selection family."""

    grid: GridVariant
    features: list[str]
    key: str
    family: str

    @property
    def name(self) -> str:
        return self.grid.name

    @property
    def options(self) -> dict:
        """The ``train_model`` keywords of this variant alone."""
        return {**self.grid.options, "features": list(self.features)}


@dataclass
class Call:
    """One ``train_model`` call: its keywords, the variants it gives, the one whose
    bundle it keeps, and a selection to train on (cached, or of call ``source``)."""

    options: dict
    variants: list[Variant]
    bundle_of: Variant | None
    selected: list[str] | None = None
    source: int | None = None


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` found and wrote.

    ``table``: one row per variant (``table.csv``); ``records``: variant name -> cached
    record (options, scores, selected features, bundle file); ``trained`` / ``cached``:
    variant names; ``failed``: name -> error; ``maps``: agreement matrix, distributions,
    minor classes, comparisons (``maps: true``); ``files``: role -> path.
    """

    table: pd.DataFrame
    records: dict
    trained: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    maps: dict | None = None
    files: dict = field(default_factory=dict)


def variant_scores(variants: Mapping, kind: str) -> dict:
    """The test figures of classifier ``kind`` in a training result's ``variants``
    (block ``svm_<kind>`` or ``<kind>``): ``overall_accuracy``, ``macro_f1``, ``ece``
    (None without probabilities), ``n_support_vectors`` or ``n_nodes``, ``fit_seconds``
    (None when shared with another variant)."""
    block = next((variants[k] for k in (f"svm_{kind}", kind) if k in variants), None)
    if block is None:
        raise HrlcError(f"the training result has no block for classifier {kind!r} (found "
                        f"{', '.join(variants)}); the model's report format changed")
    test = block.get("test") or {}
    return {"overall_accuracy": test.get("overall_accuracy"), "macro_f1": test.get("macro_f1"),
            "ece": test.get("ece"), "n_support_vectors": block.get("n_support_vectors"),
            "n_nodes": block.get("n_nodes"), "fit_seconds": block.get("fit_seconds")}


def preset_columns(preset: str, *, columns, features: list[str],
                   feature_sets: Mapping[str, list[str]]) -> list[str]:
    """The feature columns of a ``grid.preset`` value: ``extended`` -> ``features`` (the
    table's feature columns, or ``train.features``); ``reference`` -> the reference chain's
    167 features (:func:`hrlc.features.catalog.preset_names`), which ``columns`` must
    hold; a ``feature_sets`` name -> the ``features`` its names or glob patterns match.

    Raises
    ------
    InputError
        ``reference`` and the table lacks some of its features: samples are never
        extracted again (make them from a cube of that preset).
    ConfigError
        A pattern of a feature set matches no feature column.
    """
    if preset == "extended":
        return list(features)
    if preset == "reference":
        from hrlc.features.catalog import preset_names

        names = preset_names("reference")
        missing = [n for n in names if n not in set(columns)]
        if missing:
            raise InputError(
                f"grid.preset 'reference': the sample table lacks {len(missing)} of the "
                f"reference preset's {len(names)} features ({', '.join(missing[:4])}...); an "
                "experiment does not extract samples again: make the table from a cube of "
                "preset: reference (hrlc features, then hrlc dataset), or list column subsets "
                "of this table in feature_sets and grid.preset")
        return names
    patterns = feature_sets[preset]
    unmatched = [p for p in patterns if not fnmatch.filter(features, p)]
    if unmatched:
        raise ConfigError(f"feature_sets.{preset}: {unmatched} match no feature column of the "
                          f"sample table (it has {len(features)}: {', '.join(features[:6])}"
                          f"{'...' if len(features) > 6 else ''})")
    return [f for f in features if any(fnmatch.fnmatchcase(f, p) for p in patterns)]


def prepare_variants(config: ExperimentConfig, table: pd.DataFrame, features: list[str],
                     checksum: str) -> list[Variant]:
    """The grid's variants with their columns, cache keys and selection families.

    Raises
    ------
    ConfigError
        Two presets of the grid select the same columns.
    """
    columns, seen = {}, {}
    for preset in config.grid.get("preset", ["extended"]):
        names = preset_columns(preset, columns=table.columns, features=features,
                               feature_sets=config.feature_sets)
        if tuple(names) in seen:
            raise ConfigError(f"grid.preset: {seen[tuple(names)]!r} and {preset!r} select the "
                              f"same {len(names)} columns of this table; keep one")
        columns[preset] = names
        seen[tuple(names)] = preset
    found = []
    for grid in config.variants():
        options = {**grid.options, "features": columns[grid.params["preset"]]}
        keyed = {k: v for k, v in options.items() if k not in NOT_IN_KEY}
        family = {k: v for k, v in keyed.items() if k not in AFTER_SELECTION}
        found.append(Variant(grid=grid, features=options["features"],
                             key=digest({"options": keyed, "samples": checksum})[:20],
                             family=digest({"options": family, "samples": checksum})[:20]))
    return found


def plan_calls(pending: list[Variant], *, maps: bool,
               selections: Mapping[str, list[str]] | None = None) -> list[Call]:
    """Group the variants to train (distinct keys) into ``train_model`` calls; with
    ``maps`` every SVM variant gets its own (its bundle). ``selections``: selection family
    -> selected features found in the cache."""
    from hrlc.config.train import TrainConfig

    groups: dict[str, list[Variant]] = {}
    for variant in pending:
        rest = {k: v for k, v in variant.options.items() if k != "classifier"}
        groups.setdefault(digest(rest), []).append(variant)
    calls = []
    for members in groups.values():
        svms = [v for v in members if v.grid.role == "bundle"]
        parts = [p for p in ([[v] for v in svms] if maps else [svms]) if p] or [[]]
        parts[0] = parts[0] + [v for v in members if v.grid.role != "bundle"]
        for part in parts:
            main = next((v for v in part if v.grid.role == "bundle"), None)
            options = dict(part[0].options)
            if main is None:  # comparisons only (the RandomForest): a cheap SVM carries them
                options.update(classifier=TrainConfig().classifier, C=options["C"][:1],
                               gamma_factors=options["gamma_factors"][:1])
            options["compare"] = [v.grid.kind for v in part if v is not main]
            calls.append(Call(options=options, variants=part, bundle_of=main))
    sources: dict[str, int] = {}
    for index, call in enumerate(calls):
        family = call.variants[0].family
        if call.options["selection"] == "none" or call.options["nan_policy"] == "drop":
            continue
        if selections and family in selections:
            call.selected = list(selections[family])
        elif family in sources:
            call.source = sources[family]
        else:
            sources[family] = index
    return calls


def _train_call(samples: pd.DataFrame, options: dict, kinds: dict, class_table: dict,
                selected: list[str] | None) -> dict:
    """Run one ``train_model`` call (a dask task): scores per variant key, the bundle, or
    the error that stopped it."""
    from hrlc.model import train_model

    options = dict(options)
    if selected is not None:
        options.update(features=list(selected), selection="none")
    start = time.perf_counter()
    try:
        result = train_model(samples, class_table=class_table, **options)
    except (HrlcError, ValueError) as exc:  # TrainingDataError is both
        return {"error": " ".join(f"{type(exc).__name__}: {exc}".split())}
    dims = (result.pca or {}).get("n_components") or len(result.bundle.input_features)
    return {"scores": {key: variant_scores(result.variants, kind) for key, kind in kinds.items()},
            "bundle": result.bundle, "selected": list(result.bundle.input_features),
            "n_dims": int(dims), "seconds": time.perf_counter() - start,
            "shared_selection": selected is not None}


def _selection(result: dict) -> list[str] | None:
    return result.get("selected")  # None after an error: the next call selects itself


def compute_calls(calls: list[Call], samples: pd.DataFrame, class_table: dict, client,
                  on_done: Callable[[int, dict], None]) -> None:
    """Run the calls as dask tasks; ``on_done(index, result)`` runs in this process as each
    finishes (dask.distributed: as completed; local schedulers: a task callback)."""
    import dask
    from dask.callbacks import Callback

    data = client.scatter(samples) if client is not None else dask.delayed(samples)
    tasks = []
    for call in calls:
        selected = call.selected
        if call.source is not None:
            selected = dask.delayed(_selection, pure=True)(tasks[call.source])
        kinds = {v.key: v.grid.kind for v in call.variants}
        tasks.append(dask.delayed(_train_call, pure=False)(data, call.options, kinds,
                                                           class_table, selected))
    if client is not None:
        from distributed import as_completed

        futures = client.compute(tasks, optimize_graph=False)
        index = {future.key: i for i, future in enumerate(futures)}
        for future, result in as_completed(futures, with_results=True):
            on_done(index[future.key], result)
        return
    index = {task.key: i for i, task in enumerate(tasks)}

    class _Finished(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if key in index:
                on_done(index[key], result)

    with _Finished():
        dask.compute(*tasks, optimize_graph=False)


def train_variants(variants: list[Variant], samples: pd.DataFrame, *, class_table: dict,
                   checksum: str, cache: Path, maps: bool, client=None,
                   echo: Echo = print) -> tuple[dict, list[str], dict]:
    """Train the variants the cache lacks (with ``maps``: or whose bundle it lacks).

    Returns
    -------
    (dict, list, dict)
        Variant key -> record; names of the variants trained; variant key -> error.
    """
    records, pending, selections = {}, {}, {}
    for variant in variants:
        record = read_record(cache, variant.key,
                             need_bundle=maps and variant.grid.role == "bundle")
        if record is not None:
            records[variant.key] = record
            selections.setdefault(variant.family, record["selected"])
        else:
            pending.setdefault(variant.key, variant)
    if not pending:
        return records, [], {}
    calls = plan_calls(list(pending.values()), maps=maps, selections=selections)
    shared = sum(c.source is not None or c.selected is not None for c in calls)
    echo(f"[experiment] training {len(pending)} variant(s) in {len(calls)} call(s)"
         + (f", {shared} on a shared feature selection" if shared else ""))
    failed: dict = {}

    def done(index: int, result: dict) -> None:
        call = calls[index]
        names = ", ".join(v.name for v in call.variants)
        if "error" in result:
            failed.update({v.key: result["error"] for v in call.variants})
            echo(f"[experiment] failed: {names}: {result['error']}")
            return
        source = (calls[call.source].variants[0].name if call.source is not None else
                  "cache" if call.selected is not None else None)
        records.update(write_records(call, result, checksum=checksum, source=source,
                                     cache=cache))
        echo(f"[experiment] trained {names} in {result['seconds']:.1f} s")

    cache.mkdir(parents=True, exist_ok=True)
    compute_calls(calls, samples, class_table, client, done)
    return records, [v.name for v in variants if v.key in pending and v.key in records], failed


def run_experiment(config: ExperimentConfig, *, samples: pd.DataFrame | None = None,
                   metadata: Mapping | None = None, cube=None, restart: bool = False,
                   force: bool = False, client=None, echo: Echo = print) -> ExperimentResult:
    """Train (or find in the cache) every variant of the grid; with ``maps`` map and
    compare them; write the comparison table.

    Parameters
    ----------
    config : ExperimentConfig
    samples, metadata : DataFrame and dict, optional
        The sample table and its sidecar (default: read from ``config.samples``).
    cube : DataArray (feature, y, x), optional
        Features to map (default: the Zarr cube ``config.features``; give it when the
        config has ``composites``).
    restart : bool
        Discard the cache, maps and comparisons of an earlier run first.
    force : bool
        Write into a folder that holds files an experiment did not write.
    client : distributed.Client, optional
        Where the calls run; None: dask's configured local scheduler (wrap the call in
        :func:`hrlc.compute.compute_context`, as ``hrlc experiment`` does).
    echo : callable
        Receives the progress lines.

    Returns
    -------
    ExperimentResult

    Raises
    ------
    HrlcError
        After the table is written, when variants failed (named with their error).
    """
    from hrlc.model.samples import data_checksum, feature_columns

    output = Path(config.output)
    check_folder(output, force=force)
    if restart:
        for part in ("cache", "maps", "compare"):
            shutil.rmtree(output / part, ignore_errors=True)
    if samples is None:
        from hrlc.io.vectors import read_samples

        samples, metadata = read_samples(config.samples)
    metadata = metadata or {}
    features = config.train.features or metadata.get("features") or feature_columns(samples)
    checksum = data_checksum(samples)
    variants = prepare_variants(config, samples, list(features), checksum)
    class_table = {r["code"]: {"name": r["name"], "colour": r.get("colour")}
                   for r in metadata.get("classes", [])}
    echo(f"[experiment] {len(variants)} variant(s) of {len(samples)} samples, "
         f"{len(features)} features -> {output}")
    records, trained, failures = train_variants(
        variants, samples, class_table=class_table, checksum=checksum,
        cache=output / "cache", maps=config.maps, client=client, echo=echo)
    failed = {v.name: failures[v.key] for v in variants if v.key in failures}
    cached = [v.name for v in variants if v.key in records and v.name not in trained]
    if cached:
        echo(f"[experiment] {len(cached)} variant(s) up to date in the cache, skipped")
    maps = None
    if config.maps and records:
        maps = experiment_maps(config, variants, records, cube=cube, echo=echo) or None
    table = table_frame(config, variants, records, failed, maps=maps, trained=trained)
    by_name = {v.name: records[v.key] for v in variants if v.key in records}
    files = write_tables(config, table, maps=maps, records=by_name)
    if failed:
        name, error = next(iter(failed.items()))
        raise HrlcError(f"{len(failed)} of {len(variants)} variants failed (marked in "
                        f"{files['markdown']}): {name}: {error}")
    return ExperimentResult(table=table, records=by_name, trained=trained, cached=cached,
                            failed=failed, maps=maps, files=files)
