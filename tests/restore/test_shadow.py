"""Terrain shadow: cast shadows by ray-marching, self-shadow from cos i, chunking."""

import numpy as np
import pytest
import xarray as xr
from scipy.ndimage import gaussian_filter

from hrlc.restore import CAST_SHADOW, LIT, SELF_SHADOW, cast_shadow, shadow_reach, terrain_shadow

FLANK = 60.0  # degrees: steeper than the sun is high, so the flank facing away is dark
HEIGHT = 100.0  # m
ZENITH = 50.0  # sun elevation 40 degrees


def ridge(n: int = 60, crest: int = 30):
    """A ridge running north-south on flat ground (10 m pixels), crest at column ``crest``."""
    x = 465_000 + 10.0 * np.arange(n) + 5
    y = 5_080_000 - 10.0 * np.arange(n) - 5
    z = np.maximum(0.0, HEIGHT - np.abs(x - x[crest]) * np.tan(np.deg2rad(FLANK)))
    dem = xr.DataArray(np.tile(z, (n, 1)), dims=("y", "x"), coords={"y": y, "x": x})
    return dem.rio.write_crs("EPSG:32633"), x[crest]


def months(zenith, azimuth) -> tuple[xr.DataArray, xr.DataArray]:
    time = np.arange(np.datetime64("2023-01"), np.datetime64("2023-01") + len(zenith))
    coords = {"time": time.astype("datetime64[ns]")}
    return (xr.DataArray(np.asarray(zenith, float), dims="time", coords=coords),
            xr.DataArray(np.asarray(azimuth, float), dims="time", coords=coords))


@pytest.mark.parametrize("azimuth", [90.0, 120.0, 135.0, 180.0, 270.0])
def test_cast_shadow_of_a_ridge_falls_where_geometry_puts_it(azimuth):
    dem, crest = ridge()
    zenith, az = months([ZENITH], [azimuth])
    shadow = cast_shadow(dem, sun_zenith=zenith, sun_azimuth=az).values[0]
    # The crest hides the sun from ground at horizontal distance w across the ridge when
    # HEIGHT - z > (w / |sin az|) tan(elevation): the ray reaches the crest after
    # w / |sin az|. On flat ground the shadow is HEIGHT / tan(elevation) long along the
    # ray (119.2 m), i.e. w < 119.2 |sin az| across the ridge; the flank facing away is
    # steeper than the sun is high, so all of it is in shadow too.
    sin, cos = np.sin(np.deg2rad(azimuth)), np.cos(np.deg2rad(azimuth))
    length = HEIGHT / np.tan(np.deg2rad(90 - ZENITH)) * abs(sin)
    w = (crest - dem.x.values) * np.sign(sin)  # across the ridge, away from the sun
    expected = np.broadcast_to((w > 0) & (w < length), shadow.shape)
    # rows 10-49: every ray to the crest stays on the grid (it moves <= 6 rows)
    np.testing.assert_array_equal(shadow[10:50], expected[10:50])
    if cos < -0.1 and sin > 0.1:
        # sun in the south-east: rays of the last rows leave the DEM (where nothing is
        # known) before the ridge, and stop there
        assert shadow[59].sum() < expected[59].sum()
    counts = {90.0: 11, 120.0: 10, 135.0: 8, 180.0: 0, 270.0: 11}  # pixels in a row
    assert expected[10].sum() == counts[azimuth]


def test_shadow_codes_self_where_facing_away_cast_where_hidden():
    dem, crest = ridge()
    x = dem.x.values
    on_flank = (np.abs(x - crest) > 0) & (dem.values[0] > 0)
    slope = xr.DataArray(np.tile(np.where(on_flank, FLANK, 0.0), (60, 1)), dims=("y", "x"),
                         coords=dem.coords)
    aspect = xr.DataArray(np.tile(np.where(x < crest, 270.0, 90.0), (60, 1)), dims=("y", "x"),
                          coords=dem.coords)
    zenith, azimuth = months([ZENITH, 20.0], [90.0, 90.0])
    codes = terrain_shadow(dem, slope, aspect, sun_zenith=zenith, sun_azimuth=azimuth).values
    assert codes.dtype == np.uint8 and codes.shape == (2, 60, 60)
    west = x < crest
    # low sun: the west flank faces away (cos i = cos 50 cos 60 - sin 50 sin 60 < 0), the
    # flat ground west of it up to 119.2 m from the crest is hidden by the ridge
    expected = np.where(west & on_flank, SELF_SHADOW,
                        np.where(west & (crest - x < 119.2), CAST_SHADOW, LIT))
    np.testing.assert_array_equal(codes[0], np.broadcast_to(expected, (60, 60)))
    # high sun (elevation 70 > flank 60): the far flank is lit, nothing is cast
    np.testing.assert_array_equal(codes[1], LIT)


def test_cast_shadow_is_the_same_for_any_chunking():
    rng = np.random.default_rng(3)
    dem, _ = ridge(n=90)
    hills = gaussian_filter(rng.standard_normal((90, 90)), 4) * 2000.0
    dem = dem.copy(data=dem.values + hills)
    zenith, azimuth = months([75.0, 60.0, 30.0], [150.0, 200.0, 40.0])
    whole = cast_shadow(dem, sun_zenith=zenith, sun_azimuth=azimuth)
    halo = whole.attrs["shadow_reach_m"] / 10
    assert halo > 16  # the halo is longer than the small chunks below
    assert 0.05 < whole.values.mean() < 0.9  # some shadow, not everywhere
    for chunks in ({"y": 16, "x": 25}, {"y": 45, "x": 7}):
        chunked = cast_shadow(dem.chunk(chunks), sun_zenith=zenith, sun_azimuth=azimuth)
        assert chunked.chunks[1:] == dem.chunk(chunks).chunks
        np.testing.assert_array_equal(chunked.values, whole.values)


def test_sun_down_missing_sun_and_reach():
    dem, _ = ridge()
    zenith, azimuth = months([np.nan, 95.0], [120.0, 120.0])
    shadow = cast_shadow(dem, sun_zenith=zenith, sun_azimuth=azimuth).values
    assert not shadow[0].any() and shadow[1].all()
    assert shadow_reach(100.0, [50.0, np.nan, 95.0]) == pytest.approx(100 * np.tan(np.deg2rad(50)))
    assert shadow_reach(0.0, [50.0]) == 0.0
    flat = cast_shadow(dem * 0, sun_zenith=70.0, sun_azimuth=180.0)
    assert flat.dims == ("y", "x") and not flat.values.any()


def test_relief_and_crs_travel_with_the_shadow_codes():
    from hrlc.restore import dem_relief

    dem, crest = ridge()
    assert dem_relief(dem) == HEIGHT  # the crest stands HEIGHT above the flat ground
    assert dem_relief(dem.chunk({"y": 7, "x": 11})) == HEIGHT
    flat = xr.zeros_like(dem)
    zenith, azimuth = months([ZENITH], [90.0])
    codes = terrain_shadow(dem, flat, flat, sun_zenith=zenith, sun_azimuth=azimuth,
                           relief=dem_relief(dem))
    assert codes.rio.crs == dem.rio.crs and codes.rio.grid_mapping in codes.coords
