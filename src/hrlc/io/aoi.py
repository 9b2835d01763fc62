"""Areas of interest: read only the part of a product that a region covers.

An area of interest (AOI) is a bounding box with its CRS, or the bounds of the
geometries of a vector file (GeoJSON, GeoPackage, shapefile...) in the file's own CRS.
Readers turn it into a pixel window of the product's grid, snapped outward to the
60 m grid of the product (so that 10, 20 and 60 m bands cover exactly the same area),
and decode only that window.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from hrlc.errors import ConfigError, InputError
from hrlc.io.grid import Grid

#: Windows are snapped outward to this grid (metres): every Sentinel-2 band's pixels
#: (10, 20, 60 m) then fall whole inside the window.
SNAP_METRES = 60.0


@dataclass(frozen=True)
class Aoi:
    """A bounding box ``(west, south, east, north)`` in ``crs``; ``source`` names it in
    messages (the file it came from, or ``"bbox"``)."""

    bounds: tuple[float, float, float, float]
    crs: str = "EPSG:4326"
    source: str = "bbox"

    def describe(self) -> str:
        w, s, e, n = self.bounds
        return f"{self.source} ({w:.10g}, {s:.10g}, {e:.10g}, {n:.10g} in {self.crs})"


def _checked_crs(crs: str, where: str):
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_user_input(crs)
    except CRSError:
        raise ConfigError(
            f"{where}: unknown CRS {crs!r}; give an EPSG code such as 'EPSG:4326' "
            "(longitude/latitude) or 'EPSG:32630' (UTM 30N)") from None


def bbox_aoi(bounds, crs: str = "EPSG:4326") -> Aoi:
    """An :class:`Aoi` from ``(west, south, east, north)`` in ``crs``.

    Raises
    ------
    ConfigError
        Not four numbers, west >= east or south >= north, or an unknown CRS.
    """
    try:
        w, s, e, n = (float(v) for v in bounds)
    except (TypeError, ValueError):
        raise ConfigError(f"aoi bbox must be four numbers west, south, east, north; got "
                          f"{bounds!r}") from None
    if not (w < e and s < n) or not all(map(math.isfinite, (w, s, e, n))):
        raise ConfigError(f"aoi bbox must have west < east and south < north; got "
                          f"({w:g}, {s:g}, {e:g}, {n:g})")
    _checked_crs(crs, "aoi")
    return Aoi((w, s, e, n), str(crs))


def vector_aoi(path: str | os.PathLike) -> Aoi:
    """An :class:`Aoi` covering every geometry of a vector file, in the file's CRS.

    Raises
    ------
    InputError
        The file is missing, unreadable, has no CRS or holds no geometry.
    """
    import pyogrio

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: area-of-interest file not found; give a vector file "
                         "(GeoJSON, GeoPackage, shapefile) or a bbox 'west,south,east,north'")
    try:
        info = pyogrio.read_info(path)
        frame = pyogrio.read_dataframe(path, columns=[])
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
        raise InputError(f"{path}: cannot read the area of interest ({exc}); give a "
                         "GeoJSON, GeoPackage or shapefile") from None
    geometries = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty]
    if geometries.empty:
        raise InputError(f"{path}: the area-of-interest layer holds no geometry; draw the "
                         "region first")
    if not info.get("crs"):
        raise InputError(f"{path}: the area of interest has no CRS; set it (e.g. ogr2ogr "
                         "-a_srs EPSG:4326) or give a bbox with its CRS")
    return Aoi(tuple(float(v) for v in geometries.total_bounds), info["crs"], str(path))


def parse_aoi(spec) -> Aoi | None:
    """An :class:`Aoi` from what users write.

    ``spec`` is None, an :class:`Aoi`, a mapping ``{"bbox": [w, s, e, n], "crs": ...}``
    (or an object with ``bbox`` and ``crs``),
    a string ``"w,s,e,n"`` (longitude/latitude), ``"w,s,e,n@EPSG:32630"``, or the path
    of a vector file.
    """
    if spec is None or isinstance(spec, Aoi):
        return spec
    if hasattr(spec, "bbox"):  # the config's AoiBox
        spec = {"bbox": spec.bbox, "crs": spec.crs}
    if isinstance(spec, dict):
        return bbox_aoi(spec.get("bbox"), spec.get("crs") or "EPSG:4326")
    text = str(spec).strip()
    numbers, _, crs = text.partition("@")
    parts = numbers.split(",")
    if len(parts) == 4 and not Path(text).exists():
        return bbox_aoi(parts, crs.strip() or "EPSG:4326")
    return vector_aoi(text)


def aoi_window(aoi: Aoi, grid: Grid, *, snap: float = SNAP_METRES
               ) -> tuple[int, int, int, int]:
    """The pixel window ``(row0, col0, rows, cols)`` of ``grid`` that covers ``aoi``.

    The AOI's bounds are brought to the grid's CRS (edges densified, so a lon/lat box
    becomes the UTM box that contains it), then the window is snapped outward to
    multiples of ``snap`` metres from the grid's origin and clipped to the grid.

    Raises
    ------
    InputError
        The AOI does not intersect the grid; the message gives both extents.
    """
    from rasterio.warp import transform_bounds

    src_crs = _checked_crs(aoi.crs, aoi.source)
    if grid.crs is None:
        raise InputError("the sources have no CRS, so an area of interest cannot be placed "
                         "on them; attach a CRS to the rasters or drop 'aoi'")
    west, south, east, north = transform_bounds(src_crs, grid.crs, *aoi.bounds,
                                                densify_pts=21)
    t, res = grid.transform, grid.resolution
    step = max(1, round(snap / res))
    col0 = math.floor((west - t.c) / res / step) * step
    col1 = math.ceil((east - t.c) / res / step) * step
    row0 = math.floor((t.f - north) / res / step) * step
    row1 = math.ceil((t.f - south) / res / step) * step
    rows, cols = grid.shape
    row0, row1 = max(row0, 0), min(row1, rows)
    col0, col1 = max(col0, 0), min(col1, cols)
    if row1 <= row0 or col1 <= col0:
        left, bottom, right, top = grid.bounds
        raise InputError(
            f"the area of interest {aoi.describe()} does not intersect the data "
            f"({left:.0f}, {bottom:.0f}, {right:.0f}, {top:.0f} in {grid.describe()}); "
            "check its coordinates and CRS (a lon/lat box needs 'EPSG:4326')")
    return row0, col0, row1 - row0, col1 - col0
