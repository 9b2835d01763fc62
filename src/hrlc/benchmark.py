"""Measuring wall time and peak memory of a piece of work, side by side with a reference.

Each measured call runs in a fresh child process (``fork`` where available), so the
peak resident set size (RSS) of one case is not inflated by the previous one.
:func:`machine_facts` records the machine a result was measured on (cores, CPU, load,
BLAS, library versions): every result file should carry it.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hrlc.versions import library_versions

#: The libraries whose versions a benchmark result records (``versions``).
VERSIONS = ("python", "numpy", "scikit-learn", "dask", "rasterio", "gdal")


def _child(queue, func, args, kwargs) -> None:
    start = time.perf_counter()
    try:
        result = func(*args, **kwargs)
        error = None
    except Exception as exc:  # reported to the parent, which re-raises
        result, error = None, f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024
    queue.put({"seconds": seconds, "peak_rss_mb": peak_mb, "result": result, "error": error})


def measure(func: Callable[..., Any], *args, **kwargs) -> dict[str, Any]:
    """Run ``func(*args, **kwargs)`` in a child process.

    Returns
    -------
    dict
        ``seconds`` (wall time of the call), ``peak_rss_mb`` (peak RSS of the child,
        MiB, including the interpreter and imports) and ``result`` (the return value,
        which must be picklable).
    """
    methods = mp.get_all_start_methods()
    context = mp.get_context("fork" if "fork" in methods else "spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, func, args, kwargs))
    process.start()
    report = queue.get()
    process.join()
    if report["error"]:
        raise RuntimeError(f"benchmark case failed: {report['error']}")
    return report


class PeakRSS:
    """Sample the RSS of this process every ``interval`` s inside a ``with`` block.

    ``peak`` (bytes) is the largest RSS seen; with ``children=True`` it is the largest sum
    over this process and all its descendants (joblib or multiprocessing workers), and
    ``children_cpu_seconds`` the CPU time they used (the last value seen of each: workers
    that outlive the block are not in ``RUSAGE_CHILDREN``).
    """

    def __init__(self, *, children: bool = False, interval: float = 0.2):
        self.children, self.interval = children, interval
        self.peak, self._cpu = 0, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def children_cpu_seconds(self) -> float:
        return sum(self._cpu.values())

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(self.interval):
            total = 0
            for proc in [me, *(me.children(recursive=True) if self.children else [])]:
                try:
                    total += proc.memory_info().rss
                    if proc.pid != me.pid:
                        times = proc.cpu_times()
                        self._cpu[proc.pid] = times.user + times.system
                except psutil.Error:  # a worker that just exited
                    pass
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def load_average() -> list[float]:
    """The system load averaged over 1, 5 and 15 minutes (runnable processes)."""
    return [round(v, 2) for v in os.getloadavg()]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # not Linux
        pass
    return platform.processor() or platform.machine()


def _blas() -> list[dict[str, Any]]:
    """The BLAS/OpenMP libraries loaded by numpy, SciPy and scikit-learn (threadpoolctl)."""
    import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports)
    import sklearn.utils  # noqa: F401  (loads SciPy's BLAS and OpenMP)
    from threadpoolctl import threadpool_info

    keys = ("user_api", "internal_api", "version", "architecture", "threading_layer",
            "num_threads", "prefix")
    return [{k: pool.get(k) for k in keys} for pool in threadpool_info()]


def machine_facts(*, load_at_start: Sequence[float] | None = None) -> dict[str, Any]:
    """What a benchmark result needs to be read: the machine, its load, the libraries.

    Parameters
    ----------
    load_at_start : sequence of 3 float, optional
        :func:`load_average` taken when the measured work started; default: now.

    Returns
    -------
    dict
        ``cores`` (``os.cpu_count()``), ``cpu_model``, ``memory_gb`` (total RAM, GiB),
        ``platform``, ``load_average_start`` and ``load_average_end`` (runnable
        processes over 1, 5, 15 min: a load above ``cores`` means the run shared the
        CPUs), ``blas`` (per BLAS/OpenMP library: internal_api, version, architecture,
        num_threads... from threadpoolctl) and ``versions`` (python, numpy,
        scikit-learn, dask, rasterio, GDAL).
    """
    import psutil

    end = load_average()
    start = [round(float(v), 2) for v in load_at_start] if load_at_start is not None else end
    if len(start) != 3:
        raise ValueError(f"load_at_start must be the 3 load averages (1, 5, 15 min) of "
                         f"os.getloadavg(); got {load_at_start!r}")
    return {"cores": os.cpu_count(), "cpu_model": _cpu_model(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(), "load_average_start": start,
            "load_average_end": end, "blas": _blas(), "versions": library_versions(VERSIONS)}


def write_results(name: str, rows: list[dict[str, Any]], folder: str | Path = "benchmarks/results",
                  *, machine: dict | None = None) -> Path:
    """Save benchmark rows as JSON (``folder/name.json``) and print them as a table.

    ``machine`` (:func:`machine_facts` of the run) is stored in every row that has no
    record of its own, so that each row says on what machine and load it was measured.
    """
    from rich.console import Console
    from rich.table import Table

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    if machine is not None:
        rows = [row if "machine" in row else {**row, "machine": machine} for row in rows]
    path.write_text(json.dumps(rows, indent=2, default=str))
    table = Table(title=name)
    columns = [k for k in dict.fromkeys(k for row in rows for k in row) if k != "machine"]
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(f"{row.get(c):.3g}" if isinstance(row.get(c), float) else str(row.get(c, ""))
                        for c in columns))
    Console().print(table)
    return path
