"""Atomic outputs: write under a temporary name in the target folder, then rename.

An interrupted or killed run leaves at most a ``.NAME.partial-*`` file or folder (or,
killed between the two renames that replace a folder, the old one as ``.NAME.old-*``),
never a half file under the final name; the next write of NAME removes such leftovers
before it starts, and :func:`remove_leftovers` sweeps a whole run folder.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hrlc.interrupts import check as check_interrupt
from hrlc.errors import HrlcError, OutputExistsError
from hrlc.io.lock import folder_lock


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def remove_settled(*paths: Path, settle: float = 1.0, seconds: float = 30.0) -> None:
    """Remove temporary outputs after an interrupt, again whenever one comes back within
    ``settle`` seconds: dask's threads may still be finishing the chunk they were writing
    into it (the scheduler stops handing out tasks at once, but does not wait for the
    running ones). The ``paths`` are watched together (one ``settle`` for all, not one
    each). Whatever a very long task writes after ``seconds`` stays a temporary name,
    which the next write of the same output sweeps."""
    import time

    def present() -> list[Path]:
        return [path for path in paths if path.exists() or path.is_symlink()]

    deadline = time.monotonic() + seconds
    for path in paths:
        _remove(path)
    while True:
        calm = time.monotonic() + settle
        while time.monotonic() < calm and not present():
            time.sleep(0.05)
        back = present()
        if not back or time.monotonic() > deadline:
            return
        for path in back:
            _remove(path)


def _leftovers(final: Path) -> list[Path]:
    return [*final.parent.glob(f".{final.name}.partial-*"),
            *final.parent.glob(f".{final.name}.old-*")]


def remove_leftovers(folder: str | os.PathLike, *, depth: int = 2) -> list[Path]:
    """Remove the temporary ``.NAME.partial-*`` / ``.NAME.old-*`` entries that an
    interrupted write left in ``folder`` and its sub-folders down to ``depth`` levels.

    Only call it when nothing is writing into ``folder``. Returns the removed paths.
    """
    folder = Path(folder)
    found = []
    for level in range(depth):
        prefix = "*/" * level
        found += [*folder.glob(f"{prefix}.*.partial-*"), *folder.glob(f"{prefix}.*.old-*")]
    for path in found:
        _remove(path)
    return found


@contextmanager
def atomic_output(final: str | os.PathLike, *, overwrite: bool = False,
                  after_interrupt: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` on success.

    Once the process was told to stop (:mod:`hrlc.interrupts`), nothing is renamed:
    the temporary path is removed and :class:`hrlc.interrupts.Interrupted` raised, even
    if the interrupt itself was lost on its way up; ``after_interrupt=True`` publishes
    anyway (the record of an interrupted run, which says so).

    Raises
    ------
    OutputExistsError
        ``final`` exists and ``overwrite`` is false.
    HrlcError
        The output folder cannot be created or written.
    """
    final = Path(final)
    _check_replaceable(final)
    if final.exists() and not overwrite:
        raise OutputExistsError(
            f"{final} already exists; pass --overwrite (overwrite=True) to replace it, or "
            "choose another output path"
        )
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HrlcError(f"cannot create output folder {final.parent}: {exc.strerror}") from None
    if not os.access(final.parent, os.W_OK):
        raise HrlcError(
            f"output folder {final.parent} is not writable; choose another output path or "
            "fix its permissions"
        )
    with folder_lock(final.parent, command=_command()):
        for stale in _leftovers(final):
            _remove(stale)
        tmp = final.with_name(f".{final.name}.partial-{uuid.uuid4().hex[:8]}")
        try:
            yield tmp
            if not after_interrupt:
                check_interrupt()
        except BaseException:
            remove_settled(tmp)
            raise
        if tmp.is_dir() and final.exists():
            trash = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(final, trash)
            os.replace(tmp, final)
            _remove(trash)
        else:
            os.replace(tmp, final)


def _command() -> str:
    import sys

    return " ".join(["hrlc", *sys.argv[1:3]]) if sys.argv else "hrlc"


def _check_replaceable(final: Path) -> None:
    """Refuse outputs that are the current folder or one of its parents, or the root:
    replacing them would pull the folder from under the run."""
    resolved, cwd = final.resolve(), Path.cwd().resolve()
    if final.name in ("", ".", "..") or resolved == cwd or resolved in cwd.parents:
        raise HrlcError(
            f"output {final} is the current folder or one of its parents ({resolved}); "
            "give a new sub-folder as output, e.g. ./run-output")
