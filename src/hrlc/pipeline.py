"""``hrlc run``: the chain from L2A scenes to a land-cover map, resumable, with a manifest.

Each stage runs as its own ``hrlc <stage>`` command in a child process, from a resolved
configuration written to ``OUT/configs/`` (so any stage can be rerun by hand), and is
measured there: wall time and peak RSS of that stage alone (``os.wait4``). A stage whose
configuration and inputs are unchanged since it last finished (recorded in
``OUT/manifest.json``) and whose outputs are all present is skipped: an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import yaml

from hrlc.config.run import STAGES, RunConfig
from hrlc.errors import HrlcError
from hrlc.io.atomic import atomic_output

MANIFEST = "manifest.json"
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


def _yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def plan(run: RunConfig, out: Path) -> list[Step]:
    """The steps of ``run`` in chain order, with their configurations and paths."""
    compute = run.compute.model_dump(mode="json")
    read = run.read.model_dump(mode="json") if run.read else None
    sources = [str(Path(s)) for s in run.sources]
    cfg = out / "configs"
    masks_dir, composites, restored = out / "masks", out / "composites.zarr", out / "restored.zarr"
    features, samples, model = out / "features.zarr", out / "dataset" / "samples.parquet", out / "model"
    bundle, map_dir = model / "model.npz", out / "map"
    common = ["--scheduler", run.compute.scheduler] + (
        ["--workers", str(run.compute.n_workers)] if run.compute.n_workers else [])
    dem = [Path(run.dem)] if run.dem else []
    # Features come from the restored composites, else the composites, else the sources
    # themselves (composites made elsewhere, or a single scene as a one-month stack).
    if "restore" in run.stages or restored.exists():
        monthly = [restored]
    elif "composite" in run.stages or composites.exists():
        monthly = [composites]
    else:
        monthly = [Path(s) for s in sources]
    steps = [
        Step("masks", ["masks", str(cfg / "masks.yaml"), "--overwrite"],
             {"sources": sources, "dem": run.dem, "output": str(masks_dir), "chunks": run.chunks,
              "scl_masks": True, "source": run.mask_source, "read": read,
              "masks": run.masks.model_dump(mode="json"), "compute": compute},
             [Path(s) for s in sources] + dem, [masks_dir]),
        Step("composite", ["composite", *sources, "--out", str(composites), "--config",
                           str(cfg / "composite.yaml"), "--masks", str(masks_dir), "--chunks",
                           str(run.chunks), "--overwrite", *common]
             + (["--bands", ",".join(run.bands)] if run.bands else [])
             + (["--mapping", str(cfg / "read.yaml")] if read else []),
             run.composite.model_dump(mode="json"), [masks_dir], [composites],
             extra={"read.yaml": read}),
        Step("restore", ["restore", str(composites), "--out", str(restored), "--config",
                         str(cfg / "restore.yaml"), "--chunks", str(min(run.chunks, 1024)),
                         "--overwrite", *common] + (["--dem", run.dem] if run.dem else []),
             run.restore.model_dump(mode="json"), [composites] + dem, [restored]),
        Step("features", ["features", str(cfg / "features.yaml"), "--overwrite", *common],
             {"composites": [str(p) for p in monthly], "dem": run.dem, "output": str(features),
              "chunks": run.chunks, "read": read,
              "features": run.features.model_dump(mode="json"), "compute": compute},
             monthly + dem, [features]),
        Step("dataset", ["dataset", str(cfg / "dataset.yaml"), "--overwrite", *common],
             {"features": {"zarr": str(features), "chunks": run.chunks}, "classes": run.classes,
              "polygons": run.polygons.model_dump(mode="json") if run.polygons else None,
              "lc_maps": [m.model_dump(mode="json") for m in run.lc_maps],
              "output": str(samples), "report": str(out / "dataset" / "report"),
              "dataset": run.dataset.model_dump(mode="json"), "compute": compute},
             [features] + [Path(p) for p in _label_files(run)], [samples]),
        Step("train", ["train", str(cfg / "train.yaml"), "--overwrite"],
             {"samples": str(samples), "output": str(model), "bundle": str(bundle),
              "train": run.train.model_dump(mode="json")}, [samples], [bundle]),
        Step("map", ["map", str(cfg / "map.yaml"), "--overwrite", *common],
             {"bundle": str(bundle), "features": str(features), "output": str(map_dir),
              "chunks": run.chunks, "map": run.map.model_dump(mode="json"), "compute": compute},
             [bundle, features], [map_dir]),
    ]
    for step in steps:
        step.config_file = cfg / f"{step.name}.yaml"
    return [s for s in steps if s.name in run.stages]


def _label_files(run: RunConfig) -> list[str]:
    files = [run.classes] if run.classes else []
    files += [run.polygons.path] if run.polygons else []
    return files + [p for m in run.lc_maps for p in (m.path, m.mapping)]


def fast_hash(path: Path) -> dict:
    """Size and a quick content hash of a file (first and last MiB), or of a folder's
    file listing (relative names, sizes, modification times)."""
    digest = hashlib.blake2b(digest_size=12)
    if path.is_dir():
        size = 0
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            stat = file.stat()
            size += stat.st_size
            digest.update(f"{file.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return {"path": str(path), "bytes": size, "hash": digest.hexdigest()}
    size = path.stat().st_size
    with open(path, "rb") as handle:
        digest.update(handle.read(1 << 20))
        if size > 2 << 20:
            handle.seek(-(1 << 20), os.SEEK_END)
            digest.update(handle.read())
    digest.update(str(size).encode())
    return {"path": str(path), "bytes": size, "hash": digest.hexdigest()}


def _hash_of(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _fingerprint(step: Step) -> str:
    inputs = [fast_hash(p) if p.exists() else {"path": str(p), "missing": True}
              for p in step.inputs]
    return _hash_of({"argv": step.argv, "config": step.config, "extra": step.extra,
                     "inputs": inputs})


def read_manifest(out: Path) -> dict:
    """The run's manifest (empty when the run has not started)."""
    path = Path(out) / MANIFEST
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}  # a damaged manifest only costs recomputation


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


