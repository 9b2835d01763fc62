"""One writer at a time per folder: a lock file holding the PID, host and start time.

``hrlc run`` holds the lock of its run folder for the whole run; every atomic write
(:func:`hrlc.io.atomic.atomic_output`) holds the lock of the folder it writes into while
it writes. A process may take a lock that it, or its parent, already holds (the stages of
``hrlc run`` are its children), so only *another* run is stopped. The lock of a process
that is gone (same host, PID not alive) is stale and taken over.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hrlc.errors import FolderLockedError

LOCK_NAME = ".hrlc-lock"
#: Locks this process holds: folder -> nesting depth.
_HELD: dict[Path, int] = {}


def _holder(lock: Path) -> dict | None:
    try:
        return json.loads(lock.read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ours(holder: dict) -> bool:
    """The lock is this process's, or its run's: a stage of ``hrlc run`` is the run's
    child (``python -m hrlc``) or grandchild (forked by the run's launcher)."""
    if holder.get("host") != socket.gethostname():
        return False
    import psutil

    try:
        grandparent = psutil.Process(os.getppid()).ppid()
    except psutil.Error:
        grandparent = None
    return holder.get("pid") in (os.getpid(), os.getppid(), grandparent)


def _stale(holder: dict | None) -> bool:
    if holder is None:  # unreadable: a lock being written, or a damaged one
        return False
    return holder.get("host") == socket.gethostname() and not _alive(int(holder["pid"]))


def _describe(holder: dict | None, lock: Path) -> str:
    if holder is None:
        return f"another hrlc process (lock file {lock})"
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("started", 0)))
    return (f"{holder.get('command', 'hrlc')} (PID {holder.get('pid')} on "
            f"{holder.get('host')}, since {started})")


def _create(lock: Path, command: str) -> bool:
    record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
              "command": command}
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(record))
    return True


@contextmanager
def folder_lock(folder: str | os.PathLike, *, command: str = "hrlc",
                on_stale=None) -> Iterator[None]:
    """Hold the lock of ``folder`` (created if missing) for the duration of the block.

    ``on_stale(text)`` is told when a stale lock of a dead process is taken over.

    Raises
    ------
    FolderLockedError
        Another live process holds the lock; the message names it and the fix.
    """
    folder = Path(folder).resolve()
    if folder in _HELD:
        _HELD[folder] += 1
        try:
            yield
        finally:
            _HELD[folder] -= 1
        return
    lock = folder / LOCK_NAME
    created = _acquire(lock, command, on_stale)
    _HELD[folder] = 1
    try:
        yield
    finally:
        del _HELD[folder]
        if created:
            lock.unlink(missing_ok=True)


def _acquire(lock: Path, command: str, on_stale) -> bool:
    """Take ``lock``; True if this process created it (False: held by our parent)."""
    for _ in range(3):
        if _create(lock, command):
            return True
        holder = _holder(lock)
        if holder is not None and _ours(holder):
            return False
        if _stale(holder):
            if on_stale is not None:
                on_stale(f"took over the lock of {_describe(holder, lock)}, which is no "
                         "longer running")
            lock.unlink(missing_ok=True)
            continue
        if holder is None:  # being written by its owner: look again
            time.sleep(0.05)
            continue
        break
    raise FolderLockedError(
        f"{lock.parent} is in use by {_describe(_holder(lock), lock)}; wait until it ends, "
        f"or if that process is gone on another machine, delete {lock}")
