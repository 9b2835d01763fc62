"""Running one stage's benchmark script as a child process and reading its result."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import hrlc
from hrlc.bench_suite.results import SUITE, row_from_file
from hrlc.bench_suite.stages import STAGES, Options, Stage
from hrlc.errors import ConfigError, InputError


def default_benchmarks() -> Path:
    """``benchmarks/`` of the source checkout this hrlc is imported from."""
    return Path(hrlc.__file__).resolve().parents[2] / "benchmarks"


def check_benchmarks(folder: Path, stages: Sequence[str]) -> None:
    """Raise :class:`InputError` unless ``folder`` holds the scripts of ``stages``."""
    if not folder.is_dir():
        raise InputError(
            f"benchmarks folder {folder} not found: the benchmark scripts ship with the source "
            "tree, not with the installed package; run from a git checkout of hrlc or pass "
            "--benchmarks DIR")
    missing = [STAGES[s].script for s in stages if not (folder / STAGES[s].script).is_file()]
    if missing:
        raise InputError(f"benchmarks folder {folder} has no {', '.join(missing)}; pass the "
                         "benchmarks/ folder of an hrlc source checkout with --benchmarks DIR")


#: Stages run only when named: the chain runs every other stage again, for hours on a
#: full tile.
ON_REQUEST = ("chain",)


def select(names: Sequence[str]) -> list[str]:
    """Stage names in suite order; all but :data:`ON_REQUEST` when none given. Accepts
    ``a,b`` lists."""
    wanted = [n.strip() for name in names for n in name.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in STAGES]
    if unknown:
        raise ConfigError(f"unknown stage {unknown[0]!r}; choose from {', '.join(STAGES)}")
    if not wanted:
        return [n for n in STAGES if n not in ON_REQUEST]
    return [n for n in STAGES if n in wanted]


@dataclass(frozen=True)
class Job:
    """One stage to run: its command line, where it writes its JSON and its log."""

    stage: Stage
    command: list[str]
    output: Path
    log: Path

    def text(self) -> str:
        return shlex.join(self.command)


def plan(stages: Sequence[str], options: Options, *, benchmarks: Path, results: Path,
         python: str = sys.executable) -> list[Job]:
    """The jobs of a suite run (nothing is run or written)."""
    jobs = []
    for name in stages:
        stage = STAGES[name]
        out = results / SUITE / f"{name}-{options.size}"
        command = [python, str(benchmarks / stage.script), *stage.arguments(options, out)]
        jobs.append(Job(stage, command, stage.output(out), out.with_suffix(".log")))
    return jobs


class StageFailed(Exception):
    """A benchmark script exited with an error or wrote no usable result."""


def run_job(job: Job, *, results: Path, cwd: Path,
            on_line: Callable[[str], None] = lambda line: None) -> dict:
    """Run ``job``; its table row, with the machine's cores and load around the run.

    Output lines are written to ``job.log`` and passed to ``on_line`` as they come.

    Raises
    ------
    StageFailed
        The script failed (the message quotes its last output line and the log).
    """
    job.log.parent.mkdir(parents=True, exist_ok=True)
    job.output.unlink(missing_ok=True)  # a stale result must not pass for this run's
    load = [os.getloadavg()[0]]
    start = time.perf_counter()
    last = ""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(job.log, "w") as log:
        log.write(f"# {datetime.now().isoformat(timespec='seconds')}: {job.text()}\n")
        process = subprocess.Popen(job.command, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, cwd=cwd, env=env)
        for line in process.stdout:
            log.write(line)
            if line.strip():
                last = line.strip()
                on_line(last)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stdout.close()
    seconds = time.perf_counter() - start
    load.append(os.getloadavg()[0])
    if process.returncode != 0:
        raise StageFailed(f"{job.stage.name}: {job.stage.script} exited with code "
                          f"{process.returncode} ({last[:160]}); log: {job.log}")
    if not job.output.is_file():
        raise StageFailed(f"{job.stage.name}: {job.stage.script} wrote no {job.output}; "
                          f"log: {job.log}")
    try:
        row = row_from_file(job.stage, job.output, results)
    except ValueError as exc:
        raise StageFailed(str(exc)) from None
    row.setdefault("cores", None)
    row.update(cores=row["cores"] or os.cpu_count(), load=[round(v, 2) for v in load],
               command=job.text(), script_seconds=round(seconds, 1),
               script_peak_rss_gb=round(usage.ru_maxrss / 2**20, 2))
    return row
