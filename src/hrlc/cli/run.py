"""``hrlc run``: the whole chain from one YAML file, resumable."""

from __future__ import annotations

from pathlib import Path

import typer

from hrlc.cli.options import AreaOfInterest, OutputOverride, output_override, read_options


def run(
    config: Path = typer.Argument(..., exists=True, dir_okay=False,
                                  help="Run YAML (see configs/run.yaml)."),
    output: Path | None = OutputOverride,
    restart: bool = typer.Option(False, "--restart",
                                 help="Redo the selected stages, even finished ones."),
    from_stage: str | None = typer.Option(
        None, "--from", metavar="STAGE",
        help="Start at this stage; the outputs of earlier stages must exist."),
    until_stage: str | None = typer.Option(
        None, "--until", metavar="STAGE", help="Stop after this stage."),
    aoi: str | None = AreaOfInterest,
    force: bool = typer.Option(
        False, "--force", help="Adopt an output folder that is not a run folder of hrlc; "
        "files hrlc did not write are never replaced."),
) -> None:
    """Run the chain: masks, composite, restore, features, dataset, train, map.

    Every stage writes into the run's output folder, with its resolved configuration in
    OUT/configs/ (rerun one stage with [bold]hrlc <stage> OUT/configs/<stage>.yaml[/]) and
    a manifest (versions, config hash, inputs and outputs with checksums, per-stage time
    and peak memory). An interrupted or failed run resumes: finished stages whose
    configuration and inputs did not change, and whose outputs still match their
    checksums, are skipped. [bold]--from[/]/[bold]--until[/] run only the stages between
    them (inclusive); with [bold]--restart[/] only those are redone.

    With [bold]tiles:[/] in the config, each tile (or year) runs in OUT/<tile>/ with its
    own outputs, configs, manifest and report, one tile after another; OUT/manifest.json
    lists the tiles. [bold]model_from: <tile>[/] trains once, on that tile (run first),
    and maps every tile with its model. Exit code 2 on an error, 130 on Ctrl-C, 143 on
    SIGTERM, 129 on SIGHUP.

    The output folder must be new, empty, or a run folder of hrlc ([bold]--force[/] adopts
    another one); a file the run did not write is never replaced, and one run at a time
    uses a folder (a lock file names the run holding it).

    [bold]--aoi[/] (or [bold]read: aoi:[/] in the config) runs every stage on the area of
    interest only; it is part of each stage's configuration, so changing it reruns them.

    Example: [bold]hrlc run configs/run.yaml --from features --until train[/]
    """
    from rich.console import Console

    from hrlc.config import load_config
    from hrlc.config.run import RunConfig
    from hrlc.errors import StageInterrupted
    from hrlc.pipeline import run_chain

    console = Console(soft_wrap=True)
    cfg = load_config(config, RunConfig,
                      overrides=output_override(output))
    cfg.read = read_options(cfg.read, aoi=aoi)
    def echo(text: str) -> None:
        console.print(text, highlight=False, markup=False)

    try:
        manifest = run_chain(cfg, config_source=str(config), restart=restart,
                             from_stage=from_stage, until_stage=until_stage, force=force,
                             echo=echo)
    except StageInterrupted as exc:  # the run printed the one-line message itself
        raise SystemExit(128 + exc.signum) from None
    from hrlc.cli.info import print_manifest

    print_manifest(manifest, console)
