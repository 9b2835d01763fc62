"""Reading a band one internal tile at a time, so that each tile is decoded once.

GDAL decodes JPEG 2000 (and tiled GeoTIFF) by blocks: a window that covers part of a
block costs the whole block. Sentinel-2's JPEG 2000 bands are cut in 1024 x 1024 px
tiles (121 for a 10 980 px 10 m band), which GDAL uses as its blocks, and so are the
simulator's. Read window by window in 512 px chunks, each 10 m tile would be decoded
4 times, and each 20 m tile, brought to the 10 m grid (256 px of the file per chunk),
16 times: the JPEG 2000 masks stage spent most of its CPU decoding.

:func:`tiled_band` makes one dask task per block (its raw DN: 2 MB for a 1024 px uint16
tile) and assembles every output chunk from the blocks it overlaps, with the resampling
and scaling rules of :class:`~hrlc.io.grid.ResampledBand`: the values are those of a
direct read, and each block is decoded once whatever the chunks.

GDAL decodes a JPEG 2000 tile's code-blocks in ``GDAL_NUM_THREADS`` threads (OpenJPEG's,
unless ``OPJ_NUM_THREADS`` is set), all cores by default. Beside two dask workers on two
cores that default used no more CPU than one thread per tile and finished sooner, so it
is kept; ``threads`` sets it per decode (1 to hold less memory)."""

from __future__ import annotations

from collections.abc import Sequence

import dask.array as da
import numpy as np
import rasterio
from dask.highlevelgraph import HighLevelGraph
from rasterio.windows import Window

from hrlc.errors import CorruptFileError
from hrlc.io.grid import ResampledBand

#: Tiles above this size (raw bytes) are not held whole: an untiled file can report one
#: block of its full size. Such files are read chunk by chunk, as before.
MAX_TILE_BYTES = 32 * 2 ** 20
#: Blocks thinner than this (a striped GeoTIFF's one-row strips) are not tiles: such
#: files are read chunk by chunk.
MIN_TILE_SIDE = 16


def tile_shape(path: str, index: int = 1) -> tuple[int, int]:
    """(rows, cols) of the internal tiles (GDAL blocks) of band ``index`` of ``path``, px."""
    try:
        with rasterio.open(path) as src:
            return tuple(src.block_shapes[index - 1])
    except rasterio.errors.RasterioError as exc:
        raise CorruptFileError(f"{path}: cannot open raster ({exc}); the file is corrupt "
                               "or truncated, replace it") from None


def worth_tiling(band: ResampledBand, tile: tuple[int, int], chunks: int, dtype: str) -> bool:
    """True if ``band`` should be read by whole tiles (:func:`tiled_band`).

    That is unless the blocks are strips or huge (:data:`MIN_TILE_SIDE`,
    :data:`MAX_TILE_BYTES`), or the chunks already are the tiles (same pixel size, a
    tile per chunk, the origin on a tile corner).
    """
    nbytes = tile[0] * tile[1] * np.dtype(dtype).itemsize
    if min(tile) < MIN_TILE_SIDE or nbytes > MAX_TILE_BYTES:
        return False
    aligned = (band.ratio == 1 and tile == (chunks, chunks)
               and band.origin[0] % chunks == 0 and band.origin[1] % chunks == 0)
    return not aligned


class _RawTiles:
    """Array-like (rows, cols) of the raw DN of one band; dask asks for whole tiles."""

    def __init__(self, path: str, index: int, shape: tuple[int, int], dtype: str,
                 threads: str | int | None):
        self.path, self.index, self.shape = path, index, shape
        self.dtype, self.ndim, self.threads = np.dtype(dtype), 2, threads

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        (r0, r1, _), (c0, c1, _) = (k.indices(n) for k, n in zip(key, self.shape))
        env = {} if self.threads is None else {"GDAL_NUM_THREADS": str(self.threads)}
        try:
            with rasterio.Env(**env), rasterio.open(self.path) as src:
                return src.read(self.index, window=Window(c0, r0, c1 - c0, r1 - r0))
        except rasterio.errors.RasterioError as exc:
            raise CorruptFileError(
                f"{self.path}: cannot decode rows {r0}-{r1}, cols {c0}-{c1} ({exc}); "
                "the file is corrupt or truncated, download it again") from None


