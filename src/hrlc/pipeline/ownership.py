"""Which files in a run folder the run owns.

The manifest (:mod:`hrlc.io.manifest`) lists the paths the run **owns** (``owned``): a
stage's outputs and configuration files are claimed there *before* the stage starts, and
a path that exists in the folder without being claimed is a user's file, which the run
refuses to replace.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hrlc.errors import FolderOwnershipError
from hrlc.io.lock import LOCK_NAME


def check_adoptable(out: Path, manifest_name: str, *, force: bool) -> None:
    """Refuse a run folder that holds files but no manifest, unless ``force``.

    Raises
    ------
    FolderOwnershipError
        ``out`` is not empty and has no manifest of hrlc.
    """
    if force or not out.is_dir() or (out / manifest_name).exists():
        return
    entries = sorted(p.name for p in out.iterdir() if p.name != LOCK_NAME)
    if entries:
        shown = ", ".join(entries[:4]) + (" ..." if len(entries) > 4 else "")
        raise FolderOwnershipError(
            f"{out} holds {len(entries)} entries ({shown}) and no {manifest_name}: it is not "
            "a run folder of hrlc. Give a new or empty folder as output, or pass --force to "
            "adopt it (hrlc then writes only its own outputs and never replaces a file it "
            "did not write)")


def claim(manifest: dict, paths: Iterable[Path]) -> None:
    """Record ``paths`` as the run's in ``manifest`` (write it before the stage starts).

    Raises
    ------
    FolderOwnershipError
        One of them exists and the run does not own it; nothing is recorded.
    """
    paths = [str(Path(p)) for p in paths]
    owned = set(manifest.get("owned", []))
    foreign = [p for p in paths if p not in owned and Path(p).exists()]
    if foreign:
        raise FolderOwnershipError(
            f"{foreign[0]} exists and was not written by this run; hrlc never replaces a "
            "file it did not write: move it away, or choose another output folder")
    manifest["owned"] = sorted(owned | set(paths))
