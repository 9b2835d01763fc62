"""Checksums of run inputs and outputs, for resuming a run safely.

Two strengths:

- :func:`fast_hash` identifies an *input* cheaply (a file's size and first/last MiB, a
  folder's listing of names, sizes and modification times): it decides whether a stage
  must run again because what it reads changed.
- :func:`content_checksum` verifies an *output* that a finished stage wrote: the bytes of
  every file up to ``FULL_HASH_BYTES`` (model bundles, Parquet tables, JSON, Zarr chunks,
  small COGs) and, for larger files, their size plus their first and last MiB. A
  truncated, overwritten or deleted intermediate is found without trusting modification
  times; a same-size change in the middle of a file larger than ``FULL_HASH_BYTES`` is
  the one case it misses. Cost: about one second per GB of small files.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: Files up to this size are hashed whole by :func:`content_checksum`.
FULL_HASH_BYTES = 16 << 20
_EDGE = 1 << 20


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def fast_hash(path: str | os.PathLike) -> dict:
    """Size and a quick hash of a file (first and last MiB), or of a folder's file
    listing (relative names, sizes, modification times)."""
    path = Path(path)
    digest = hashlib.blake2b(digest_size=12)
    if path.is_dir():
        size = 0
        for file in _files(path):
            stat = file.stat()
            size += stat.st_size
            digest.update(f"{file.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return {"path": str(path), "bytes": size, "hash": digest.hexdigest()}
    size = path.stat().st_size
    with open(path, "rb") as handle:
        digest.update(handle.read(_EDGE))
        if size > 2 * _EDGE:
            handle.seek(-_EDGE, os.SEEK_END)
            digest.update(handle.read())
    digest.update(str(size).encode())
    return {"path": str(path), "bytes": size, "hash": digest.hexdigest()}


def content_checksum(path: str | os.PathLike) -> dict:
    """Content checksum (blake2b) of an output file or folder.

    Returns
    -------
    dict
        ``path``, ``bytes`` (total size), ``files`` (count) and ``blake2b`` (hex digest
        of every file's relative name, size and content; see the module notes).
    """
    path = Path(path)
    digest = hashlib.blake2b(digest_size=16)
    files = _files(path)
    total = 0
    for file in files:
        size = file.stat().st_size
        total += size
        name = file.relative_to(path).as_posix() if file != path else ""
        digest.update(f"{name}\0{size}\0".encode())
        with open(file, "rb") as handle:
            if size <= FULL_HASH_BYTES:
                for block in iter(lambda: handle.read(_EDGE), b""):
                    digest.update(block)
            else:
                digest.update(handle.read(_EDGE))
                handle.seek(-_EDGE, os.SEEK_END)
                digest.update(handle.read(_EDGE))
    return {"path": str(path), "bytes": total, "files": len(files),
            "blake2b": digest.hexdigest()}
