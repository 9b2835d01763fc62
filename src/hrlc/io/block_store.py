"""The Zarr store of a resumable block-by-block computation, with completion markers.

:func:`hrlc.mapping.compute_blocks` schedules the blocks; this module touches the files:
:func:`open_block_store` creates the store (metadata and coordinates, no data) or keeps
one of the same ``fingerprint``; :func:`write_block` writes one spatial block of every
variable and then drops an empty marker file ``.hrlc-blocks/<row>_<col>``;
:func:`pending_blocks` lists the blocks without a marker. A block cut off half way has
no marker and is written again.

Zarr chunks equal the dask chunks, so two tasks never write the same Zarr chunk and the
store can be filled from threads, processes or dask.distributed workers that see the
same file system.
"""

from __future__ import annotations

import os
import shutil
from itertools import product
from pathlib import Path

import numpy as np
import xarray as xr

#: Folder of the completion markers, inside the store.
MARKERS = ".hrlc-blocks"
#: File holding the fingerprint of the run that made the store, inside the store.
FINGERPRINT = ".hrlc-fingerprint"


def _create(ds: xr.Dataset, path: Path, fingerprint: str) -> None:
    """Write the store's metadata and coordinates (no data) under a temporary name,
    then rename it to ``path``."""
    tmp = path.with_name(f".{path.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    encoding = {name: {"chunks": tuple(max(c) for c in var.chunks), "_FillValue": None}
                for name, var in ds.data_vars.items()}
    template = ds.drop_encoding() if hasattr(ds, "drop_encoding") else ds
    template.to_zarr(tmp, mode="w", compute=False, zarr_format=2, consolidated=True,
                     encoding=encoding)
    (tmp / MARKERS).mkdir()
    (tmp / FINGERPRINT).write_text(fingerprint)
    os.replace(tmp, path)


def open_block_store(ds: xr.Dataset, path: str | os.PathLike, *, fingerprint: str,
                     resume: bool = True) -> Path:
    """Make ``path`` the store of ``ds``'s blocks: keep an existing one made with the same
    ``fingerprint`` (when ``resume``), else discard it and create it afresh.

    Parameters
    ----------
    ds : Dataset of (..., y, x) dask variables
        Its chunks become the Zarr chunks.
    path : path
        The Zarr store (its parent folder is created).
    fingerprint : str
        Identity of the run (config, model checksum, grid).
    resume : bool
        False: discard any existing store.

    Returns
    -------
    Path of the store.
    """
    path = Path(path)
    if path.exists():
        stored = path / FINGERPRINT
        same = stored.is_file() and stored.read_text() == fingerprint
        if not (resume and same):
            shutil.rmtree(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create(ds, path, fingerprint)
    return path


def block_marker(path: str | os.PathLike, row: int, col: int) -> str:
    """The completion marker of block (row, col) of the store at ``path``."""
    return str(Path(path) / MARKERS / f"{row}_{col}")


def write_block(path: str, names: list[str], region: tuple[slice, slice], marker: str,
                *blocks: np.ndarray) -> None:
    """Write one spatial block of each variable ``names`` (the arrays ``blocks``, in the
    same order, (..., y, x)) at ``region`` (y, x slices, pixels) of the store at ``path``;
    then create the block's ``marker`` (:func:`block_marker`)."""
    import zarr

    group = zarr.open_group(path, mode="r+", zarr_format=2)
    for name, block in zip(names, blocks):
        group[name][(Ellipsis, *region)] = block
    Path(marker).touch()


def pending_blocks(path: str | os.PathLike, shape: tuple[int, int]) -> list[tuple[int, int]]:
    """Block indices (row, col) of a (rows, cols) block grid without a completion marker."""
    done = {entry.name for entry in os.scandir(Path(path) / MARKERS)}
    return [(i, j) for i, j in product(range(shape[0]), range(shape[1]))
            if f"{i}_{j}" not in done]
