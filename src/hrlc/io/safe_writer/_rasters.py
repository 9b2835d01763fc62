"""Streaming the simulated layers into raster files, block by block.

Every layer of a product is first written, window by window as dask computes the blocks,
into an uncompressed tiled GeoTIFF at the layer's native resolution ("staging"). Then
each staging file is encoded once into its final form - lossless JPEG 2000
(``QUALITY=100, REVERSIBLE=YES``) for SAFE products, DEFLATE-compressed tiled GeoTIFF,
or a Cloud-Optimised GeoTIFF for truth layers - because JPEG 2000 and COG can only be
created from a complete source. Memory stays at a few blocks whatever the tile size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.windows import Window

from hrlc.io.writers import FileLock

QUANTIFICATION = 10000.0
#: GDAL block cache while writing (GDAL's default, 5 % of the RAM, would stay allocated).
GDAL_CACHE_BYTES = 256 * 2 ** 20
JP2_OPTIONS = {"QUALITY": 100, "REVERSIBLE": "YES", "YCC": "NO", "BLOCKXSIZE": 1024,
               "BLOCKYSIZE": 1024, "RESOLUTIONS": 6}
GTIFF_OPTIONS = {"TILED": "YES", "BLOCKXSIZE": 512, "BLOCKYSIZE": 512, "COMPRESS": "DEFLATE",
                 "PREDICTOR": 2, "ZLEVEL": 1, "BIGTIFF": "IF_SAFER"}
COG_OPTIONS = {"COMPRESS": "DEFLATE", "LEVEL": 1, "PREDICTOR": "YES", "BLOCKSIZE": 512,
               "BIGTIFF": "IF_SAFER", "NUM_THREADS": "ALL_CPUS"}


@dataclass(frozen=True)
class Layer:
    """One staged raster: what goes in it and where.

    Attributes
    ----------
    path : str
        The staging GeoTIFF.
    factor : int
        Native pixel size in 10 m pixels (1, 2 or 6).
    count : int
        Number of bands.
    dtype : str
        ``uint16`` (DN) or ``uint8`` (codes).
    offset : float
        BOA_ADD_OFFSET for reflectance layers (DN = reflectance * 10000 - offset),
        None for layers written as they are.
    nodata : int or None
    descriptions : tuple of str
        Band descriptions (band names).
    colormap : dict code -> (r, g, b), optional
        Colour table of a uint8 layer.
    tags : tuple of (key, value)
        Dataset metadata.
    """

    path: str
    factor: int
    count: int
    dtype: str
    offset: float | None
    nodata: int | None
    descriptions: tuple[str, ...] = ()
    colormap: dict[int, tuple[int, int, int]] | None = None
    tags: tuple[tuple[str, str], ...] = ()


def create_staging(layer: Layer, *, size: int, crs, transform: Affine) -> None:
    """Create the empty staging GeoTIFF of ``layer`` for a tile of ``size`` 10 m pixels."""
    side = -(-size // layer.factor)
    native = transform @ Affine.scale(layer.factor)
    with rasterio.open(layer.path, "w", driver="GTiff", width=side, height=side,
                       count=layer.count, dtype=layer.dtype, crs=crs, transform=native,
                       nodata=layer.nodata, tiled=True, blockxsize=256, blockysize=256,
                       BIGTIFF="IF_SAFER") as dst:
        for i, text in enumerate(layer.descriptions, start=1):
            dst.set_band_description(i, text)
        if layer.colormap:
            dst.write_colormap(1, layer.colormap)
        if layer.tags:
            dst.update_tags(**dict(layer.tags))


def to_dn(reflectance: np.ndarray, offset: float) -> np.ndarray:
    """Reflectance (NaN = no data) to L2A digital numbers ``round(r * 10000) - offset``.

    DN are kept within 1-65534; no data becomes DN 0.
    """
    dn = np.rint(np.nan_to_num(reflectance, nan=0.0) * QUANTIFICATION) - offset
    dn = np.clip(dn, 1, 65534)
    dn[np.isnan(reflectance)] = 0
    return dn.astype(np.uint16)


class StagingTarget:
    """A dask ``store`` target writing 10 m blocks into a staging file at native resolution.

    A block of rows ``r0:r1`` holds the native pixel ``k`` when its top-left 10 m pixel
    ``k * factor`` lies in it; the simulator makes every 10 m pixel of a native pixel
    equal, so taking that one pixel is exact, and each native pixel is written once.
    Writes to one product share a file lock (threads, processes and cluster workers).
    """

    def __init__(self, layer: Layer, lock_path: str):
        self.layer = layer
        self.lock = FileLock(lock_path)

    def __setitem__(self, key: tuple[slice, ...], block: np.ndarray) -> None:
        f = self.layer.factor
        rows, cols = key[-2], key[-1]
        first_r, first_c = -rows.start % f, -cols.start % f
        values = block[..., first_r::f, first_c::f]
        if values.shape[-1] == 0 or values.shape[-2] == 0:
            return
        if self.layer.offset is not None:
            values = to_dn(values, self.layer.offset)
        values = values.astype(self.layer.dtype, copy=False)
        if values.ndim == 2:
            values = values[None]
        window = Window((cols.start + first_c) // f, (rows.start + first_r) // f,
                        values.shape[-1], values.shape[-2])
        with self.lock, rasterio.open(self.layer.path, "r+") as dst:
            dst.write(values, window=window)


def encode(staging: str, final: str | os.PathLike, kind: str, *, resampling: str = "") -> None:
    """Encode a complete staging GeoTIFF as ``jp2``, ``gtiff`` or ``cog``, then delete it.

    ``resampling`` is the COG overview resampling (``nearest``, ``mode``, ``average``).
    """
    if kind == "jp2":
        driver, options = "JP2OpenJPEG", JP2_OPTIONS
    elif kind == "gtiff":
        driver, options = "GTiff", GTIFF_OPTIONS
    else:
        driver = "COG"
        options = {**COG_OPTIONS, "OVERVIEW_RESAMPLING": (resampling or "nearest").upper()}
    rasterio.shutil.copy(staging, str(final), driver=driver, **options)
    Path(staging).unlink()
    aux = Path(str(final) + ".aux.xml")
    if aux.exists():  # GDAL side-car for metadata JPEG 2000 cannot hold; not part of a SAFE
        aux.unlink()
