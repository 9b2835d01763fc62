"""Choosing where dask runs: threads, processes, a LocalCluster or a remote scheduler.

dask is imported on first use: ``hrlc info`` and ``--help``, which import the run
pipeline, stay free of it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

from hrlc.config import ComputeConfig
from hrlc.errors import HrlcError

#: The environment variable through which ``hrlc run`` hands its stages the LocalCluster
#: it started for them: JSON of the cluster's address and of the settings it was started
#: with (see :class:`RunCluster`).
RUN_CLUSTER_VARIABLE = "HRLC_RUN_CLUSTER"


def _local_settings(config: ComputeConfig) -> dict:
    """The LocalCluster that ``config`` describes, as keyword arguments."""
    return {"n_workers": config.n_workers or 2, "threads_per_worker": config.threads_per_worker,
            "memory_limit": config.memory_limit}


def _start_local_cluster(config: ComputeConfig):
    """A LocalCluster of worker processes, leaving this process's environment as it was.

    distributed's nannies set ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and
    ``OPENBLAS_NUM_THREADS`` (1), ``MALLOC_TRIM_THRESHOLD_``, ``PYTHONHASHSEED`` and
    ``__DASK_PARENT_PID`` in ``os.environ`` to pass them to the workers they spawn, and
    leave them there: every stage ``hrlc run`` started afterwards got BLAS and OpenMP on one
    thread, and the run replaced its stage launcher (a changed environment) at the first
    stage after the cluster's start. The workers have their variables by then; a nanny
    sets them again before it restarts one."""
    from distributed import LocalCluster

    before = dict(os.environ)
    try:
        return LocalCluster(**_local_settings(config), processes=True, dashboard_address=None)
    finally:
        for name in set(os.environ) - set(before):
            os.environ.pop(name, None)
        for name, value in before.items():
            if os.environ.get(name) != value:
                os.environ[name] = value


def _run_cluster_address(config: ComputeConfig) -> str | None:
    """The address of the run's LocalCluster (:data:`RUN_CLUSTER_VARIABLE`) if it was
    started with the settings of ``config``; else None (the caller starts its own)."""
    try:
        shared = json.loads(os.environ.get(RUN_CLUSTER_VARIABLE, ""))
        address = shared.pop("address")
    except (ValueError, TypeError, AttributeError, KeyError):
        return None
    return address if shared == _local_settings(config) else None


@contextmanager
def compute_context(config: ComputeConfig | None = None) -> Iterator[object | None]:
    """Run the enclosed dask computations on the scheduler ``config`` describes.

    Yields the ``distributed.Client`` for ``local`` and ``tcp://`` schedulers, else None.
    ``local`` uses the LocalCluster of the ``hrlc run`` this stage belongs to when that
    run started one with the same settings (:class:`RunCluster`), else starts one and
    closes it on exit; a remote scheduler is left running.
    """
    config = config or ComputeConfig()
    scheduler = config.scheduler
    if scheduler in ("threads", "processes", "synchronous"):
        import dask

        options = {"scheduler": scheduler}
        if config.n_workers and scheduler != "synchronous":
            options["num_workers"] = config.n_workers
        with dask.config.set(**options):
            yield None
        return
    from distributed import Client

    if scheduler == "local":
        address = _run_cluster_address(config)
        client = None
        if address is not None:
            try:
                client = Client(address, timeout=f"{config.connect_timeout}s")
            except (OSError, TimeoutError):  # the run's cluster is gone: one of our own
                client = None
        if client is not None:
            with client:
                yield client
            return
        cluster = _start_local_cluster(config)
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(scheduler, timeout=f"{config.connect_timeout}s")
    except (OSError, TimeoutError) as exc:
        raise HrlcError(
            f"cannot reach the dask scheduler {scheduler} within {config.connect_timeout:g} s "
            f"({type(exc).__name__}); start it (dask scheduler), check the address, or raise "
            "compute.connect_timeout") from None
    with client:
        yield client


class RunCluster:
    """The LocalCluster of one ``hrlc run`` whose compute block says ``local``: started
    when its first stage starts, shared by all its stages (each stage starting a cluster
    of its own spent about 7 CPU-s and 9 s on the cluster's start, its workers' imports
    and its close), closed with the run (a context manager).

    ``environment()`` gives the variables a stage needs to use it: none for the other
    schedulers.
    """

    def __init__(self, config: ComputeConfig):
        self.config = config
        self.cluster = None

    def environment(self) -> dict[str, str]:
        """``{RUN_CLUSTER_VARIABLE: ...}`` for a stage, the cluster started on first use;
        ``{}`` unless the scheduler is ``local``."""
        if self.config.scheduler != "local":
            return {}
        if self.cluster is None:
            try:
                self.cluster = _start_local_cluster(self.config)
            except (OSError, RuntimeError, TimeoutError, ValueError) as exc:
                raise HrlcError(
                    f"cannot start the run's LocalCluster ({self.config.n_workers or 2} "
                    f"workers, memory_limit {self.config.memory_limit}): {exc}; check the "
                    "compute: block, or use scheduler: threads") from None
        return {RUN_CLUSTER_VARIABLE: json.dumps(
            {"address": self.cluster.scheduler_address, **_local_settings(self.config)})}

    def close(self) -> None:
        if self.cluster is not None:
            cluster, self.cluster = self.cluster, None
            cluster.close()

    def __enter__(self) -> RunCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
