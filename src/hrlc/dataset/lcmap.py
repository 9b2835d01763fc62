"""Points sampled from existing land-cover maps, chunk by chunk.

A land-cover raster (any CRS) is put on the feature grid with nearest-neighbour
resampling, its codes mapped to class codes (:class:`~hrlc.dataset.LCMapping`), and
several maps are merged by priority (the first map with a class wins). Sampling is an
exact stratified random draw without replacement, in two passes over the class raster
(never over the feature cube):

1. count, per chunk, the eligible pixels of each class (eligible: a class, optionally
   at least ``erosion`` pixels away from any other class or no data, and not excluded);
2. split each class's quota between chunks with a multivariate hypergeometric draw, then
   draw that many pixels in each chunk with a seed derived from the chunk index.

The result depends on the seed and the chunking only, not on the scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from scipy.ndimage import maximum_filter, minimum_filter

from hrlc.dataset.blocks import block_ids
from hrlc.dataset.classes import ClassTable, LCMapping
from hrlc.errors import ConfigError


def _remap_block(block: np.ndarray, keys: np.ndarray, targets: np.ndarray,
                 source: str) -> np.ndarray:
    index = np.clip(np.searchsorted(keys, block), 0, len(keys) - 1)
    known = keys[index] == block
    if not known.all():
        unknown = sorted(int(v) for v in np.unique(block[~known])[:10])
        raise ConfigError(f"land-cover code(s) {unknown} are not in the mapping {source}; map "
                          "them to a class under 'mapping' or list them under 'ignore'")
    return targets[index]


def lc_classes(lc: xr.DataArray, *, mapping: LCMapping, classes: ClassTable,
               like: xr.DataArray) -> xr.DataArray:
    """A land-cover raster as class codes on the grid of ``like``, lazily.

    Parameters
    ----------
    lc : DataArray (y, x), integer codes
        Any CRS (``lc.rio.crs``); reprojected with nearest neighbour.
    mapping : LCMapping
        Raster code -> class; its ``ignore`` codes and the raster's nodata become 0.
    classes : ClassTable
    like : DataArray (..., y, x)
        The feature grid (CRS, transform, chunks).

    Returns
    -------
    DataArray (y, x) uint8 class codes, 0 = no class; ``like``'s coords and chunks.
    A code that is neither mapped nor ignored raises :class:`ConfigError` (naming the
    code and the mapping file) when the array is computed.
    """
    from hrlc.geo import reproject_match

    keys, targets = mapping.lookup(classes)
    on_grid = reproject_match(lc, like, resampling="nearest")
    fill = on_grid.rio.nodata
    fill = 0 if fill is None else int(fill)
    if fill not in keys:  # pixels outside the map (and its nodata) are no class
        keys, targets = np.append(keys, fill), np.append(targets, 0).astype(np.uint8)
        order = np.argsort(keys)
        keys, targets = keys[order], targets[order]
    data = da.map_blocks(_remap_block, on_grid.data, keys, targets, mapping.source,
                         dtype=np.uint8)
    return xr.DataArray(data, dims=on_grid.dims, coords=on_grid.coords, name="class")


def merge_by_priority(maps: Sequence[xr.DataArray]) -> xr.DataArray:
    """Merge class rasters of one grid: each pixel takes the first non-zero class.

    Parameters
    ----------
    maps : sequence of DataArray (y, x) uint8
        Class codes on the same grid (:func:`lc_classes`), 0 = no class; first wins.

    Returns
    -------
    DataArray (y, x) uint8, lazy.
    """
    merged = maps[0]
    for other in maps[1:]:
        merged = merged.where(merged != 0, other)
    return merged.astype(np.uint8)


@dataclass(frozen=True)
class Exclusion:
    """Pixels never sampled from the maps: listed pixels and whole blocks.

    ``pixels``: linear indices ``row * width + col``; ``blocks``: block ids (see
    :func:`hrlc.dataset.block_ids`).
    """

    width: int
    block_px: int
    pixels: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    blocks: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def mask(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """True where (rows, cols) (broadcast int arrays) are excluded."""
        out = np.zeros(np.broadcast(rows, cols).shape, bool)
        if self.pixels.size:
            out |= np.isin(rows * self.width + cols, self.pixels)
        if self.blocks.size:
            out |= np.isin(block_ids(rows, cols, block_px=self.block_px, width=self.width),
                           self.blocks)
        return out


def _eligible(block: np.ndarray, origin: tuple[int, int], halo: tuple[int, int, int, int],
              erosion: int, exclusion: Exclusion | None) -> np.ndarray:
    """Class codes of the chunk's own pixels, 0 where not eligible."""
    if erosion:
        size = 2 * erosion + 1
        pure = maximum_filter(block, size=size, mode="nearest") == minimum_filter(
            block, size=size, mode="nearest")
        block = np.where(pure, block, 0)
    top, left, bottom, right = halo
    block = block[top: block.shape[0] - bottom, left: block.shape[1] - right]
    if exclusion is not None:
        rows = origin[0] + np.arange(block.shape[0])[:, None]
        cols = origin[1] + np.arange(block.shape[1])[None, :]
        block = np.where(exclusion.mask(rows, cols), 0, block)
    return block


