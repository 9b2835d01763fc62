"""Streamed, atomic writers: Cloud-Optimised GeoTIFF and Zarr.

Both compute the dask graph chunk by chunk (a tile is never whole in memory) and
write under a temporary name that is renamed only when the output is complete.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import dask.array as da
import numpy as np
import rasterio
import rasterio.shutil
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio.windows import Window

from hrlc.errors import GridMismatchError
from hrlc.io.atomic import atomic_output, remove_settled

try:  # an inter-process lock, so that threads, processes and workers can share a file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


class FileLock:
    """A picklable lock valid across threads (threading.Lock) and processes (flock on
    ``path + '.lock'``), so that threads, processes and dask workers can share a file.

    Parameters
    ----------
    path : str
        The file to guard; the lock file is ``path + '.lock'``, left in place after
        release (whoever made ``path`` removes it).

    Use as a context manager, or as the ``lock`` of :func:`dask.array.store`. On
    platforms without ``fcntl`` (Windows) it locks across threads only.
    """

    def __init__(self, path: str):
        self.path = path + ".lock"
        self._threads = threading.Lock()
        self._fd: int | None = None

    def acquire(self, *args, **kwargs) -> bool:
        self._threads.acquire()
        if fcntl is not None:
            self._fd = os.open(self.path, os.O_CREAT | os.O_RDWR)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._threads.release()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __getstate__(self):
        return {"path": self.path}

    def __setstate__(self, state):
        self.__init__(state["path"].removesuffix(".lock"))


class _WindowWriter:
    """dask ``store`` target that writes each block into a GeoTIFF opened in update mode."""

    def __init__(self, path: str, ndim: int):
        self.path, self.ndim = path, ndim

    def __setitem__(self, key: tuple[slice, ...], block: np.ndarray) -> None:
        if self.ndim == 2:
            key, block = (slice(0, 1), *key), block[np.newaxis]
        bands, rows, cols = key
        window = Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
        with rasterio.open(self.path, "r+") as dst:
            dst.write(block, indexes=list(range(bands.start + 1, bands.stop + 1)), window=window)


class _GdalWriteErrors(logging.Handler):
    """Collects the errors GDAL signalled without failing the call (rasterio logs them):
    a tile that libtiff could not write on a full disk is only logged, and the file would
    otherwise be complete in name only."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "signalled an error" in message:
            self.messages.append(message)


@contextmanager
def _failing_on_gdal_errors(path: Path) -> Iterator[None]:
    """Raise :class:`OSError` after the block if GDAL signalled an error in it."""
    # rasterio logs them from rasterio._err or rasterio._env: listen to their parent
    handler, logger = _GdalWriteErrors(), logging.getLogger("rasterio")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(min(level or logging.INFO, logging.INFO))
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    if handler.messages:
        code = _write_errno(path.parent)  # GDAL's message names libtiff's call, not why
        raise OSError(code, os.strerror(code), str(path))


def _write_errno(folder: Path) -> int:
    """The likely cause of a write GDAL could not complete: a file-size limit, a full
    disk, or an input/output error."""
    import errno
    import resource
    import shutil

    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY:
        return errno.EFBIG
    if shutil.disk_usage(folder).free < 64 * 1024 * 1024:
        return errno.ENOSPC
    return errno.EIO


def _georef(data: xr.DataArray):
    crs, transform = data.rio.crs, data.rio.transform(recalc=True)
    if crs is None:
        raise GridMismatchError(
            f"array {data.name or ''!s} has no CRS; attach one with .rio.write_crs(...) "
            "before writing a GeoTIFF"
        )
    return crs, transform


