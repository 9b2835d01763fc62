"""A rich progress bar over the tasks of dask computations (shared by every command)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dask.callbacks import Callback


class _TaskBar(Callback):
    """Advances a rich task per finished dask task (local schedulers only)."""

    def __init__(self, progress, label: str):
        super().__init__()
        self.progress, self.label, self.task = progress, label, None

    def _start_state(self, dsk, state):
        total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
        if self.task is None:
            self.task = self.progress.add_task(self.label, total=total)
        else:  # a second compute inside the same context: extend the bar
            self.progress.update(self.task, total=self.progress.tasks[self.task].total + total)

    def _posttask(self, key, result, dsk, state, worker_id):
        self.progress.advance(self.task)


def _columns():
    from rich.progress import (BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    return (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn())


@contextmanager
def count_progress(label: str, total: int, *, console=None) -> Iterator[Callable[[], None]]:
    """A rich progress bar of ``total`` units of work; yields the function that advances
    it by one (thread-safe: rich's Progress holds a lock)."""
    from rich.console import Console
    from rich.progress import Progress

    console = console or Console(stderr=True, soft_wrap=True)
    with Progress(*_columns(), console=console, transient=False) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


@contextmanager
def dask_progress(label: str, *, client=None, console=None) -> Iterator[None]:
    """Show a progress bar for the dask work done inside the block.

    On a dask.distributed cluster (``client`` given) the bar follows the futures of the
    cluster through the dashboard instead; this prints where to look.
    """
    from rich.console import Console
    from rich.progress import Progress

    console = console or Console(stderr=True, soft_wrap=True)
    if client is not None:
        link = getattr(client, "dashboard_link", None)
        console.print(f"{label}: running on the cluster" + (f" (dashboard: {link})" if link else ""))
        yield
        return
    with Progress(*_columns(), console=console, transient=False) as progress, \
            _TaskBar(progress, label):
        yield
