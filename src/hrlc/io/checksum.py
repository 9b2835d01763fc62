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

And the digests of values that identify what was computed (one scheme for all of hrlc):

- :func:`json_digest`: SHA-256 of a JSON-able value in the canonical encoding of
  :func:`canonical_json` (run and stage fingerprints, map identities, model bundle
  metadata);
- :func:`array_digest`: SHA-256 of an array's dtype, shape and C-order bytes (model
  bundle arrays);
- :func:`file_checksum`: SHA-256 of a whole file (a model bundle a map was made with).

The bundle checksums of :mod:`hrlc.model` were written with exactly these encodings
before they moved here, so bundles saved by earlier versions still verify.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

#: Files up to this size are hashed whole by :func:`content_checksum`.
FULL_HASH_BYTES = 16 << 20
_EDGE = 1 << 20


def _feed(digest, handle) -> None:
    """Update ``digest`` with the rest of the open binary file ``handle``, 1 MiB a time."""
    for block in iter(lambda: handle.read(_EDGE), b""):
        digest.update(block)


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
                _feed(digest, handle)
            else:
                digest.update(handle.read(_EDGE))
                handle.seek(-_EDGE, os.SEEK_END)
                digest.update(handle.read(_EDGE))
    return {"path": str(path), "bytes": total, "files": len(files),
            "blake2b": digest.hexdigest()}


def canonical_json(value: Any) -> bytes:
    """The canonical JSON encoding of ``value``: keys sorted, no spaces, ASCII only;
    objects JSON cannot encode (paths, dates...) are written as their ``str``.

    Equal values give equal bytes in any process (a tuple encodes as the list it holds).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      default=str).encode("ascii")


def json_digest(value: Any) -> str:
    """SHA-256 (64 hex characters) of ``value`` in :func:`canonical_json`'s encoding."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def array_digest(array: Any) -> str:
    """SHA-256 (64 hex characters) of an array: its dtype (``numpy`` ``dtype.str``, byte
    order included), its shape and its values as C-order bytes.

    The same bytes under another dtype or shape give another digest: the encoding is
    ``"<dtype>|<shape>|"`` (e.g. ``"<f4|(2, 3)|"``) followed by the bytes.
    """
    array = np.asarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}|{array.shape}|".encode())
    digest.update(array.tobytes(order="C"))
    return digest.hexdigest()


def file_checksum(path: str | os.PathLike) -> str:
    """SHA-256 (64 hex characters) of a file's whole content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        _feed(digest, handle)
    return digest.hexdigest()
