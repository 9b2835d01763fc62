"""Native thread pools (BLAS, OpenMP) on one thread, for work that more threads only slow
down: many small calls, between which the idle threads spin, or work that runs threads of
its own. Both are context managers and decorators (threadpoolctl)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


def take_blas_control() -> None:
    """Make the calling thread the one whose OpenBLAS limits count: threadpoolctl (>= 3.8)
    lets only one "controlling" thread change OpenBLAS limits and silently ignores the
    others, so a limit set on the main thread after a dask pool thread took control (a
    map predicted in this process) would do nothing."""
    from threadpoolctl import OpenBLASController

    clear = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the enclosed code with the BLAS libraries (OpenBLAS, MKL) on one thread.

    For many small BLAS calls (a calibrator's optimiser over a few thousand decision
    values: OpenBLAS wakes its threads for each call and they spin between calls; 24
    Platt fits on 3,000 values took 0.6 CPU-s and 2.0 s on 2 threads, 0.05 CPU-s and
    0.35 s on one), and for work that runs its own threads (a multithreaded BLAS beside
    them only contends).
    """
    from threadpoolctl import threadpool_limits

    take_blas_control()
    limiter = threadpool_limits(limits=1, user_api="blas")
    try:
        yield
    finally:
        take_blas_control()
        limiter.restore_original_limits()


@contextmanager
def one_openmp_thread() -> Iterator[None]:
    """Run the enclosed code with OpenMP (scikit-learn's K-means) on one thread.

    For K-means fits on a sample (tens of thousands of rows, a few features): each
    iteration is a short parallel region, between which the OpenMP threads spin. A
    MiniBatchKMeans fit (8 clusters, 50,000 x 3, 3 inits) took 0.5-1.6 CPU-s and
    0.8-1.9 s on 2 threads, 0.07 CPU-s and 0.07-0.18 s on one.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield
