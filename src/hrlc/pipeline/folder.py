"""One run folder of ``hrlc run`` (a run, or a tile of one): its manifest, ownership,
lock, and the stages run one after another as child processes (see :mod:`hrlc.pipeline`)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from hrlc.compute import RunCluster
from hrlc.config.run import RunConfig
from hrlc.errors import HrlcError, InputError, StageInterrupted
from hrlc.io.atomic import atomic_output, remove_leftovers
from hrlc.io.checksum import content_checksum, fast_hash, json_digest
from hrlc.io.lock import folder_lock
from hrlc.io.manifest import MANIFEST, ManifestError, load_manifest
from hrlc.pipeline.child import INTERRUPTED_CODES, run_child
from hrlc.pipeline.ownership import check_adoptable, claim
from hrlc.pipeline.plan import Step, fingerprint, label_files, plan
from hrlc.pipeline.report import write_run_report
from hrlc.pipeline.select import check_upstream, selected
from hrlc.versions import library_versions

#: Packages whose versions the manifest records (``software``).
DEPENDENCIES = ("numpy", "xarray", "dask", "distributed", "rasterio", "rioxarray", "zarr",
                "scikit-learn", "scikit-image", "numba", "pydantic", "geopandas")


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


def write_manifest(out: Path, manifest: dict) -> None:
    """Write ``manifest`` as ``out/manifest.json``, atomically (a reader never sees half)."""
    with atomic_output(out / MANIFEST, overwrite=True, after_interrupt=True) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, default=str))


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
                tmp.write_text(yaml.safe_dump(content, sort_keys=False))


def run_folder(run: RunConfig, *, config_source: str = "config", restart: bool = False,
               from_stage: str | None = None, until_stage: str | None = None,
               bundle: Path | None = None, extra: dict | None = None, force: bool = False,
               echo: Callable[[str], None] = print) -> dict:
    """:func:`hrlc.pipeline.run_chain` of one folder (a run, or a tile); ``bundle``: a shared
    model for the map step (see :func:`~hrlc.pipeline.plan.plan`); ``extra``: more manifest
    keys."""
    out = Path(run.output)
    steps = plan(run, out, bundle=bundle)
    chosen = selected(steps, from_stage, until_stage)
    check_upstream(steps, chosen)
    _check_outside_sources(out, run.sources)
    make_run_folder(out, force=force)
    with folder_lock(out, command="hrlc run", on_stale=lambda text: echo(f"[run] {text}")), \
            RunCluster(run.compute) as cluster:
        remove_leftovers(out)  # only under the lock: no other run is writing here
        return _run_steps(run, out, steps, chosen, cluster=cluster,
                          config_source=config_source, restart=restart, extra=extra,
                          echo=echo)


def _run_steps(run: RunConfig, out: Path, steps: list[Step], chosen: list[Step], *,
               cluster: RunCluster, config_source: str, restart: bool, extra: dict | None,
               echo: Callable[[str], None]) -> dict:
    """The body of :func:`run_folder`, under the folder's lock; the stages that use dask
    share ``cluster`` (the run's LocalCluster, if its scheduler is ``local``)."""
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
        # every record goes, but not what the run owns: its outputs are still its own
        manifest = {"owned": manifest.get("owned", [])} if manifest.get("owned") else {}
    elif restart:  # redo only the chosen stages: the others keep their records
        for step in chosen:
            manifest.get("stages", {}).pop(step.name, None)
    manifest.update({
        "format": "hrlc-run", "version": 1, "config_source": config_source,
        "config": resolved, "config_hash": json_digest(resolved)[:16], "software": library_versions(("hrlc", *DEPENDENCIES, "python")),
        "seeds": _seeds(resolved), "scenes": _scenes(run),
        "inputs": [fast_hash(Path(p)) for p in run.sources + label_files(run)
                   + ([run.dem] if run.dem else [])],
        **(extra or {}),
    })
    stages = manifest.setdefault("stages", {})
    claim(manifest, [out / "report.html"])
    for step in chosen:
        claim(manifest, _paths_of(out, step))
        write_manifest(out, manifest)
        _write_configs(out, step)
        shared = [content_checksum(p) if p.exists() else {"path": str(p), "missing": True}
                  for p in step.shared]
        key = fingerprint(step, shared)
        record = stages.get(step.name, {})
        if record.get("status") == "done" and record.get("fingerprint") == key:
            reason = _stale_output(step, record)
            if reason is None:
                echo(f"[{step.name}] up to date, skipped")
                continue
            echo(f"[{step.name}] {reason}; recomputing")
        echo(f"[{step.name}] hrlc {' '.join(step.argv)}")
        started, wall_start = time.perf_counter(), time.time()
        try:
            code, seconds, peak = run_child(
                step.argv, environment=cluster.environment() if _compute_of(step) else None)
        except KeyboardInterrupt as exc:
            stages[step.name] = {"status": "interrupted",
                                 "seconds": round(time.perf_counter() - started, 2)}
            write_manifest(out, manifest)
            echo(f"[{step.name}] interrupted; finished stages are kept: rerun the same "
                 "command to resume")
            raise StageInterrupted(getattr(exc, "signum", signal.SIGINT)) from None
        if code in INTERRUPTED_CODES:  # stopped by a signal (stop_all, or sent to it)
            stages[step.name] = {"status": "interrupted", "seconds": round(seconds, 2)}
            write_manifest(out, manifest)
            echo(f"[{step.name}] interrupted; finished stages are kept: rerun the same "
                 "command to resume")
            raise StageInterrupted(INTERRUPTED_CODES[code])
        if code != 0:
            stages[step.name] = {"status": "failed", "exit_code": code, "seconds": seconds}
            write_manifest(out, manifest)
            _report(out, echo, failed=True)
            raise _failure(step, code)
        stages[step.name] = {
            "status": "done", "fingerprint": key, "seconds": round(seconds, 2),
            "started": round(wall_start, 3),
            "peak_rss_mb": round(peak, 1), "config_file": str(step.config_file),
            "inputs": [str(p) for p in step.inputs],
            **({"compute": _compute_of(step)} if _compute_of(step) else {}),
            "outputs": [content_checksum(p) for p in step.outputs],
            **({"shared_inputs": shared} if shared else {}),
        }
        write_manifest(out, manifest)
    write_manifest(out, manifest)
    _report(out, echo)
    return manifest


def _report(out: Path, echo: Callable[[str], None], *, failed: bool = False) -> None:
    """Write OUT/report.html (``hrlc report``); after a failed stage, a report that cannot
    be made is only noted, since the stage's own error is the one to show."""
    try:
        echo(f"[report] {write_run_report(out)}")
    except HrlcError as exc:
        if not failed:
            raise
        echo(f"[report] not written: {exc}")
