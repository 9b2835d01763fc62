"""The model bundle file: one ``.npz`` archive of arrays plus a JSON metadata entry.

The format's content (which arrays, the metadata's keys, the checksum record) is
:mod:`hrlc.model.bundle`'s; this module only puts a metadata dict and named arrays into
the archive and takes them out again. The metadata is stored as the entry ``__meta__``
(UTF-8 JSON as uint8), so ``numpy.load(path, allow_pickle=False)`` reads every entry.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from hrlc.errors import CorruptFileError, InputError
from hrlc.io.atomic import atomic_output

#: Name of the metadata entry of the archive.
META = "__meta__"


def write_bundle_file(path: str | os.PathLike, meta: Mapping, arrays: Mapping[str, np.ndarray],
                      *, overwrite: bool = False) -> Path:
    """Write ``arrays`` and the JSON-ready ``meta`` as one ``.npz`` archive, atomically;
    returns ``path``.

    Raises
    ------
    ValueError
        An array is named ``__meta__``.
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    """
    if META in arrays:
        raise ValueError(f"an array may not be named {META!r}: the archive keeps the "
                         "metadata under that name; rename the array")
    entries = {**arrays, META: np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    with atomic_output(path, overwrite=overwrite) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **entries)
    return Path(path)


def read_bundle_file(path: str | os.PathLike) -> tuple[object, dict[str, np.ndarray]]:
    """The metadata (parsed JSON, not checked) and the arrays of a bundle archive.

    Raises
    ------
    InputError
        ``path`` is not a file.
    CorruptFileError
        Not an ``.npz`` archive with a JSON ``__meta__`` entry (corrupt or truncated).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: model bundle not found; train one with `hrlc train`")
    try:
        with np.load(path, allow_pickle=False) as archive:
            # fresh copies: arrays read from a zip member may be less aligned than numpy's
            # own allocations, and BLAS then takes another code path (last-bit differences)
            arrays = {k: np.array(archive[k], copy=True) for k in archive.files}
        meta = json.loads(bytes(arrays.pop(META)).decode())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise CorruptFileError(f"{path}: not an hrlc model bundle ({exc}); if it is one, it "
                               "is corrupt or truncated: train it again with `hrlc train`"
                               ) from None
    return meta, arrays
