"""Slope and aspect against analytic planes, in metres, feet and degrees; chunking."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import xarray as xr

from hrlc.features import metres_per_pixel, terrain


def plane(east_gradient, north_gradient, *, crs="EPSG:32630", res=10.0, shape=(15, 17),
          unit=1.0):
    """z (m) = ge * easting + gn * northing, easting/northing in metres."""
    y = 5_000_000 - res * np.arange(shape[0]) - res / 2
    x = 400_000 + res * np.arange(shape[1]) + res / 2
    xx, yy = np.meshgrid(x * unit, y * unit)
    z = east_gradient * (xx - xx.mean()) + north_gradient * (yy - yy.mean())
    dem = xr.DataArray(z.astype(np.float64), dims=("y", "x"), coords={"y": y, "x": x})
    return dem.rio.write_crs(crs)


@pytest.mark.parametrize("ge,gn,aspect", [
    (0.0, 0.5, 180.0),   # rises to the north: faces south
    (0.0, -0.5, 0.0),    # rises to the south: faces north
    (0.3, 0.0, 270.0),   # rises to the east: faces west
    (-0.3, 0.0, 90.0),
    (-0.2, -0.2, 45.0),  # faces north-east
    (0.1, -0.25, math.degrees(math.atan2(-0.1, 0.25)) % 360),
])
def test_plane_slope_and_aspect_everywhere_including_edges(ge, gn, aspect):
    out = terrain(plane(ge, gn).chunk(6))
    assert out.dims == ("feature", "y", "x") and out.dtype == np.float32
    assert list(out.feature.values) == ["elevation", "slope", "aspect"]
    slope = math.degrees(math.atan(math.hypot(ge, gn)))
    np.testing.assert_allclose(out.sel(feature="slope").values, slope, atol=1e-4)
    got = out.sel(feature="aspect").values
    diff = (got - aspect + 180) % 360 - 180
    np.testing.assert_allclose(diff, 0, atol=1e-3)


def test_flat_is_zero_slope_and_nan_aspect_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = terrain(plane(0.0, 0.0) + 120.0).values
    assert (out[0] == 120).all() and (out[1] == 0).all() and np.isnan(out[2]).all()


def test_feet_crs_uses_metres():
    feet = 0.3048006096012192  # US survey foot, EPSG:2263 (NAD83 / New York Long Island ftUS)
    dem = plane(0.2, 0.0, crs="EPSG:2263", res=10.0, unit=feet)  # x, y in feet, z in m
    east, north = metres_per_pixel(dem)
    assert east == pytest.approx(10 * feet) and north == pytest.approx(-10 * feet)
    slope = terrain(dem).sel(feature="slope").values
    np.testing.assert_allclose(slope, math.degrees(math.atan(0.2)), atol=1e-4)


def test_geographic_crs_has_metric_pixel_sizes():
    lat = 60 - 0.0001 * np.arange(40)  # about 11 m
    lon = 10 + 0.0002 * np.arange(30)
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    phi = np.radians(lat)[:, None]
    meridional = a * (1 - e2) / (1 - e2 * np.sin(phi) ** 2) ** 1.5
    prime = a / np.sqrt(1 - e2 * np.sin(phi) ** 2)
    # z rises 0.1 m per metre to the north: integrate northing along the meridian
    northing = np.radians(lat - lat[0])[:, None] * meridional
    z = 0.1 * northing + 0 * lon[None, :]
    dem = xr.DataArray(z, dims=("y", "x"), coords={"y": lat, "x": lon}).rio.write_crs(4326)
    east, north = metres_per_pixel(dem)
    np.testing.assert_allclose(east.values, np.radians(0.0002) * prime[:, 0] * np.cos(phi[:, 0]))
    np.testing.assert_allclose(north.values, -np.radians(0.0001) * meridional[:, 0])
    out = terrain(dem.chunk(13))
    np.testing.assert_allclose(out.sel(feature="slope").values, math.degrees(math.atan(0.1)),
                               atol=2e-3)
    named = terrain(dem.rename(y="latitude", x="longitude"))
    np.testing.assert_array_equal(named.values, out.values)
    np.testing.assert_allclose(out.sel(feature="aspect").values, 180.0, atol=1e-3)


def test_chunks_and_holes_give_identical_results(aber_dem):
    dem = aber_dem[:400, :500].astype(np.float64)
    dem = dem.where(dem > 5)  # the sea becomes a hole
    one = terrain(dem.chunk(-1)).values
    many = terrain(dem.chunk({"y": 61, "x": 97})).values
    np.testing.assert_array_equal(one, many)
    assert np.isnan(one[:, np.isnan(dem.values)]).all()
    assert np.nanmax(one[1]) < 60 and np.nanmin(one[1]) >= 0
    assert np.nanmin(one[2]) >= 0 and np.nanmax(one[2]) < 360


@pytest.mark.parametrize("ge,gn", [(0.0, 0.5), (-0.2, -0.2), (0.0, 0.0)])
def test_cube_terrain_features_northness_eastness_and_zero_on_flat(ge, gn):
    from hrlc.features import terrain_features

    out = terrain_features(plane(ge, gn).chunk(6))
    assert list(out.feature.values) == ["elevation", "slope", "northness", "eastness"]
    steepness = math.hypot(ge, gn)
    sin_slope = math.sin(math.atan(steepness))
    # the downhill direction is -gradient: north component -gn, east component -ge
    north = -gn / steepness * sin_slope if steepness else 0.0
    east = -ge / steepness * sin_slope if steepness else 0.0
    np.testing.assert_allclose(out.sel(feature="northness").values, north, atol=1e-5)
    np.testing.assert_allclose(out.sel(feature="eastness").values, east, atol=1e-5)
    assert not np.isnan(out.values).any()
