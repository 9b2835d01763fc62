"""The benchmark suite: every stage's benchmark script run at one size, and one table.

``hrlc bench`` runs the scripts of ``benchmarks/`` (they ship with the source tree) as
child processes, reads the JSON each writes, and keeps a table of the latest result of
every stage (``benchmarks/results/bench_all.json`` and ``benchmarks/RESULTS.md``) next
to hrlc's targets and the reference chain's figures (its existing pipeline's and the
reference deck's xarray re-implementation's, :data:`REFERENCE`).
"""

from __future__ import annotations

from hrlc.bench_suite.results import file_rows, latest, markdown, payload, previous_rows
from hrlc.bench_suite.run import (
    Job,
    StageFailed,
    check_benchmarks,
    default_benchmarks,
    plan,
    run_job,
    select,
)
from hrlc.bench_suite.stages import (
    FULL_TILE,
    REFERENCE,
    REFERENCE_SOURCE,
    STAGES,
    TARGET,
    Figures,
    Options,
    Stage,
)

__all__ = [
    "FULL_TILE",
    "REFERENCE",
    "REFERENCE_SOURCE",
    "STAGES",
    "TARGET",
    "Figures",
    "Job",
    "Options",
    "Stage",
    "StageFailed",
    "check_benchmarks",
    "default_benchmarks",
    "file_rows",
    "latest",
    "markdown",
    "payload",
    "plan",
    "previous_rows",
    "run_job",
    "select",
]