def _count(block, origin, halo, erosion, exclusion) -> np.ndarray:
    return np.bincount(_eligible(block, origin, halo, erosion, exclusion).ravel(),
                       minlength=256)[:256]


def _draw(block, origin, halo, erosion, exclusion, quota: np.ndarray,
          seed: np.random.SeedSequence) -> np.ndarray:
    classes = _eligible(block, origin, halo, erosion, exclusion)
    rng = np.random.default_rng(seed)
    picks = []
    for code in np.flatnonzero(quota):
        where = np.flatnonzero(classes.ravel() == code)
        chosen = np.sort(rng.choice(where, int(quota[code]), replace=False))
        r, c = np.divmod(chosen, classes.shape[1])
        picks.append(np.stack([r + origin[0], c + origin[1], np.full(r.size, code)], axis=1))
    return np.concatenate(picks) if picks else np.empty((0, 3), np.int64)


def _chunk_tasks(classes: da.Array, erosion: int):
    """(delayed block with halo, origin, halo) for every chunk of a 2-D array."""
    if erosion and erosion > min(min(c) for c in classes.chunks):
        raise ConfigError(f"erosion ({erosion} px) exceeds the smallest chunk "
                          f"({min(min(c) for c in classes.chunks)} px); lower it or use "
                          "larger chunks")
    padded = da.overlap.overlap(classes, depth={0: erosion, 1: erosion},
                                boundary="none") if erosion else classes
    blocks = padded.to_delayed()
    row_edges = np.cumsum((0, *classes.chunks[0]))
    col_edges = np.cumsum((0, *classes.chunks[1]))
    n_i, n_j = len(classes.chunks[0]), len(classes.chunks[1])
    for i in range(n_i):
        for j in range(n_j):
            halo = (erosion * (i > 0), erosion * (j > 0), erosion * (i < n_i - 1),
                    erosion * (j < n_j - 1))
            yield blocks[i, j], (int(row_edges[i]), int(col_edges[j])), halo


def sample_lc(classes_on_grid: xr.DataArray, *, quotas: Mapping[int, int],
              erosion: int = 0, exclusion: Exclusion | None = None,
              seed: int | np.random.SeedSequence = 0) -> tuple[pd.DataFrame, dict[int, int]]:
    """Stratified random pixels of a class raster, without replacement.

    Parameters
    ----------
    classes_on_grid : DataArray (y, x) uint8
        Class codes on the feature grid, 0 = no class (:func:`lc_classes`).
    quotas : mapping code -> int
        Pixels wanted per class (fewer when fewer are eligible).
    erosion : int
        Keep only pixels whose (2 * erosion + 1)^2 neighbourhood holds one class (px).
    exclusion : Exclusion, optional
        Pixels and blocks never drawn (polygon pixels, evaluation blocks).
    seed : int or SeedSequence

    Returns
    -------
    (DataFrame, dict)
        ``row, col, class`` (int64) of the drawn pixels, sorted; and the number of
        eligible pixels per class code.
    """
    if erosion < 0:
        raise ConfigError(f"erosion is a number of pixels >= 0, got {erosion}")
    data = classes_on_grid.data
    if not isinstance(data, da.Array):
        data = da.from_array(np.asarray(data), chunks=1024)
    tasks = list(_chunk_tasks(data, erosion))
    counts = np.array(dask.compute(*[dask.delayed(_count, pure=True)(b, o, h, erosion, exclusion)
                                     for b, o, h in tasks]))
    counts[:, 0] = 0
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    allocation_seed, *chunk_seeds = seq.spawn(len(tasks) + 1)
    rng = np.random.default_rng(allocation_seed)
    alloc = np.zeros_like(counts)
    for code, wanted in quotas.items():
        available = counts[:, code]
        n = min(int(wanted or 0), int(available.sum()))
        if n > 0:
            alloc[:, code] = rng.multivariate_hypergeometric(available, n)
    draws = [dask.delayed(_draw, pure=True)(b, o, h, erosion, exclusion, alloc[k], chunk_seeds[k])
             for k, (b, o, h) in enumerate(tasks) if alloc[k].any()]
    picked = np.concatenate([np.empty((0, 3), np.int64), *dask.compute(*draws)])
    table = pd.DataFrame(picked.astype(np.int64), columns=["row", "col", "class"])
    available = {int(c): int(n) for c, n in enumerate(counts.sum(axis=0)) if n}
    return table.sort_values(["row", "col"], kind="stable").reset_index(drop=True), available
