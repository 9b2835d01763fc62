"""Checks on the DEM used by the topographic correction (georeferencing only, no pixels)."""

from __future__ import annotations

import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio.warp import transform_bounds

from hrlc.errors import GridMismatchError


def check_coverage(dem: xr.DataArray, like: xr.DataArray, *, name: str = "the DEM") -> None:
    """Raise unless ``dem`` covers the whole extent of ``like``.

    The tile's bounds are compared in the DEM's CRS (densified edges, so a rotated or
    curved footprint is handled); half a DEM pixel of slack allows for pixel-centre
    versus pixel-edge conventions.

    Parameters
    ----------
    dem : DataArray (y, x)
        Elevation with a CRS (``dem.rio.crs``), any resolution.
    like : DataArray (..., y, x)
        The tile grid (e.g. the composites), with a CRS.
    name : str
        How to call the DEM in the message (e.g. its path).

    Raises
    ------
    GridMismatchError
        A CRS is missing, or the DEM falls short of the tile; the message gives both
        extents and how far the DEM falls short on each side.
    """
    if dem.rio.crs is None or like.rio.crs is None:
        which = name if dem.rio.crs is None else "the tile"
        raise GridMismatchError(
            f"{which} has no CRS, so its extent cannot be compared; attach one with "
            ".rio.write_crs(...) (or use a GeoTIFF with a CRS)"
        )
    left, bottom, right, top = transform_bounds(like.rio.crs, dem.rio.crs, *like.rio.bounds(),
                                                densify_pts=21)
    d_left, d_bottom, d_right, d_top = dem.rio.bounds()
    rx, ry = (abs(r) for r in dem.rio.resolution())
    short = {
        "west": d_left - left - rx / 2, "east": right - d_right - rx / 2,
        "south": d_bottom - bottom - ry / 2, "north": top - d_top - ry / 2,
    }
    missing = {side: gap for side, gap in short.items() if gap > 0}
    if missing:
        crs = dem.rio.crs
        unit, digits = ("degrees", 5) if crs.is_geographic else ("CRS units, m", 1)
        fmt = lambda v: f"{v:.{digits}f}"  # noqa: E731
        sides = ", ".join(f"{fmt(gap + (rx if side in ('west', 'east') else ry) / 2)} on the "
                          f"{side}" for side, gap in missing.items())
        raise GridMismatchError(
            f"{name} does not cover the tile (in {crs.to_string()}): tile x {fmt(left)} to "
            f"{fmt(right)}, y {fmt(bottom)} to {fmt(top)}; DEM x {fmt(d_left)} to "
            f"{fmt(d_right)}, y {fmt(d_bottom)} to {fmt(d_top)}; missing {sides} ({unit}); "
            "use a DEM that covers the whole tile"
        )
