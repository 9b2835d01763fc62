"""``hrlc run --from STAGE --until STAGE``: the part of a run's plan to execute.

The stages before ``--from`` are not run: the outputs of theirs that the selected
stages read must already exist (made by an earlier run); the stages after ``--until``
are left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hrlc.config.run import STAGES
from hrlc.errors import ConfigError, InputError

if TYPE_CHECKING:
    from hrlc.pipeline.plan import Step


def check_range(stages: list[str], from_stage: str | None, until_stage: str | None) -> None:
    """Refuse a ``--from``/``--until`` that names no stage of the run, or a reversed range.

    Raises
    ------
    ConfigError
        The message lists the stages of the run.
    """
    listed = ", ".join(s for s in STAGES if s in stages)
    for option, name in (("--from", from_stage), ("--until", until_stage)):
        if name is not None and name not in stages:
            raise ConfigError(f"{option} {name!r} is not a stage of this run; choose one of: "
                              f"{listed} (the config's 'stages')")
    if from_stage and until_stage and STAGES.index(from_stage) > STAGES.index(until_stage):
        raise ConfigError(f"--from {from_stage!r} comes after --until {until_stage!r} in the "
                          f"chain; the stages in order: {listed}")


def selected(steps: list[Step], from_stage: str | None, until_stage: str | None) -> list[Step]:
    """The steps from ``from_stage`` until ``until_stage`` (both inclusive, chain order)."""
    first = STAGES.index(from_stage) if from_stage else 0
    last = STAGES.index(until_stage) if until_stage else len(STAGES) - 1
    return [s for s in steps if first <= STAGES.index(s.name) <= last]


def check_upstream(steps: list[Step], chosen: list[Step]) -> None:
    """Every input that a chosen step reads and an unchosen earlier step makes exists.

    Raises
    ------
    InputError
        Names the missing output and the stage that makes it.
    """
    names = {s.name for s in chosen}
    makers = {path: step.name for step in steps if step.name not in names
              for path in step.outputs}
    for step in chosen:
        for path in step.inputs:
            if path in makers and not path.exists():
                raise InputError(
                    f"stage '{step.name}' needs {path}, which stage '{makers[path]}' makes "
                    f"and is not there; run that stage first (e.g. --from {makers[path]})")