def _run_child(argv: list[str]) -> tuple[int, float, float]:
    """Run ``hrlc ARGV`` in a child process: (exit code, seconds, peak RSS MiB)."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "hrlc", *argv])
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        raise
    process.returncode = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return process.returncode, time.perf_counter() - start, peak


def run_chain(run: RunConfig, *, config_source: str = "config", restart: bool = False,
              echo: Callable[[str], None] = print) -> dict:
    """Run (or resume) every stage of ``run``; return the manifest.

    Raises
    ------
    HrlcError
        A stage failed: its own one-line message was printed above; finished stages are
        kept and not redone on the next run.
    """
    out = Path(run.output)
    (out / "configs").mkdir(parents=True, exist_ok=True)
    resolved = run.model_dump(mode="json")
    manifest = {} if restart else read_manifest(out)
    manifest.update({
        "format": "hrlc-run", "version": 1, "config_source": config_source,
        "config": resolved, "config_hash": _hash_of(resolved), "software": _versions(),
        "seeds": _seeds(resolved), "scenes": _scenes(run),
        "inputs": [fast_hash(Path(p)) for p in run.sources + _label_files(run)
                   + ([run.dem] if run.dem else [])],
    })
    stages = manifest.setdefault("stages", {})
    for step in plan(run, out):
        for name, content in {step.config_file.name: step.config, **step.extra}.items():
            if content is not None:
                (out / "configs" / name).write_text(_yaml(content))
        fingerprint = _fingerprint(step)
        record = stages.get(step.name, {})
        if (record.get("status") == "done" and record.get("fingerprint") == fingerprint
                and all(p.exists() for p in step.outputs)):
            echo(f"[{step.name}] up to date, skipped")
            continue
        echo(f"[{step.name}] hrlc {' '.join(step.argv)}")
        code, seconds, peak = _run_child(step.argv)
        if code != 0:
            stages[step.name] = {"status": "failed", "exit_code": code, "seconds": seconds}
            _write_manifest(out, manifest)
            raise HrlcError(
                f"stage '{step.name}' failed (exit code {code}); its message is above. Fix "
                f"the cause and rerun the same command: finished stages are not redone"
            )
        stages[step.name] = {
            "status": "done", "fingerprint": fingerprint, "seconds": round(seconds, 2),
            "peak_rss_mb": round(peak, 1), "config_file": str(step.config_file),
            "outputs": [fast_hash(p) for p in step.outputs],
        }
        _write_manifest(out, manifest)
    _write_manifest(out, manifest)
    return manifest


__all__ = ["STAGES", "Step", "fast_hash", "plan", "read_manifest", "run_chain"]
