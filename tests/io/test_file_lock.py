"""hrlc.io.writers.FileLock: one writer at a time across threads and processes, and it
travels to dask workers (pickled) as the same lock file."""

from __future__ import annotations

import pickle
import threading
import time

import pytest

from hrlc.io.writers import FileLock

fcntl = pytest.importorskip("fcntl")


def _locked_elsewhere(path: str) -> bool:
    """Whether another open file description cannot take the flock of ``path``."""
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def test_the_lock_file_is_held_while_inside_and_released_after(tmp_path):
    lock = FileLock(str(tmp_path / "band.tif"))
    assert lock.path == str(tmp_path / "band.tif.lock")
    with lock:
        assert _locked_elsewhere(lock.path)
    assert not _locked_elsewhere(lock.path)
    copy = pickle.loads(pickle.dumps(lock))
    assert copy.path == lock.path
    with copy:
        assert _locked_elsewhere(lock.path)


def test_threads_wait_for_each_other(tmp_path):
    lock, inside, overlaps = FileLock(str(tmp_path / "x.tif")), [], []

    def work():
        for _ in range(50):
            with lock:
                inside.append(1)
                time.sleep(0.0005)  # lets the other threads run: they must wait here
                overlaps.append(len(inside))
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(overlaps) == 200 and max(overlaps) == 1
