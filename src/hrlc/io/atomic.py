"""Atomic outputs: write under a temporary name in the target folder, then rename.

An interrupted run leaves at most a ``.NAME.partial-*`` file or folder, never a half
file under the final name; the next run removes such leftovers before it starts.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hrlc.errors import HrlcError, OutputExistsError


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


@contextmanager
def atomic_output(final: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` on success.

    Raises
    ------
    OutputExistsError
        ``final`` exists and ``overwrite`` is false.
    HrlcError
        The output folder cannot be created or written.
    """
    final = Path(final)
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
    for stale in final.parent.glob(f".{final.name}.partial-*"):
        _remove(stale)
    tmp = final.with_name(f".{final.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if tmp.is_dir() and final.exists():
        trash = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final, trash)
        os.replace(tmp, final)
        _remove(trash)
    else:
        os.replace(tmp, final)
