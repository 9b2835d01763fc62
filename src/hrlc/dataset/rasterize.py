"""Labelled polygons and points to pixels of the feature grid.

Each geometry is burnt into the window of the grid that its bounds cover (never a
full-grid raster), with GDAL's rule: a pixel belongs to a polygon when its centre is
inside (``all_touched=False``, the default) or when the polygon touches it at all
(``all_touched=True``); a point labels the pixel that contains it.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.features import rasterize
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from hrlc.io.grid import Grid

PIXEL_COLUMNS = ("row", "col", "class", "polygon_id")


def _window(bounds: tuple[float, float, float, float], grid: Grid) -> Window | None:
    """Pixel window (one pixel of margin) covering ``bounds``, clipped to the grid."""
    inv = ~grid.transform
    xs, ys = (bounds[0], bounds[2]), (bounds[1], bounds[3])
    corners = [inv @ (x, y) for x in xs for y in ys]
    c0 = max(math.floor(min(c for c, _ in corners)) - 1, 0)
    c1 = min(math.ceil(max(c for c, _ in corners)) + 1, grid.shape[1])
    r0 = max(math.floor(min(r for _, r in corners)) - 1, 0)
    r1 = min(math.ceil(max(r for _, r in corners)) + 1, grid.shape[0])
    if c1 <= c0 or r1 <= r0:
        return None
    return Window(c0, r0, c1 - c0, r1 - r0)


def _grid_box(grid: Grid):
    import shapely

    t, (h, w) = grid.transform, grid.shape
    xs = [t.c, t.c + w * t.a]
    ys = [t.f, t.f + h * t.e]
    return shapely.box(min(xs), min(ys), max(xs), max(ys))


def rasterize_labels(labels: gpd.GeoDataFrame, grid: Grid, *,
                     all_touched: bool = False) -> tuple[pd.DataFrame, dict]:
    """The pixels of the grid that each labelled geometry covers.

    Parameters
    ----------
    labels : GeoDataFrame
        ``class`` (int code), ``polygon_id`` (int) and polygon or point ``geometry``, in
        the grid's CRS (see :func:`hrlc.dataset.polygon_labels`).
    grid : Grid
        The feature grid (north-up).
    all_touched : bool
        Burn every pixel a polygon touches, not only those whose centre it contains.

    Returns
    -------
    (DataFrame, dict)
        One row per labelled pixel: ``row, col, class, polygon_id`` (int64), sorted by
        row then col. A pixel claimed by polygons of one class keeps the first polygon;
        a pixel claimed by several classes is dropped. The dict counts geometries
        ``outside`` the grid, ``without_pixels`` (inside but covering no pixel centre),
        ``conflict_pixels`` and the ``pixels`` per polygon.
    """
    box = _grid_box(grid)
    rows, cols, classes, ids = [], [], [], []
    outside, empty = [], []
    for geom, code, pid in zip(labels.geometry, labels["class"], labels["polygon_id"]):
        window = _window(geom.bounds, grid) if geom.intersects(box) else None
        if window is None:
            outside.append(int(pid))
            continue
        with warnings.catch_warnings():  # points on a window edge: rasterio is fine
            warnings.simplefilter("ignore")
            burnt = rasterize([(geom, 1)], out_shape=(window.height, window.width),
                              transform=window_transform(window, grid.transform),
                              all_touched=all_touched, fill=0, dtype="uint8")
        r, c = np.nonzero(burnt)
        if r.size == 0:
            empty.append(int(pid))
            continue
        rows.append(r + window.row_off)
        cols.append(c + window.col_off)
        classes.append(np.full(r.size, code, np.int64))
        ids.append(np.full(r.size, pid, np.int64))
    if not rows:
        pixels = pd.DataFrame({k: np.empty(0, np.int64) for k in PIXEL_COLUMNS})
        return pixels, {"geometries": int(len(labels)), "outside": outside,
                        "without_pixels": empty, "conflict_pixels": 0, "pixels": {}}
    pixels = pd.DataFrame({"row": np.concatenate(rows).astype(np.int64),
                           "col": np.concatenate(cols).astype(np.int64),
                           "class": np.concatenate(classes), "polygon_id": np.concatenate(ids)})
    pixels, conflicts = _resolve_overlaps(pixels)
    diagnostics = {
        "geometries": int(len(labels)), "outside": outside, "without_pixels": empty,
        "conflict_pixels": conflicts,
        "pixels": {int(k): int(v) for k, v in pixels.groupby("polygon_id").size().items()},
    }
    return pixels, diagnostics


def _resolve_overlaps(pixels: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One row per pixel: overlapping polygons of one class keep the first, several
    classes on one pixel drop it (its label is ambiguous)."""
    key = pixels["row"] * (int(pixels["col"].max()) + 1) + pixels["col"]
    n_classes = pixels.groupby(key)["class"].transform("nunique")
    conflict = (n_classes > 1).to_numpy()
    kept = pixels[~conflict]
    kept = kept[~key[~conflict].duplicated().to_numpy()]
    n_conflict = int(key[conflict].nunique())
    return kept.sort_values(["row", "col"], kind="stable").reset_index(drop=True), n_conflict
