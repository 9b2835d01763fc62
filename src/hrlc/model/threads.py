"""BLAS on one thread, for work that a multithreaded BLAS only slows down."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the enclosed code with the BLAS libraries (OpenBLAS, MKL) on one thread.

    For two kinds of work: many small BLAS calls (a calibrator's optimiser over a few
    thousand decision values: OpenBLAS wakes its threads for each call and they spin
    between calls; 24 Platt fits on 3,000 values took 0.6 CPU-s and 2.0 s on 2 threads,
    0.05 CPU-s and 0.35 s on one), and work that runs its own threads (a multithreaded
    BLAS beside them only contends).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
