"""The steps of ``hrlc run``: each stage's command line, resolved configuration, inputs
and outputs (:func:`plan`), and the fingerprint that says whether a finished step is
still valid."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hrlc.config.run import RunConfig
from hrlc.io.checksum import fast_hash, json_digest


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


#: Largest chunk of the masks stage: a season's time series per chunk (a full-tile season
#: of 8 dates peaks at 3.0 GB with 512 px chunks, 4.2 GB with 1024).
MASKS_CHUNKS = 512


def plan(run: RunConfig, out: Path, *, bundle: Path | None = None) -> list[Step]:
    """The steps of ``run`` in chain order, with their configurations and paths.

    ``bundle`` is a model made by another run (``model_from``) for the map step to use
    instead of this run's own ``model/model.npz``.
    """
    from hrlc.io.vectors import sample_paths  # pandas and xarray: not for hrlc info

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
             [features] + [Path(p) for p in label_files(run)],
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


def label_files(run: RunConfig) -> list[str]:
    """The files that say the classes of ``run``'s samples: class table, polygons, and
    each land-cover map with its code mapping (paths as the config gives them)."""
    files = [run.classes] if run.classes else []
    files += [run.polygons.path] if run.polygons else []
    return files + [p for m in run.lc_maps for p in (m.path, m.mapping)]


def fingerprint(step: Step, shared: list[dict]) -> str:
    """What a finished ``step`` must match to be skipped: a 16-hex digest of its command
    line, configuration, config files and the quick hashes of its inputs
    (:func:`hrlc.io.checksum.fast_hash`); ``shared``: the content checksums of the inputs
    made by another run (:attr:`Step.shared`). The digest is
    :func:`hrlc.io.checksum.json_digest`; a change of its encoding only makes finished
    steps run again."""
    inputs = [fast_hash(p) if p.exists() else {"path": str(p), "missing": True}
              for p in step.inputs]
    data = {"argv": step.argv, "config": step.config, "extra": step.extra, "inputs": inputs}
    if shared:  # only then, so that the fingerprints of earlier runs stay valid
        data["shared"] = shared
    return json_digest(data)[:16]
