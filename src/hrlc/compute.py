"""Choosing where dask runs: threads, processes, a LocalCluster or a remote scheduler."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dask

from hrlc.config import ComputeConfig


@contextmanager
def compute_context(config: ComputeConfig | None = None) -> Iterator[object | None]:
    """Run the enclosed dask computations on the scheduler ``config`` describes.

    Yields the ``distributed.Client`` for ``local`` and ``tcp://`` schedulers, else None.
    A LocalCluster started here is closed on exit; a remote scheduler is left running.
    """
    config = config or ComputeConfig()
    scheduler = config.scheduler
    if scheduler in ("threads", "processes", "synchronous"):
        options = {"scheduler": scheduler}
        if config.n_workers and scheduler != "synchronous":
            options["num_workers"] = config.n_workers
        with dask.config.set(**options):
            yield None
        return
    from distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=config.n_workers or 2, threads_per_worker=config.threads_per_worker,
            memory_limit=config.memory_limit, processes=True, dashboard_address=None,
        )
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    with Client(scheduler, timeout="30s") as client:
        yield client
