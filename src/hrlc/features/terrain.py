"""Terrain features from a DEM: elevation, slope and aspect.

Gradients use Horn's 3 x 3 method (the Sobel weights of :mod:`hrlc.features.sobel`,
also used by GDAL ``gdaldem``), with pixel sizes in metres:

- projected CRS: the pixel size times the CRS's linear unit (metres, US feet, ...);
- geographic CRS: per row, ``dlon N(lat) cos(lat)`` east and ``dlat M(lat)`` north, with
  ``N`` and ``M`` the prime-vertical and meridional radii of curvature of the CRS's
  ellipsoid, so slopes are right at every latitude;
- no CRS: coordinates are taken to be metres.

Slope is in degrees (0 = flat, 90 = vertical). Aspect is the direction the slope
faces (downhill), in degrees clockwise from grid north (0 = north, 90 = east,
180 = south, 270 = west); it is **NaN where the surface is flat** (zero gradient),
because a flat pixel faces no direction, unless ``flat_aspect`` says otherwise (the
reference feature preset writes :data:`FLAT_ASPECT`, -1). Missing DEM values (NaN) give
NaN; next to them, and at the DEM edge, the gradient is extrapolated (see
:mod:`hrlc.features.sobel`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from pyproj import CRS

from hrlc.features.sobel import pixel_gradients

#: Terrain features, in output order, with their descriptions.
TERRAIN_FEATURES: dict[str, str] = {
    "elevation": "elevation of the DEM (m)",
    "slope": "slope (degrees, Horn's method)",
    "aspect": "aspect (degrees clockwise from north, downhill; NaN where flat)",
}

#: Aspect of flat ground in the reference feature preset (degrees): outside 0-360, as
#: ArcGIS and RichDEM write it, so that flat pixels keep a finite feature vector.
FLAT_ASPECT = -1.0

#: Terrain features of the reference preset's cube: aspect in degrees, -1 where flat.
REFERENCE_TERRAIN_FEATURES: dict[str, str] = {
    **TERRAIN_FEATURES,
    "aspect": f"aspect (degrees clockwise from north, downhill; {FLAT_ASPECT:g} where flat)",
}

#: Terrain features of the extended preset's cube: aspect enters as northness and
#: eastness, which are continuous across north (0/360 degrees) and 0 on flat ground
#: instead of NaN, so that flat pixels (plains, water) keep a full feature vector and
#: stay classifiable.
TERRAIN_CUBE_FEATURES: dict[str, str] = {
    "elevation": TERRAIN_FEATURES["elevation"],
    "slope": TERRAIN_FEATURES["slope"],
    "northness": "cos(aspect) x sin(slope): +1 steep north-facing, -1 steep south-facing, "
                 "0 flat",
    "eastness": "sin(aspect) x sin(slope): +1 steep east-facing, -1 steep west-facing, 0 flat",
}


def _step(coord: xr.DataArray, fallback: float) -> float:
    values = np.asarray(coord.values, dtype=np.float64)
    return float(values[1] - values[0]) if values.size > 1 else fallback  # regular grid


def metres_per_pixel(dem: xr.DataArray) -> tuple[xr.DataArray | float, xr.DataArray | float]:
    """Signed ground distance of one column step (east) and one row step (north), metres.

    Parameters
    ----------
    dem : DataArray (y, x)
        With a CRS (``dem.rio.crs``) or metre coordinates.

    Returns
    -------
    (east, north): floats for projected grids; DataArrays along ``y`` for geographic
    ones. ``north`` is negative for north-up grids (rows run south).
    """
    crs = dem.rio.crs
    xdim, ydim = dem.rio.x_dim, dem.rio.y_dim  # x/y, or longitude/latitude...
    if dem.sizes[xdim] > 1 and dem.sizes[ydim] > 1:
        dx, dy = _step(dem[xdim], 1.0), _step(dem[ydim], -1.0)
    else:
        transform = dem.rio.transform()
        dx, dy = transform.a, transform.e
    if crs is None:
        return dx, dy
    crs = CRS.from_user_input(crs)
    if not crs.is_geographic:
        unit = crs.axis_info[0].unit_conversion_factor or 1.0
        return dx * unit, dy * unit
    ellipsoid = crs.ellipsoid
    a = ellipsoid.semi_major_metre
    f = 1.0 / ellipsoid.inverse_flattening if ellipsoid.inverse_flattening else 0.0
    e2 = f * (2.0 - f)
    lat = np.radians(dem[ydim].astype(np.float64))
    w = np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
    prime_vertical = a / w
    meridional = a * (1.0 - e2) / w**3
    return (np.radians(dx) * prime_vertical * np.cos(lat),
            np.radians(dy) * meridional)


def terrain(dem: xr.DataArray, *, flat_aspect: float = np.nan) -> xr.DataArray:
    """Elevation, slope and aspect of a DEM on its own grid, lazily.

    Parameters
    ----------
    dem : DataArray (y, x)
        Elevation in metres, NaN (or float nodata already masked) where missing; any
        CRS (see the module notes). Reproject it to the feature grid first with
        :func:`hrlc.geo.reproject_match`.
    flat_aspect : float
        Aspect (degrees) where the surface is flat; NaN by default. Where the DEM is
        missing the aspect is NaN whatever this value.

    Returns
    -------
    DataArray (feature, y, x) float32 with ``feature = elevation, slope, aspect``:
    metres, degrees, degrees from north (``flat_aspect`` where flat); coords of ``dem``.
    """
    z = dem.astype(np.float64)
    grad = pixel_gradients(z.data)
    east, north = metres_per_pixel(dem)
    dz_col = xr.DataArray(grad[0], dims=dem.dims, coords=dem.coords)
    dz_row = xr.DataArray(grad[1], dims=dem.dims, coords=dem.coords)
    dz_east = dz_col / east
    dz_north = dz_row / north
    steepness = np.hypot(dz_east, dz_north)
    slope = np.degrees(np.arctan(steepness))
    aspect = (np.degrees(np.arctan2(-dz_east, -dz_north)) + 360.0) % 360.0
    aspect = aspect.where(steepness > 0, flat_aspect).where(steepness.notnull())
    out = xr.concat([z, slope, aspect], dim="feature", coords="minimal",
                    compat="override", join="override").astype(np.float32)
    out = out.assign_coords(feature=list(TERRAIN_FEATURES))
    return out.transpose("feature", *dem.dims).assign_attrs(dem.attrs)


def terrain_features(dem: xr.DataArray) -> xr.DataArray:
    """Terrain features for classification: elevation, slope, northness, eastness.

    Parameters
    ----------
    dem : DataArray (y, x)
        Elevation in metres, as for :func:`terrain`.

    Returns
    -------
    DataArray (feature, y, x) float32, ``feature`` = :data:`TERRAIN_CUBE_FEATURES`:
    metres, degrees, and the unitless aspect components ``cos(aspect) sin(slope)`` and
    ``sin(aspect) sin(slope)`` (0 where flat; NaN only where the DEM is missing).
    """
    relief = terrain(dem)
    slope = np.deg2rad(relief.sel(feature="slope", drop=True))
    aspect = np.deg2rad(relief.sel(feature="aspect", drop=True).fillna(0.0))
    northness = np.cos(aspect) * np.sin(slope)
    eastness = np.sin(aspect) * np.sin(slope)
    out = xr.concat([relief.sel(feature="elevation", drop=True), np.rad2deg(slope),
                     northness, eastness], dim="feature", coords="minimal",
                    compat="override", join="override").astype(np.float32)
    out = out.assign_coords(feature=list(TERRAIN_CUBE_FEATURES))
    return out.transpose("feature", *dem.dims).assign_attrs(dem.attrs)