def write_cog(
    data: xr.DataArray,
    path: str | os.PathLike,
    *,
    nodata: float | None = None,
    band_descriptions: Sequence[str] | None = None,
    tags: Mapping[str, object] | None = None,
    colormap: Mapping[int, tuple[int, int, int]] | None = None,
    overview_resampling: str = "nearest",
    compress: str = "deflate",
    blocksize: int = 512,
    overwrite: bool = False,
) -> Path:
    """Write a (y, x) or (band, y, x) array as a tiled Cloud-Optimised GeoTIFF.

    The array is computed chunk by chunk into a temporary tiled GeoTIFF, converted to a
    COG with internal overviews (GDAL's COG driver), and renamed to ``path`` only when
    complete.

    Parameters
    ----------
    data : DataArray (y, x) or (band, y, x)
        Any dtype GeoTIFF supports; CRS and transform from ``data.rio``.
    nodata : float, optional
        Nodata value; default NaN for floating-point data, none for integers.
    band_descriptions : list of str, optional
        One per band; default: the values of the first dimension's coordinate.
    tags : mapping, optional
        Dataset metadata (class names, units, config hash...), stored as strings.
    colormap : mapping code -> (r, g, b), optional
        Internal colour table (single-band uint8 only).
    overview_resampling : str
        GDAL resampling for overviews: ``nearest``, ``mode`` (class maps), ``average``.
    overwrite : bool
        Replace an existing file; otherwise :class:`OutputExistsError`.

    Returns
    -------
    Path of the written file.
    """
    crs, transform = _georef(data)
    array = data.data if isinstance(data.data, da.Array) else da.from_array(
        np.asarray(data.data), chunks=1024)
    ndim = array.ndim
    if ndim not in (2, 3):
        raise ValueError(f"write_cog needs a (y, x) or (band, y, x) array, got dims {data.dims}")
    count = 1 if ndim == 2 else array.shape[0]
    dtype = np.dtype(array.dtype)
    if nodata is None and dtype.kind == "f":
        nodata = float("nan")
    if band_descriptions is None and ndim == 3 and data.dims[0] in data.coords:
        band_descriptions = [str(v) for v in data.coords[data.dims[0]].values]
    profile = dict(driver="GTiff", height=array.shape[-2], width=array.shape[-1], count=count,
                   dtype=dtype.name, crs=crs, transform=transform, nodata=nodata, tiled=True,
                   blockxsize=blocksize, blockysize=blocksize, BIGTIFF="IF_SAFER")
    with atomic_output(path, overwrite=overwrite) as tmp_cog, \
            _failing_on_gdal_errors(Path(path)):
        staging, failed = str(tmp_cog) + ".stage.tif", False
        try:
            with rasterio.open(staging, "w", **profile) as dst:
                if band_descriptions is not None:
                    for i, text in enumerate(band_descriptions, start=1):
                        dst.set_band_description(i, str(text))
                if tags:
                    dst.update_tags(**{k: str(v) for k, v in tags.items()})
                if colormap is not None:
                    dst.write_colormap(1, {int(k): tuple(v) for k, v in colormap.items()})
            da.store(array, _WindowWriter(staging, ndim), lock=FileLock(staging))
            rasterio.shutil.copy(
                staging, str(tmp_cog), driver="COG", COMPRESS=compress.upper(),
                BLOCKSIZE=blocksize, OVERVIEW_RESAMPLING=overview_resampling.upper(),
                BIGTIFF="IF_SAFER", NUM_THREADS="ALL_CPUS",
            )
        except BaseException:
            failed = True
            raise
        finally:
            leftovers = (Path(staging), Path(staging + ".lock"))
            if failed:  # dask threads still finishing a block may create them again
                remove_settled(*leftovers)
            else:
                for leftover in leftovers:
                    if leftover.exists():
                        os.remove(leftover)
    return Path(path)


def _zarr_ready(data: xr.DataArray | xr.Dataset) -> xr.Dataset:
    ds = data.to_dataset(name=data.name or "data") if isinstance(data, xr.DataArray) else data
    ds = ds.copy()
    for name, coord in ds.coords.items():
        if coord.dtype == object:
            ds = ds.assign_coords({name: coord.astype(str)})
    for var in ds.variables.values():
        var.encoding.pop("chunks", None)
        var.encoding.pop("preferred_chunks", None)
    return ds.unify_chunks() if any(v.chunks for v in ds.data_vars.values()) else ds


def write_zarr(data: xr.DataArray | xr.Dataset, path: str | os.PathLike, *,
               overwrite: bool = False) -> Path:
    """Write a (lazy) array or dataset to a Zarr store, chunk by chunk, atomically.

    Chunks on disk follow the dask chunks (irregular chunks are made regular first).
    The CRS travels in the ``spatial_ref`` coordinate, so :func:`read_zarr` gives it back.
    """
    ds = _zarr_ready(data)
    for name, var in ds.data_vars.items():
        if var.chunks is not None:
            regular = {dim: max(sizes) for dim, sizes in zip(var.dims, var.chunks)}
            ds[name] = var.chunk(regular)
    with atomic_output(path, overwrite=overwrite) as tmp:
        # Zarr format 2: readable by GDAL and every Zarr library, strings included.
        ds.to_zarr(tmp, mode="w", compute=True, zarr_format=2, consolidated=True)
    return Path(path)


def read_zarr(path: str | os.PathLike, name: str | None = None) -> xr.DataArray | xr.Dataset:
    """Open a Zarr store written by :func:`write_zarr` lazily (dask), CRS restored."""
    ds = xr.open_zarr(path)
    if "spatial_ref" in ds.data_vars:
        ds = ds.set_coords("spatial_ref")
    if name is None and len(ds.data_vars) == 1:
        name = next(iter(ds.data_vars))
    return ds[name] if name else ds
