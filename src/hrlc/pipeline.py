"""``hrlc run``: the chain from L2A scenes to a land-cover map, resumable, with a manifest.

Each stage runs as its own ``hrlc <stage>`` command in a child process, from a resolved
configuration written to ``OUT/configs/`` (so any stage can be rerun by hand), and is
measured there: wall time and peak RSS of that stage alone (``os.wait4``). A stage whose
configuration and inputs are unchanged since it last finished (recorded in
``OUT/manifest.json``) and whose outputs still match the content checksums recorded then
is skipped: an interrupted run resumes where it stopped, and a damaged intermediate is
recomputed. Ctrl-C is passed on to the running stage, which removes its temporary
outputs (see :mod:`hrlc.io.atomic`); the command then exits with code 130.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import yaml

from hrlc.config.run import STAGES, RunConfig
from hrlc.errors import FolderOwnershipError, HrlcError, InputError, StageInterrupted
from hrlc.io.atomic import atomic_output, remove_leftovers
from hrlc.io.checksum import content_checksum, fast_hash
from hrlc.io.lock import folder_lock
from hrlc.io.manifest import MANIFEST, ManifestError, load_manifest
from hrlc.io.vectors import sample_paths
from hrlc.pipeline_child import run_child
from hrlc.pipeline_manifest import check_adoptable, claim

_DEPENDENCIES = ("numpy", "xarray", "dask", "distributed", "rasterio", "rioxarray", "zarr",
                 "scikit-learn", "scikit-image", "numba", "pydantic", "geopandas")


@dataclass
class Step:
    """One stage of a run: the command line, its resolved config, inputs and outputs."""

    name: str
    argv: list[str]
    config: dict | None
    inputs: list[Path]
    outputs: list[Path]
    config_file: Path | None = None
    extra: dict = field(default_factory=dict)
    #: Inputs made by another run (a shared model): their content checksums enter the
    #: fingerprint, so that a retrained model redoes this step.
    shared: list[Path] = field(default_factory=list)


def _yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False)


#: Largest chunk of the masks stage: a season's time series per chunk (a full-tile season
#: of 8 dates peaks at 3.0 GB with 512 px chunks, 4.2 GB with 1024).
MASKS_CHUNKS = 512


def plan(run: RunConfig, out: Path, *, bundle: Path | None = None) -> list[Step]:
    """The steps of ``run`` in chain order, with their configurations and paths.

    ``bundle`` is a model made by another run (``model_from``) for the map step to use
    instead of this run's own ``model/model.npz``.
    """
    compute = run.compute.model_dump(mode="json")
    read = run.read.model_dump(mode="json") if run.read else None
    sources = [str(Path(s)) for s in run.sources]
    cfg = out / "configs"
    masks_dir, composites, restored = out / "masks", out / "composites.zarr", out / "restored.zarr"
    features, samples, model = out / "features.zarr", out / "dataset" / "samples.parquet", out / "model"
    own_bundle, map_dir = model / "model.npz", out / "map"
    shared = [Path(bundle)] if bundle is not None else []
    bundle = Path(bundle) if bundle is not None else own_bundle
    # every stage runs with the run's compute block, from its config (never rebuilt from
    # command-line flags, which would drop memory_limit and threads_per_worker)
    common = ["--compute", str(cfg / "compute.yaml")]
    dem = [Path(run.dem)] if run.dem else []
    # Features come from the restored composites, else the composites, else the sources
    # themselves (composites made elsewhere, or a single scene as a one-month stack): as
    # the configuration says, never as files left on disk by another run say.
    if "restore" in run.stages:
        monthly = [restored]
    elif "composite" in run.stages:
        monthly = [composites]
    else:
        monthly = [Path(s) for s in sources]
    steps = [
        Step("masks", ["masks", str(cfg / "masks.yaml"), "--overwrite"],
             {"sources": sources, "dem": run.dem, "output": str(masks_dir),
              "chunks": min(run.chunks, MASKS_CHUNKS),
              "scl_masks": True, "source": run.mask_source, "read": read,
              "masks": run.masks.model_dump(mode="json"), "compute": compute},
             [Path(s) for s in sources] + dem, [masks_dir]),
        Step("composite", ["composite", *sources, "--out", str(composites), "--config",
                           str(cfg / "composite.yaml"), "--masks", str(masks_dir), "--chunks",
                           str(run.chunks), "--overwrite", *common]
             + (["--bands", ",".join(run.bands)] if run.bands else [])
             + (["--mapping", str(cfg / "read.yaml")] if read else []),
             run.composite.model_dump(mode="json"), [masks_dir], [composites],
             extra={"read.yaml": read, "compute.yaml": compute}),
        Step("restore", ["restore", str(composites), "--out", str(restored), "--config",
                         str(cfg / "restore.yaml"), "--chunks", str(min(run.chunks, 1024)),
                         "--overwrite", *common] + (["--dem", run.dem] if run.dem else []),
             run.restore.model_dump(mode="json"), [composites] + dem, [restored],
             extra={"compute.yaml": compute}),
        Step("features", ["features", str(cfg / "features.yaml"), "--overwrite"],
             {"composites": [str(p) for p in monthly], "dem": run.dem, "output": str(features),
              "chunks": run.chunks, "read": read,
              "features": run.features.model_dump(mode="json"), "compute": compute},
             monthly + dem, [features]),
        Step("dataset", ["dataset", str(cfg / "dataset.yaml"), "--overwrite"],
             {"features": {"zarr": str(features), "chunks": run.chunks}, "classes": run.classes,
              "polygons": run.polygons.model_dump(mode="json") if run.polygons else None,
              "lc_maps": [m.model_dump(mode="json") for m in run.lc_maps],
              "output": str(samples), "report": str(out / "dataset" / "report"),
              "dataset": run.dataset.model_dump(mode="json"), "compute": compute},
             [features] + [Path(p) for p in _label_files(run)],
             [*sample_paths(samples).values(), out / "dataset" / "report"]),
        Step("train", ["train", str(cfg / "train.yaml"), "--overwrite"],
             {"samples": str(samples), "output": str(model), "bundle": str(own_bundle),
              "train": run.train.model_dump(mode="json")}, [samples], [own_bundle, model]),
        Step("map", ["map", str(cfg / "map.yaml"), "--overwrite"],
             {"bundle": str(bundle), "features": str(features), "output": str(map_dir),
              "chunks": run.chunks, "map": run.map.model_dump(mode="json"), "compute": compute},
             [bundle, features], [map_dir], shared=shared),
    ]
    for step in steps:
        step.config_file = cfg / f"{step.name}.yaml"
    return [s for s in steps if s.name in run.stages]


def _label_files(run: RunConfig) -> list[str]:
    files = [run.classes] if run.classes else []
    files += [run.polygons.path] if run.polygons else []
    return files + [p for m in run.lc_maps for p in (m.path, m.mapping)]


def _hash_of(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _fingerprint(step: Step, shared: list[dict]) -> str:
    inputs = [fast_hash(p) if p.exists() else {"path": str(p), "missing": True}
              for p in step.inputs]
    data = {"argv": step.argv, "config": step.config, "extra": step.extra, "inputs": inputs}
    if shared:  # only then, so that the fingerprints of earlier runs stay valid
        data["shared"] = shared
    return _hash_of(data)


def read_manifest(out: Path, *, strict: bool = False) -> dict:
    """The run's manifest, checked (empty when the run has not started).

    A damaged manifest (not JSON, truncated, or of the wrong shape) is
    ``{"damaged": reason}`` (the run recomputes), unless ``strict``.

    Raises
    ------
    InputError
        ``strict`` and the manifest is damaged (for ``hrlc info``).
    """
    path = Path(out) / MANIFEST
    if not path.exists():
        return {}
    try:
        return load_manifest(path)
    except ManifestError as exc:
        if strict:
            raise InputError(f"{path} is damaged ({exc}); rerun 'hrlc run' with the same "
                             "config to rebuild it") from None
        return {"damaged": str(exc)}


def _write_manifest(out: Path, manifest: dict) -> None:
    with atomic_output(out / MANIFEST, overwrite=True) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, default=str))


def _versions() -> dict:
    found = {}
    for name in ("hrlc", *_DEPENDENCIES):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    found["python"] = sys.version.split()[0]
    return found


def _seeds(data, prefix="") -> dict:
    found = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "seed":
                found[prefix.rstrip(".") or key] = value
            else:
                found.update(_seeds(value, f"{prefix}{key}."))
    return found


def _scenes(run: RunConfig) -> list[dict]:
    from hrlc.io.l2a import discover_scenes

    return [{"product": s.product_name, "tile": s.tile_id, "sensing_time": str(s.datetime),
             "processing_baseline": s.processing_baseline,
             "boa_add_offset": sorted(set(s.boa_add_offset.values())) or [0.0],
             "quantification": s.quantification}
            for s in discover_scenes(run.sources, run.read)]


def _stale_output(step: Step, record: dict) -> str | None:
    """Why the recorded outputs of a finished stage cannot be reused (None: they can)."""
    recorded = {r.get("path"): r for r in record.get("outputs", [])}
    for path in step.outputs:
        if not path.exists():
            return f"output {path} is missing"
        was = recorded.get(str(path))
        if was is None:
            return f"output {path} is not in the manifest"
        if "blake2b" in was:
            now = content_checksum(path)
            same = (now["bytes"], now["blake2b"]) == (was["bytes"], was["blake2b"])
        else:  # a manifest written before outputs had content checksums
            same = fast_hash(path)["hash"] == was.get("hash")
        if not same:
            return f"output {path} changed since it was written (checksum)"
    return None


def _failure(step: Step, code: int) -> HrlcError:
    if code < 0:
        name = signal.Signals(-code).name
        return HrlcError(
            f"stage '{step.name}' was killed by {name} (out of memory, or stopped by the "
            f"system); rerun the same command to resume: finished stages are not redone")
    return HrlcError(
        f"stage '{step.name}' failed (exit code {code}); its message is above. Fix "
        f"the cause and rerun the same command: finished stages are not redone")


def _check_outside_sources(out: Path, sources: list[str]) -> None:
    """Refuse a run folder inside a source folder: its outputs would be read as sources."""
    inside = Path(out).resolve()
    for source in map(Path, sources):
        folder = source.resolve()
        if source.is_dir() and (inside == folder or folder in inside.parents):
            raise InputError(
                f"output {out} is inside the source folder {source}: the run's own outputs "
                "would be read as sources on the next run; choose an output outside it")


def make_run_folder(out: Path, *, force: bool) -> None:
    """Create the run folder (or check that an existing one is a run folder of hrlc, or
    ``force`` adopts it) and that it is writable."""
    check_adoptable(out, MANIFEST, force=force)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HrlcError(f"cannot create the run folder {out}: {exc.strerror}; choose another "
                        "output or fix its permissions") from None
    if not os.access(out, os.W_OK):
        raise HrlcError(f"run folder {out} is not writable; choose another output or fix "
                        "its permissions")


def _compute_of(step: Step) -> dict | None:
    """The compute settings ``step`` runs with (from its config files; None: no dask)."""
    return step.extra.get("compute.yaml") or (step.config or {}).get("compute")


def _paths_of(out: Path, step: Step) -> list[Path]:
    """Every path ``step`` writes: its outputs and its configuration files."""
    return [*step.outputs, *(out / "configs" / name for name in
                             (step.config_file.name, *step.extra))]


def _write_configs(out: Path, step: Step) -> None:
    for name, content in {step.config_file.name: step.config, **step.extra}.items():
        if content is not None:
            with atomic_output(out / "configs" / name, overwrite=True) as tmp:
                tmp.write_text(_yaml(content))


def run_chain(run: RunConfig, *, config_source: str = "config", restart: bool = False,
              from_stage: str | None = None, until_stage: str | None = None,
              force: bool = False, echo: Callable[[str], None] = print) -> dict:
    """Run (or resume) the stages of ``run``; return the manifest.

    A stage is skipped when it finished before with the same fingerprint (command line,
    configuration, inputs) and its outputs still have the content checksums recorded
    when it finished; otherwise it runs again, with a line saying why. ``from_stage`` and
    ``until_stage`` limit the run to the stages between them (inclusive); the outputs of
    earlier stages that these read must exist. ``restart`` redoes the selected stages even
    when finished. A run with ``tiles`` runs each tile in ``OUT/<tile>/`` and returns the
    top-level manifest (see :func:`hrlc.pipeline_tiles.run_tiles`).

    The run folder must be new, empty, or a run folder of hrlc (``force`` adopts another
    one); the run holds its lock (:mod:`hrlc.io.lock`) throughout and never replaces a
    file it did not write (:mod:`hrlc.pipeline_manifest`).

    Raises
    ------
    ConfigError
        ``from_stage`` or ``until_stage`` is not a stage of the run, or they are reversed.
    FolderOwnershipError
        The folder is not a run folder (without ``force``), or an output path holds a
        file the run did not write.
    FolderLockedError
        Another run is using the folder.
    InputError
        An output of a stage before ``from_stage`` that a selected stage reads is missing.
    HrlcError
        A stage failed or was killed: its own one-line message was printed above;
        finished stages are kept and not redone on the next run.
    StageInterrupted
        The run was interrupted (Ctrl-C, a KeyboardInterrupt): the running stage got the
        interrupt, removed its temporary outputs and said so; the manifest records it as
        ``interrupted``.
    """
    from hrlc.pipeline_select import check_range

    check_range(run.stages, from_stage, until_stage)
    if run.tiles:
        from hrlc.pipeline_tiles import run_tiles

        return run_tiles(run, config_source=config_source, restart=restart,
                         from_stage=from_stage, until_stage=until_stage, force=force,
                         echo=echo)
    return run_folder(run, config_source=config_source, restart=restart,
                      from_stage=from_stage, until_stage=until_stage, force=force, echo=echo)


def run_folder(run: RunConfig, *, config_source: str = "config", restart: bool = False,
               from_stage: str | None = None, until_stage: str | None = None,
               bundle: Path | None = None, extra: dict | None = None, force: bool = False,
               echo: Callable[[str], None] = print) -> dict:
    """:func:`run_chain` of one folder (a run, or a tile); ``bundle``: a shared model for
    the map step (see :func:`plan`); ``extra``: more manifest keys."""
    from hrlc.pipeline_select import check_upstream, selected

    out = Path(run.output)
    steps = plan(run, out, bundle=bundle)
    chosen = selected(steps, from_stage, until_stage)
    check_upstream(steps, chosen)
    _check_outside_sources(out, run.sources)
    make_run_folder(out, force=force)
    with folder_lock(out, command="hrlc run", on_stale=lambda text: echo(f"[run] {text}")):
        remove_leftovers(out)  # only under the lock: no other run is writing here
        return _run_steps(run, out, steps, chosen, config_source=config_source,
                          restart=restart, extra=extra, echo=echo)


def _run_steps(run: RunConfig, out: Path, steps: list[Step], chosen: list[Step], *,
               config_source: str, restart: bool, extra: dict | None,
               echo: Callable[[str], None]) -> dict:
    """The body of :func:`run_folder`, under the folder's lock."""
    resolved = run.model_dump(mode="json")
    manifest = read_manifest(out)
    if "damaged" in manifest:
        echo(f"[run] {out / MANIFEST} is damaged ({manifest['damaged']}); recomputing")
    if manifest and "owned" not in manifest:
        # the run's own manifest, damaged or written before ownership was recorded: the
        # paths of its plan are the run's
        manifest = {"stages": manifest.get("stages", {}), "owned": sorted(
            [str(out / "report.html")] + [str(p) for step in steps
                                          for p in _paths_of(out, step)])}
    if restart and len(chosen) == len(steps):
        manifest = {}
    elif restart:  # redo only the chosen stages: the others keep their records
        for step in chosen:
            manifest.get("stages", {}).pop(step.name, None)
    manifest.update({
        "format": "hrlc-run", "version": 1, "config_source": config_source,
        "config": resolved, "config_hash": _hash_of(resolved), "software": _versions(),
        "seeds": _seeds(resolved), "scenes": _scenes(run),
        "inputs": [fast_hash(Path(p)) for p in run.sources + _label_files(run)
                   + ([run.dem] if run.dem else [])],
        **(extra or {}),
    })
    stages = manifest.setdefault("stages", {})
    claim(manifest, [out / "report.html"])
    for step in chosen:
        claim(manifest, _paths_of(out, step))
        _write_manifest(out, manifest)
        _write_configs(out, step)
        shared = [content_checksum(p) if p.exists() else {"path": str(p), "missing": True}
                  for p in step.shared]
        fingerprint = _fingerprint(step, shared)
        record = stages.get(step.name, {})
        if record.get("status") == "done" and record.get("fingerprint") == fingerprint:
            reason = _stale_output(step, record)
            if reason is None:
                echo(f"[{step.name}] up to date, skipped")
                continue
            echo(f"[{step.name}] {reason}; recomputing")
        echo(f"[{step.name}] hrlc {' '.join(step.argv)}")
        started = time.perf_counter()
        try:
            code, seconds, peak = run_child(step.argv)
        except KeyboardInterrupt as exc:
            stages[step.name] = {"status": "interrupted",
                                 "seconds": round(time.perf_counter() - started, 2)}
            _write_manifest(out, manifest)
            echo(f"[{step.name}] interrupted; finished stages are kept: rerun the same "
                 "command to resume")
            raise StageInterrupted(getattr(exc, "signum", signal.SIGINT)) from None
        if code != 0:
            stages[step.name] = {"status": "failed", "exit_code": code, "seconds": seconds}
            _write_manifest(out, manifest)
            _report(out, echo, failed=True)
            raise _failure(step, code)
        stages[step.name] = {
            "status": "done", "fingerprint": fingerprint, "seconds": round(seconds, 2),
            "peak_rss_mb": round(peak, 1), "config_file": str(step.config_file),
            "inputs": [str(p) for p in step.inputs],
            **({"compute": _compute_of(step)} if _compute_of(step) else {}),
            "outputs": [content_checksum(p) for p in step.outputs],
            **({"shared_inputs": shared} if shared else {}),
        }
        _write_manifest(out, manifest)
    _write_manifest(out, manifest)
    _report(out, echo)
    return manifest


def _report(out: Path, echo: Callable[[str], None], *, failed: bool = False) -> None:
    """Write OUT/report.html (``hrlc report``); after a failed stage, a report that cannot
    be made is only noted, since the stage's own error is the one to show."""
    from hrlc.io.run_report import write_run_report

    try:
        echo(f"[report] {write_run_report(out)}")
    except HrlcError as exc:
        if not failed:
            raise
        echo(f"[report] not written: {exc}")


__all__ = ["STAGES", "Step", "content_checksum", "fast_hash", "plan", "read_manifest",
           "run_chain", "run_folder"]
