"""Measuring wall time and peak memory of a piece of work, side by side with a reference.

Each measured call runs in a fresh child process (``fork`` where available), so the
peak resident set size (RSS) of one case is not inflated by the previous one.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


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


def write_results(name: str, rows: list[dict[str, Any]], folder: str | Path = "benchmarks/results") -> Path:
    """Save benchmark rows as JSON (``folder/name.json``) and print them as a table."""
    from rich.console import Console
    from rich.table import Table

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(rows, indent=2, default=str))
    table = Table(title=name)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(f"{row.get(c):.3g}" if isinstance(row.get(c), float) else str(row.get(c, ""))
                        for c in columns))
    Console().print(table)
    return path
