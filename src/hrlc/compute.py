"""Choosing where dask runs: threads, processes, a LocalCluster or a remote scheduler."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dask

from hrlc.config import ComputeConfig
from hrlc.errors import HrlcError


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
    try:
        client = Client(scheduler, timeout=f"{config.connect_timeout}s")
    except (OSError, TimeoutError) as exc:
        raise HrlcError(
            f"cannot reach the dask scheduler {scheduler} within {config.connect_timeout:g} s "
            f"({type(exc).__name__}); start it (dask scheduler), check the address, or raise "
            "compute.connect_timeout") from None
    with client:
        yield client
