"""Opening the rasters and cubes that stages exchange: composites, DEMs, Zarr stores."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import rioxarray
import xarray as xr

from hrlc.errors import CorruptFileError, InputError
from hrlc.io.grid import open_header


def open_zarr_store(path: str | os.PathLike) -> xr.Dataset:
    """Open a Zarr store lazily with its CRS (the ``spatial_ref`` grid mapping)."""
    if "://" not in str(path) and not Path(path).exists():
        raise InputError(f"{path}: no such Zarr store; check the path or run the stage "
                         "that writes it")
    try:
        return xr.open_zarr(path, decode_coords="all")
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path}: not a readable Zarr store ({exc})") from None


#: Modules whose errors mean that a stored chunk cannot be decoded.
_CODECS = ("numcodecs", "zarr.codecs", "zarr.core.codec_pipeline", "zarr.core.buffer")


def _raised_by_codec(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith(_CODECS):
            return True
        tb = tb.tb_next
    return False


@contextmanager
def decoding(*paths: str | os.PathLike) -> Iterator[None]:
    """Report a chunk of a Zarr store that fails to decode during a compute (a truncated or
    overwritten chunk file) as a :class:`CorruptFileError` naming the store(s) read.

    Only errors raised inside the Zarr/numcodecs decoders are translated; a computation
    that fails for another reason keeps its own error.
    """
    try:
        yield
    except (RuntimeError, ValueError, OSError, TypeError) as exc:
        if not _raised_by_codec(exc):
            raise
        stores = " or ".join(str(p) for p in paths)
        raise CorruptFileError(
            f"{stores}: a chunk cannot be decoded ({type(exc).__name__}: {exc}); the store "
            "is corrupt or truncated: write it again (rerun the stage that made it)"
        ) from None


def open_raster(path: str | os.PathLike, *, chunks: int, scale: float = 1.0,
                masked: bool = True) -> xr.DataArray:
    """A GeoTIFF/JP2 as a lazy float32 (band, y, x) array: nodata as NaN, values times
    ``scale``, bands named by the file's band descriptions when it has them."""
    open_header(str(path))  # a clear CorruptFileError for a missing or broken file
    array = rioxarray.open_rasterio(path, masked=masked, chunks={"y": chunks, "x": chunks})
    names = array.attrs.get("long_name")
    if isinstance(names, str):
        names = (names,)
    if names and all(names) and len(names) == array.sizes["band"]:
        array = array.assign_coords(band=list(names))
    return (array.astype(np.float32) * np.float32(scale)).astype(np.float32)


def open_dem(path: str | os.PathLike, *, chunks: int, use_nodata: bool = True) -> xr.DataArray:
    """A DEM as a lazy float32 (y, x) array in metres, its nodata as NaN if ``use_nodata``."""
    return open_raster(path, chunks=chunks, masked=use_nodata).isel(band=0, drop=True)


def open_composites(paths: Sequence[str | os.PathLike], *, chunks: int,
                    options=None) -> xr.DataArray:
    """Monthly composites as (time, band, y, x): a Zarr store written by ``hrlc composite``
    or ``hrlc restore`` (its ``reflectance``), or L2A sources read as they are."""
    from hrlc.io.l2a import read_l2a

    paths = [str(p) for p in paths]
    if len(paths) == 1 and paths[0].rstrip("/").endswith(".zarr"):
        store = open_zarr_store(paths[0])
        if "reflectance" in store.data_vars:
            cube = store["reflectance"]
        elif len(store.data_vars) == 1:
            cube = next(iter(store.data_vars.values()))
        else:
            raise InputError(f"{paths[0]}: holds {', '.join(store.data_vars)} but no "
                             "'reflectance'; give the store written by hrlc composite/restore")
        return cube.chunk({"time": -1, "band": -1, "y": chunks, "x": chunks})
    return read_l2a(paths, resolution=10, chunks=chunks, options=options)
