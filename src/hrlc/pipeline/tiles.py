"""``hrlc run`` of several tiles (or years) from one config (``tiles:``).

Layout: each tile is a run folder of its own, ``OUT/<tile>/`` (stage outputs,
``configs/``, ``manifest.json``, ``report.html``), made by :func:`hrlc.pipeline.folder.run_folder`
exactly as a run without tiles; ``OUT/manifest.json`` (format ``hrlc-run-tiles``) lists the
tiles with their folder, status, stage statuses and the model their map used.

With ``model_from: <tile>`` that tile runs first and is the only one that runs dataset
and train; the other tiles map with its bundle, whose content checksum is part of their
map step's fingerprint (and recorded in their manifest as ``shared_inputs``), so a
retrained model remaps every tile. ``parallel_tiles`` tiles run side by side (threads
that each wait for their tile's stage processes; the ``model_from`` tile runs first,
alone); within a stage the ``compute`` block applies as usual, so on a cluster every
stage of every tile runs there. The first failing tile stops new tiles from starting; the
running ones run to their end. Ctrl-C interrupts every running stage.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

from hrlc.config.run import RunConfig
from hrlc.errors import HrlcError, InputError, StageInterrupted
from hrlc.io.checksum import json_digest as digest
from hrlc.io.lock import folder_lock
from hrlc.pipeline.child import stop_all
from hrlc.pipeline.folder import make_run_folder, read_manifest, run_folder, write_manifest
from hrlc.pipeline.plan import plan
from hrlc.pipeline.select import check_upstream, selected

#: ``format`` of the top-level manifest of a run with tiles.
TILES_FORMAT = "hrlc-run-tiles"


def tile_order(run: RunConfig) -> list[str]:
    """The tiles in the order they run: the one providing the model first."""
    names = list(run.tiles or {})
    return sorted(names, key=lambda name: name != run.model_from)


def _bundle(run: RunConfig, tiles: dict[str, RunConfig], name: str) -> Path | None:
    """The shared model tile ``name`` maps with (None: its own, or no sharing)."""
    if run.model_from in (None, name):
        return None
    return Path(tiles[run.model_from].output) / "model" / "model.npz"


def run_tiles(run: RunConfig, *, config_source: str = "config", restart: bool = False,
              from_stage: str | None = None, until_stage: str | None = None,
              force: bool = False, echo: Callable[[str], None] = print) -> dict:
    """Run (or resume) every tile of ``run``, each in ``OUT/<tile>/``; return the top-level
    manifest. Arguments as :func:`hrlc.pipeline.run_chain`; lines are prefixed with the
    tile's name.

    Raises
    ------
    InputError
        Before any stage runs: an input that ``from_stage`` skips making is missing in
        some tile; or, when a tile is reached, the shared model it maps with is missing.
    HrlcError, StageInterrupted
        As :func:`hrlc.pipeline.run_chain`; the tile is recorded as failed or interrupted.
    """
    tiles = {name: run.tile(name) for name in tile_order(run)}
    for name, tile in tiles.items():  # a missing input is found now, not after an hour
        steps = plan(tile, Path(tile.output), bundle=_bundle(run, tiles, name))
        check_upstream(steps, selected(steps, from_stage, until_stage))
    out = Path(run.output)
    make_run_folder(out, force=force)
    with folder_lock(out, command="hrlc run", on_stale=lambda text: echo(f"[run] {text}")):
        return _run_tiles(run, tiles, out, config_source=config_source, restart=restart,
                          from_stage=from_stage, until_stage=until_stage, force=force,
                          echo=echo)


def _run_tiles(run: RunConfig, tiles: dict[str, RunConfig], out: Path, *, config_source: str,
               restart: bool, from_stage: str | None, until_stage: str | None, force: bool,
               echo: Callable[[str], None]) -> dict:
    """The body of :func:`run_tiles`, under the lock of the top folder."""
    resolved = run.model_dump(mode="json")
    before = read_manifest(out).get("tiles", {})
    if "damaged" in read_manifest(out):
        echo(f"[run] {out / 'manifest.json'} is damaged; rebuilding it")
    manifest = {"format": TILES_FORMAT, "version": 1, "config_source": config_source,
                "config": resolved, "config_hash": digest(resolved)[:16],
                "model_from": run.model_from,
                "tiles": {name: {"output": tile.output, "status": "pending",
                                 **{k: v for k, v in before.get(name, {}).items()
                                    if k in ("stages", "model")}}
                          for name, tile in tiles.items()}}
    write_manifest(out, manifest)
    recording = threading.Lock()  # tiles side by side update one manifest

    def run_one(name: str) -> None:
        tile, entry, bundle = tiles[name], manifest["tiles"][name], _bundle(run, tiles, name)
        chosen = {s.name for s in selected(plan(tile, Path(tile.output), bundle=bundle),
                                           from_stage, until_stage)}
        if bundle is not None and "map" in chosen and not bundle.exists():
            raise InputError(f"tile {name!r} maps with the model of tile {run.model_from!r}, "
                             f"{bundle}, which is not there; run that tile's train stage "
                             "(e.g. --from train)")
        try:
            done = run_folder(tile, config_source=config_source, restart=restart,
                              from_stage=from_stage, until_stage=until_stage, bundle=bundle,
                              extra={"tile": name, "model_from": run.model_from}, force=force,
                              echo=lambda text: echo(f"{name} {text}"))
        except (HrlcError, StageInterrupted) as exc:
            with recording:
                entry["status"] = ("interrupted" if isinstance(exc, StageInterrupted)
                                   else "failed")
                entry["stages"] = {k: v.get("status") for k, v in
                                   read_manifest(Path(tile.output)).get("stages", {}).items()}
                write_manifest(out, manifest)
            raise
        with recording:
            entry.update(status="done",
                         stages={k: v.get("status") for k, v in done["stages"].items()},
                         model=str(bundle or Path(tile.output) / "model" / "model.npz"))
            write_manifest(out, manifest)

    names = list(tiles)
    if run.model_from is not None:  # its model is what the others map with
        run_one(names.pop(0))
    if run.parallel_tiles == 1 or len(names) < 2:
        for name in names:
            run_one(name)
        return manifest
    _side_by_side(run_one, names, workers=run.parallel_tiles)
    return manifest


def _side_by_side(run_one: Callable[[str], None], names: list[str], *, workers: int) -> None:
    """``run_one`` of every name, ``workers`` at a time; the first error (in the order of
    ``names``) is raised once the running tiles have stopped, and no new tile starts
    after a failure. Ctrl-C interrupts every running stage (:func:`stop_all`)."""
    with ThreadPoolExecutor(max_workers=min(workers, len(names)),
                            thread_name_prefix="hrlc-tile") as pool:
        futures = [pool.submit(run_one, name) for name in names]
        try:
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            if any(f.exception() is not None for f in done):
                for future in pending:
                    future.cancel()
            wait(futures)
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            stop_all()
            wait(futures)
            raise
    for future in futures:
        if not future.cancelled() and future.exception() is not None:
            raise future.exception()


__all__ = ["TILES_FORMAT", "run_tiles", "tile_order"]