class _FromTiles(ResampledBand):
    """A :class:`ResampledBand` that takes its pixels from tiles already decoded."""

    def __init__(self, band: ResampledBand, origins: Sequence[tuple[int, int]],
                 tiles: Sequence[np.ndarray]):
        super().__init__(band.path, band.index, band.source_shape, band.ratio, band.shape,
                         kind=band.kind, offset=band.offset,
                         quantification=band.quantification, nodata=band.nodata,
                         origin=band.origin)
        self.pieces = list(zip(origins, tiles))

    def _read(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        out = np.full((r1 - r0, c1 - c0), np.nan if self.kind == "reflectance" else 0,
                      dtype=self.dtype)
        for (t0, u0), tile in self.pieces:
            a0, a1 = max(r0, t0), min(r1, t0 + tile.shape[0])
            b0, b1 = max(c0, u0), min(c1, u0 + tile.shape[1])
            if a1 > a0 and b1 > b0:
                out[a0 - r0:a1 - r0, b0 - c0:b1 - c0] = self._convert(
                    tile[a0 - t0:a1 - t0, b0 - u0:b1 - u0])
        return out


def _chunk(band: ResampledBand, bounds: tuple[int, int, int, int],
           origins: list[tuple[int, int]], tiles: list[np.ndarray]) -> np.ndarray:
    a, b, c, d = bounds
    return _FromTiles(band, origins, tiles)[a:b, c:d]


def _file_span(start: int, stop: int, ratio, size: int) -> tuple[int, int]:
    """File pixels [lo, hi) that output pixels [start, stop) (file-grid units) need."""
    if ratio >= 1:
        f = int(ratio)
        lo, hi = start // f, -(-stop // f)
    else:
        d = int(1 / ratio)
        lo, hi = start * d, stop * d
    return max(lo, 0), min(hi, size)


def _bounds(size: int, chunks: int) -> list[tuple[int, int]]:
    return [(s, min(s + chunks, size)) for s in range(0, size, chunks)]


def tiled_band(band: ResampledBand, tile: tuple[int, int], chunks: int, name: str, *,
               dtype: str, threads: str | int | None = None) -> da.Array:
    """A lazy (rows, cols) dask array of ``band`` in ``chunks`` px chunks, read by tiles.

    Parameters
    ----------
    band : ResampledBand
        The band on its output grid (resampling, scaling, nodata, origin).
    tile : (int, int)
        Internal tile shape of the file, px (:func:`tile_shape`).
    chunks : int
        Output chunk side, px of the output grid.
    name : str
        Dask name of the output (the tiles are ``name + "-tiles"``).
    dtype : str
        Data type of the file's band (``uint16`` DN, ``uint8`` SCL).
    threads : int or "ALL_CPUS", optional
        ``GDAL_NUM_THREADS`` while decoding a tile (``rasterio.Env``); default: GDAL's
        setting (the environment's, else all cores).

    Returns
    -------
    dask.array.Array (rows, cols)
        float32 reflectance or uint8 codes, as ``band[...]`` would return them.
    """
    rows, cols = band.source_shape
    raw = da.from_array(_RawTiles(band.path, band.index, band.source_shape, dtype, threads),
                        chunks=tile, name=f"{name}-tiles", lock=False, asarray=False,
                        meta=np.empty((0, 0), dtype))
    row0, col0 = band.origin
    row_bounds, col_bounds = _bounds(band.shape[0], chunks), _bounds(band.shape[1], chunks)
    layer = {}
    for i, (a, b) in enumerate(row_bounds):
        lo, hi = _file_span(a + row0, b + row0, band.ratio, rows)
        tile_rows = range(lo // tile[0], -(-hi // tile[0])) if hi > lo else range(0)
        for j, (c, d) in enumerate(col_bounds):
            lo, hi = _file_span(c + col0, d + col0, band.ratio, cols)
            tile_cols = range(lo // tile[1], -(-hi // tile[1])) if hi > lo else range(0)
            keys = [(raw.name, p, q) for p in tile_rows for q in tile_cols]
            origins = [(p * tile[0], q * tile[1]) for p in tile_rows for q in tile_cols]
            layer[(name, i, j)] = (_chunk, band, (a, b, c, d), origins, keys)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[raw])
    sizes = tuple(tuple(hi - lo for lo, hi in bounds) for bounds in (row_bounds, col_bounds))
    return da.Array(graph, name, chunks=sizes, meta=np.empty((0, 0), band.dtype))
