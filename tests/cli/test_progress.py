import dask.array as da
from rich.console import Console

from hrlc.cli._progress import dask_progress


def test_progress_counts_every_task_of_every_compute():
    console = Console(record=True, width=120, force_terminal=False)
    with dask_progress("work", console=console):
        da.ones((40, 40), chunks=10).sum().compute()
        da.zeros((20, 20), chunks=10).sum().compute()
    text = console.export_text()
    done, total = text.split("work")[-1].split()[1].split("/")
    assert done == total and int(total) > 16
