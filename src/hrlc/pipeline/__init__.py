"""``hrlc run``: the chain from L2A scenes to a land-cover map, resumable, with a manifest.

Each stage runs as its own ``hrlc <stage>`` command in a process of its own (forked by
the run's launcher, :mod:`~hrlc.cli.launcher`, on Linux), from a resolved
configuration written to ``OUT/configs/`` (so any stage can be rerun by hand), and is
measured there: wall time and peak RSS of that stage alone (``os.wait4``). A stage whose
configuration and inputs are unchanged since it last finished (recorded in
``OUT/manifest.json``) and whose outputs still match the content checksums recorded then
is skipped: an interrupted run resumes where it stopped, and a damaged intermediate is
recomputed. Ctrl-C is passed on to the running stage, which removes its temporary
outputs (see :mod:`hrlc.io.atomic`); the command then exits with code 130.

The package: :mod:`~hrlc.pipeline.plan` (steps and fingerprints), :mod:`~hrlc.pipeline.select`
(``--from``/``--until``), :mod:`~hrlc.pipeline.folder` (one run folder: manifest, lock,
stages as processes of their own, :mod:`~hrlc.pipeline.child`), :mod:`~hrlc.pipeline.ownership`
(which files the run owns), :mod:`~hrlc.pipeline.tiles` (several tiles from one config),
:mod:`~hrlc.pipeline.report` (``OUT/report.html``) and ``hrlc experiment``
(:mod:`~hrlc.pipeline.experiment`, :mod:`~hrlc.pipeline.experiment_files`).
"""

from __future__ import annotations

from collections.abc import Callable

from hrlc.config.run import STAGES, RunConfig
from hrlc.io.checksum import content_checksum, fast_hash
from hrlc.io.manifest import MANIFEST
from hrlc.pipeline.folder import make_run_folder, read_manifest, run_folder
from hrlc.pipeline.plan import Step, plan
from hrlc.pipeline.select import check_range
from hrlc.pipeline.tiles import run_tiles


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
    top-level manifest (see :func:`hrlc.pipeline.tiles.run_tiles`).

    The run folder must be new, empty, or a run folder of hrlc (``force`` adopts another
    one); the run holds its lock (:mod:`hrlc.io.lock`) throughout and never replaces a
    file it did not write (:mod:`hrlc.pipeline.ownership`).

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
    check_range(run.stages, from_stage, until_stage)
    if run.tiles:
        return run_tiles(run, config_source=config_source, restart=restart,
                         from_stage=from_stage, until_stage=until_stage, force=force,
                         echo=echo)
    return run_folder(run, config_source=config_source, restart=restart,
                      from_stage=from_stage, until_stage=until_stage, force=force, echo=echo)


__all__ = ["MANIFEST", "STAGES", "Step", "content_checksum", "fast_hash", "make_run_folder",
           "plan", "read_manifest", "run_chain", "run_folder"]
