"""Putting rasters on a common grid, lazily and chunk by chunk.

:func:`reproject_match` warps a (y, x) array (a DEM, a mask, a land-cover map) onto the
grid of another array. Each output chunk is one task that reads only the source window
it needs (plus a margin for the resampling kernel), so a whole source is never loaded.

``nearest`` and ``bilinear`` are computed here pixel by pixel: the centre of every target
pixel is transformed exactly with PROJ and the source is sampled there, so a chunked
result is identical to the one-chunk result. (GDAL's warper sizes its kernel and its
approximate transformer per call, which makes values differ slightly from chunk to
chunk.) Aggregating resamplings (``average``, ``mode``, ``cubic``...) go through
:func:`rasterio.warp.reproject` per chunk and may differ by that small amount at chunk
borders.
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import product

import dask
import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds
from scipy.ndimage import map_coordinates

from hrlc.errors import ConfigError, GridMismatchError
from hrlc.io.grid import Grid

#: Resamplings that keep the source's values (and dtype): for classes and masks.
_CATEGORICAL = {"nearest", "mode", "min", "max", "med", "q1", "q3"}
#: Resamplings computed pixel by pixel here (chunking-independent); others go to GDAL.
_SAMPLED = {"nearest", "bilinear"}
#: Source pixels (at the source resolution) a kernel reaches beyond the target pixel.
_KERNEL_RADIUS = {"nearest": 1, "bilinear": 1, "cubic": 2, "cubic_spline": 2, "lanczos": 3}


def grid_of(data: xr.DataArray, role: str = "the", *, require_crs: bool = True,
            north_up: bool = False) -> Grid:
    """The grid (CRS, transform, shape) of a georeferenced array: the one grid description
    of every stage (reprojection, grid checks, rasterising labels).

    Parameters
    ----------
    data : DataArray (..., y, x)
        Georeferenced with rioxarray (``data.rio.crs``), y/x coordinates at pixel centres.
    role : str
        What ``data`` is, for the error message (``"the mask"``: "the mask array has no
        CRS").
    require_crs : bool
        Refuse an array without CRS (else its grid has ``crs=None``: arrays built in
        memory are often compared by their coordinates only).
    north_up : bool
        Refuse a rotated or sheared transform.

    Returns
    -------
    Grid
        The transform from the coordinates (one pixel: rioxarray's stored transform, as
        there is no spacing to infer), the (height, width) in pixels.

    Raises
    ------
    GridMismatchError
        ``data`` has no CRS (``require_crs``), or is not north-up (``north_up``).
    """
    crs = data.rio.crs
    if crs is None and require_crs:
        raise GridMismatchError(
            f"{role} array has no CRS; attach one with .rio.write_crs('EPSG:...') so that it "
            "can be put on another grid")
    one_pixel = data.sizes["y"] < 2 or data.sizes["x"] < 2
    transform = data.rio.transform(recalc=not one_pixel)
    if north_up and (transform.b or transform.d):
        raise GridMismatchError(f"{role} grid must be north-up, got transform "
                                f"{tuple(transform)}")
    return Grid(crs=crs, transform=transform, shape=(data.sizes["y"], data.sizes["x"]))


def _resampling(name: str) -> Resampling:
    try:
        return Resampling[name]
    except KeyError:
        known = ", ".join(r.name for r in Resampling if r.value < 100)
        raise ConfigError(f"unknown resampling {name!r}; use one of: {known}") from None


@lru_cache(maxsize=32)
def _transformer(dst_crs: str, src_crs: str) -> Transformer:
    return Transformer.from_crs(dst_crs, src_crs, always_xy=True)


def _sample_block(block: np.ndarray | None, origin: tuple[int, int], src: Grid,
                  dst_transform: Affine, dst_shape: tuple[int, ...], dst_crs,
                  method: str, nodata: float, dtype: np.dtype) -> np.ndarray:
    """Sample ``block`` (source rows/cols from ``origin``) at each target pixel centre.

    Every target pixel is computed on its own (exact PROJ transform of its centre, then
    nearest or bilinear sampling), so the result does not depend on the chunking.
    """
    out = np.full(dst_shape, nodata, dtype=dtype)
    if block is None or block.size == 0:
        return out
    h, w = dst_shape[-2:]
    cc, rr = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    t = dst_transform
    xs, ys = t.a * cc + t.b * rr + t.c, t.d * cc + t.e * rr + t.f
    if CRS.from_user_input(dst_crs) != CRS.from_user_input(src.crs):
        xs, ys = _transformer(CRS.from_user_input(dst_crs).to_wkt(),
                              CRS.from_user_input(src.crs).to_wkt()).transform(xs, ys)
    inv = ~src.transform
    col = inv.a * xs + inv.b * ys + inv.c  # source pixel-corner coordinates
    row = inv.d * xs + inv.e * ys + inv.f
    inside = (col >= 0) & (col < src.shape[1]) & (row >= 0) & (row < src.shape[0])
    row_in, col_in = row[inside] - origin[0], col[inside] - origin[1]
    block = block.reshape(-1, *block.shape[-2:])
    flat = out.reshape(-1, h, w)
    for k in range(block.shape[0]):
        if method == "nearest":
            values = block[k][np.floor(row_in).astype(np.int64),
                              np.floor(col_in).astype(np.int64)]
        else:  # bilinear between pixel centres; the half pixel at the border is clamped
            r = np.clip(row_in - 0.5, 0, block.shape[-2] - 1)
            c = np.clip(col_in - 0.5, 0, block.shape[-1] - 1)
            values = map_coordinates(block[k].astype(dtype, copy=False), [r, c], order=1,
                                     mode="nearest")
        flat[k][inside] = values
    return out


def _warp_block(block: np.ndarray | None, src_transform: Affine, src_crs, dst_transform: Affine,
                dst_shape: tuple[int, ...], dst_crs, resampling: Resampling,
                nodata: float, dtype: np.dtype) -> np.ndarray:
    """GDAL warp of one chunk, for the resamplings that aggregate (average, mode...)."""
    out = np.full(dst_shape, nodata, dtype=dtype)
    if block is None or block.size == 0:
        return out
    reproject(np.ascontiguousarray(block.astype(dtype, copy=False)), out,
              src_transform=src_transform, src_crs=src_crs, src_nodata=nodata,
              dst_transform=dst_transform, dst_crs=dst_crs, dst_nodata=nodata,
              resampling=resampling, init_dest_nodata=True)
    return out


def _source_window(src: Grid, dst: Grid, rows: slice, cols: slice,
                   margin: int) -> tuple[slice, slice] | None:
    """Source rows and cols that cover target ``rows, cols``, grown by ``margin`` pixels."""
    t = dst.transform @ Affine.translation(cols.start, rows.start)
    h, w = rows.stop - rows.start, cols.stop - cols.start
    left, top = t @ (0, 0)
    right, bottom = t @ (w, h)
    bounds = transform_bounds(dst.crs, src.crs, min(left, right), min(top, bottom),
                              max(left, right), max(top, bottom), densify_pts=21)
    inv = ~src.transform
    corners = [inv @ (x, y) for x in (bounds[0], bounds[2]) for y in (bounds[1], bounds[3])]
    c0 = math.floor(min(c for c, _ in corners)) - margin
    c1 = math.ceil(max(c for c, _ in corners)) + margin
    r0 = math.floor(min(r for _, r in corners)) - margin
    r1 = math.ceil(max(r for _, r in corners)) + margin
    c0, c1 = max(c0, 0), min(c1, src.shape[1])
    r0, r1 = max(r0, 0), min(r1, src.shape[0])
    if r1 <= r0 or c1 <= c0:
        return None
    return slice(r0, r1), slice(c0, c1)


def reproject_match(source: xr.DataArray, like: xr.DataArray, *,
                    resampling: str = "bilinear") -> xr.DataArray:
    """Warp ``source`` onto the grid of ``like``, lazily, one task per output chunk.

    Parameters
    ----------
    source : DataArray (y, x) or (band, y, x)
        Any CRS (``source.rio.crs`` required). Nodata: NaN for floats, else
        ``source.rio.nodata`` (0 when unset).
    like : DataArray (..., y, x)
        Target grid: its CRS, transform, shape and spatial chunks (1024 px when it is
        not a dask array). Only its metadata is used.
    resampling : str
        A :class:`rasterio.enums.Resampling` name: ``bilinear`` (default, continuous
        fields such as a DEM), ``nearest`` or ``mode`` (classes, masks), ``average``...

    Returns
    -------
    DataArray with ``source``'s leading dims and ``like``'s ``y, x`` coords, CRS and
    chunks; float32 (float64 for float64 input) for interpolating resamplings, the
    source dtype for ``nearest``/``mode``/``min``/``max``/``med``/``q1``/``q3``. Pixels
    outside the source are nodata. On the same grid the source is returned re-chunked,
    values untouched.

    Raises
    ------
    GridMismatchError
        ``source`` or ``like`` has no CRS.
    ConfigError
        Unknown ``resampling``.
    """
    method = _resampling(resampling)
    src, dst = grid_of(source, "source"), grid_of(like, "like")
    ydim, xdim = like.rio.y_dim, like.rio.x_dim
    chunks = like.data.chunks if isinstance(like.data, da.Array) else None
    out_chunks = ((chunks[like.dims.index(ydim)], chunks[like.dims.index(xdim)])
                  if chunks else (1024, 1024))
    lead = [d for d in source.dims if d not in (source.rio.y_dim, source.rio.x_dim)]
    if len(lead) > 1:
        raise ValueError(f"reproject_match needs (y, x) or (band, y, x); got {source.dims}")
    source = source.transpose(*lead, source.rio.y_dim, source.rio.x_dim)
    categorical = method.name in _CATEGORICAL
    if categorical:
        dtype = source.dtype
        nodata = source.rio.nodata
        nodata = (np.nan if dtype.kind == "f" else 0) if nodata is None else nodata
    else:
        dtype = np.dtype(np.float64 if source.dtype == np.float64 else np.float32)
        nodata = np.nan
        if source.dtype.kind != "f" and source.rio.nodata is not None:
            source = source.where(source != source.rio.nodata)
    coords = {ydim: like[ydim], xdim: like[xdim]}
    coords.update({d: source[d] for d in lead if d in source.coords})
    dims = (*lead, ydim, xdim)
    if src.same_as(dst):
        data = da.asarray(source.data).astype(dtype).rechunk((-1,) * len(lead) + out_chunks)
        return _finish(data, dims, coords, source, like)
    data = _warped(source, src, dst, out_chunks, method, nodata, dtype)
    return _finish(data, dims, coords, source, like)


def _warped(source: xr.DataArray, src: Grid, dst: Grid, out_chunks: tuple, method: Resampling,
            nodata: float, dtype: np.dtype) -> da.Array:
    """One delayed warp per output chunk, each fed only the source window it needs."""
    src_data = source.data if isinstance(source.data, da.Array) else da.from_array(
        source.data, chunks=-1)
    # Source pixels per target pixel (> 1 when down-sampling) widen the kernel's reach.
    whole = _source_window(src, dst, slice(0, dst.shape[0]), slice(0, dst.shape[1]), 0)
    ratio = 1.0 if whole is None else max(
        (whole[0].stop - whole[0].start) / dst.shape[0],
        (whole[1].stop - whole[1].start) / dst.shape[1], 1.0)
    margin = math.ceil(_KERNEL_RADIUS.get(method.name, 1) * ratio) + 2
    row_chunks, col_chunks = da.core.normalize_chunks(out_chunks, dst.shape)
    row_edges = np.cumsum((0, *row_chunks))
    col_edges = np.cumsum((0, *col_chunks))
    lead_shape = tuple(source.shape[:-2])
    blocks = [[None] * len(col_chunks) for _ in row_chunks]
    for i, j in product(range(len(row_chunks)), range(len(col_chunks))):
        rows = slice(int(row_edges[i]), int(row_edges[i + 1]))
        cols = slice(int(col_edges[j]), int(col_edges[j + 1]))
        shape = (*lead_shape, rows.stop - rows.start, cols.stop - cols.start)
        window = _source_window(src, dst, rows, cols, margin)
        piece, src_t = None, src.transform
        if window is not None:
            piece = src_data[(..., *window)]
            src_t = src.transform @ Affine.translation(window[1].start, window[0].start)
        dst_t = dst.transform @ Affine.translation(cols.start, rows.start)
        if method.name in _SAMPLED:
            origin = (window[0].start, window[1].start) if window else (0, 0)
            task = dask.delayed(_sample_block, pure=True)(
                piece, origin, src, dst_t, shape, dst.crs, method.name, nodata, dtype)
        else:
            task = dask.delayed(_warp_block, pure=True)(
                piece, src_t, src.crs, dst_t, shape, dst.crs, method, nodata, dtype)
        blocks[i][j] = da.from_delayed(task, shape=shape, dtype=dtype)
    # da.block nests one list per dimension: the leading (band) axis is a single block
    return da.block([blocks] if lead_shape else blocks)


def _finish(data: da.Array, dims: tuple, coords: dict, source: xr.DataArray,
            like: xr.DataArray) -> xr.DataArray:
    out = xr.DataArray(data, dims=dims, coords=coords, attrs=dict(source.attrs),
                       name=source.name)
    out = out.rio.write_crs(like.rio.crs).rio.write_transform(like.rio.transform(recalc=True))
    if np.dtype(data.dtype).kind == "f":
        return out.rio.write_nodata(np.nan, encoded=False)
    nodata = source.rio.nodata
    return out.rio.write_nodata(0 if nodata is None else nodata)
