import numpy as np
import pytest
import xarray as xr

from hrlc.errors import GridMismatchError, InputError, MissingBandError
from hrlc.restore import correct_topography, fit_c_factors, illumination

OPTIONS = dict(min_slope=2.0, shadow_cos_i=0.1)


def corr(a, b):
    ok = np.isfinite(a) & np.isfinite(b)
    return np.corrcoef(a[ok], b[ok])[0, 1]


def test_illumination_by_hand():
    slope = xr.DataArray([[30.0, 30.0, 0.0]], dims=("y", "x"))
    aspect = xr.DataArray([[160.0, 340.0, np.nan]], dims=("y", "x"))
    cos_i = illumination(slope, aspect, sun_zenith=40.0, sun_azimuth=160.0).values[0]
    # facing the sun: i = 40 - 30; facing away: i = 40 + 30; flat (aspect NaN): i = 40
    np.testing.assert_allclose(cos_i, np.cos(np.deg2rad([10, 70, 40])), rtol=1e-6)


def test_c_correction_recovers_flat_reflectance_and_removes_the_illumination_signal(
        terrain_scene):
    cube, slope, aspect, flat, c_true, cos_i = terrain_scene
    c = fit_c_factors(cube, slope, aspect, **OPTIONS).compute()
    np.testing.assert_allclose(c.values, c_true, atol=0.02)
    out = correct_topography(cube, slope, aspect, c, **OPTIONS)
    for t in range(2):
        lit = (slope.values >= 2) & (cos_i[t] > 0.1)
        for b in range(3):
            before = corr(cube.values[t, b][lit], cos_i[t][lit])
            after = corr(out.reflectance.values[t, b][lit], cos_i[t][lit])
            assert before > 0.9 and abs(after) < 0.05, (t, b, before, after)
            error = np.abs(out.reflectance.values[t, b][lit] - flat[b])
            assert error.mean() < 0.004
    np.testing.assert_allclose(out.cos_i.values, cos_i, rtol=1e-5, atol=1e-6)


def test_flat_water_and_shadowed_terrain_are_never_changed(terrain_scene):
    cube, slope, aspect, _, _, cos_i = terrain_scene
    cube = cube.copy(data=cube.values.copy())
    cube[:, :, 20:25, :] = np.array([0.06, 0.05, 0.02])[:, None, None]  # water: NDWI > 0
    out = correct_topography(cube, slope, aspect, **OPTIONS)
    shadow = (slope.values >= 2) & (cos_i <= 0.1)
    assert shadow[1].any()
    np.testing.assert_array_equal(out.terrain_shadow.values, shadow.astype(np.uint8))
    keep = np.broadcast_to((slope.values < 2) | np.isin(np.arange(60), range(20, 25))[:, None],
                           shadow.shape) | shadow
    for b in range(3):
        np.testing.assert_array_equal(out.reflectance.values[:, b][keep], cube.values[:, b][keep])
    assert out.terrain_shadow.dims == ("time", "y", "x") and out.rio.crs.to_epsg() == 32633


def test_band_without_illumination_dependence_is_left_alone(terrain_scene):
    cube, slope, aspect, *_ = terrain_scene
    noise = np.random.default_rng(0).uniform(0.1, 0.2, cube.shape).astype(np.float32)
    c = fit_c_factors(cube.copy(data=noise), slope, aspect, water_ndwi=None)
    flipped = cube.copy(data=0.5 - cube.values)  # darker when lit: m < 0
    c_flipped = fit_c_factors(flipped, slope, aspect, water_ndwi=None).values
    assert np.isnan(c_flipped).all()
    out = correct_topography(flipped, slope, aspect, water_ndwi=None)
    np.testing.assert_array_equal(out.reflectance.values, flipped.values)
    assert c.dims == ("time", "band")


def test_chunked_equals_whole_array(terrain_scene):
    cube, slope, aspect, *_ = terrain_scene
    c = fit_c_factors(cube, slope, aspect).compute()
    whole = correct_topography(cube, slope, aspect, c)
    chunked = correct_topography(cube.chunk({"time": 1, "y": 16, "x": 25}),
                                 slope.chunk(16), aspect.chunk(25), c)
    np.testing.assert_array_equal(chunked.reflectance.values, whole.reflectance.values)
    np.testing.assert_array_equal(chunked.terrain_shadow.values, whole.terrain_shadow.values)
    fitted_lazily = fit_c_factors(cube.chunk({"y": 16}), slope, aspect).values
    np.testing.assert_allclose(fitted_lazily, c.values, rtol=1e-9)


def test_bad_inputs(terrain_scene):
    cube, slope, aspect, *_ = terrain_scene
    with pytest.raises(InputError, match="sun_zenith"):
        correct_topography(cube.drop_vars("sun_zenith"), slope, aspect)
    with pytest.raises(GridMismatchError, match="slope layer"):
        correct_topography(cube, slope.isel(y=slice(1, None)), aspect)
    with pytest.raises(MissingBandError, match="B03"):
        correct_topography(cube.sel(band=["B04", "B08"]), slope, aspect)
    c = fit_c_factors(cube, slope, aspect).isel(band=[0, 1])
    with pytest.raises(InputError, match="along 'band'"):
        correct_topography(cube, slope, aspect, c)
