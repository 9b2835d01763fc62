"""Native thread pools (BLAS, OpenMP) on one thread, for work that more threads only slow
down: many small calls, between which the idle threads spin, or work that runs threads of
its own: :func:`one_blas_thread` and :func:`one_openmp_thread` (context managers and
decorators), on a limit shared by the threads of the process (:class:`SharedLimit`), set
through one kept threadpoolctl controller (:func:`native_pools`)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_controller_lock = threading.Lock()
#: The threadpoolctl controller and the number of modules imported when it was made.
_controller: tuple[Any, int] | None = None


def native_pools() -> Any:
    """A ``threadpoolctl.ThreadpoolController`` of the native thread pools loaded now.

    Making one scans every shared library of the process (2.5-3.5 ms); a limit set through
    it costs about 0.01 ms. One is kept and made anew only when modules were imported since
    (an import may load another BLAS or OpenMP library). Training sets such limits hundreds
    of times (each binary SVM's calibration)."""
    global _controller
    with _controller_lock:
        if _controller is None or _controller[1] != len(sys.modules):
            from threadpoolctl import ThreadpoolController

            _controller = (ThreadpoolController(), len(sys.modules))
        return _controller[0]


def take_blas_control() -> None:
    """Make the calling thread the one whose OpenBLAS limits count: threadpoolctl (>= 3.8)
    lets only one "controlling" thread change OpenBLAS limits and silently ignores the
    others, so a limit set on the main thread after a dask pool thread took control (a
    map predicted in this process) would do nothing."""
    from threadpoolctl import OpenBLASController

    clear = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


class SharedLimit:
    """A process-wide limit on the threads of one kind of native pool (``user_api``:
    "blas" or "openmp"), held while any thread of this process is inside it.

    Limits are global to a process, so threads share one: the first in sets it, the last
    one out restores the original. (One threadpoolctl limiter per thread does not do: a
    second thread entering while the first holds the limit takes that limit for the
    original, and whichever leaves last restores the wrong one; training left BLAS on one
    thread for the rest of the process that way.) threadpoolctl (>= 3.8) lets only one
    "controlling" thread change OpenBLAS limits and silently ignores the others, so the
    thread that sets or restores takes control first, under this lock. Call it with the
    number of threads (None: no limit) to get a context manager.
    """

    def __init__(self, user_api: str):
        self.user_api = user_api
        self._lock = threading.Lock()
        self._users = 0
        self._limiter = None

    @contextmanager
    def __call__(self, threads: int | None) -> Iterator[None]:
        if threads is None:
            yield
            return
        with self._lock:
            if self._users == 0:
                take_blas_control()
                self._limiter = native_pools().limit(limits=threads, user_api=self.user_api)
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    take_blas_control()
                    self._limiter.restore_original_limits()
                    self._limiter = None


_blas = SharedLimit("blas")
_openmp = SharedLimit("openmp")


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the enclosed code with the BLAS libraries (OpenBLAS, MKL) on one thread.

    For many small BLAS calls (a calibrator's optimiser over a few thousand decision
    values: OpenBLAS wakes its threads for each call and they spin between calls; 24
    Platt fits on 3,000 values took 0.6 CPU-s and 2.0 s on 2 threads, 0.05 CPU-s and
    0.35 s on one), and for work that runs its own threads (a multithreaded BLAS beside
    them only contends). Threads of this process share the limit (:class:`SharedLimit`).
    """
    with _blas(1):
        yield


@contextmanager
def one_openmp_thread() -> Iterator[None]:
    """Run the enclosed code with OpenMP (scikit-learn's K-means) on one thread.

    For K-means fits on a sample (tens of thousands of rows, a few features): each
    iteration is a short parallel region, between which the OpenMP threads spin. A
    MiniBatchKMeans fit (8 clusters, 50,000 x 3, 3 inits) took 0.5-1.6 CPU-s and
    0.8-1.9 s on 2 threads, 0.07 CPU-s and 0.07-0.18 s on one.
    """
    with _openmp(1):
        yield
