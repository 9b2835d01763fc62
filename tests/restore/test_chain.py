"""restore_composites: the two orders by hand, options and configuration."""

import inspect

import numpy as np
import pytest
import xarray as xr

from hrlc.config.restore import (InterpolateConfig, RestoreConfig, ShadowConfig,
                                 TopographicConfig)
from hrlc.errors import ConfigError, InputError
from hrlc.restore import (RestorationFit, correct_topography, fill_gaps,
                          fit_shadow_correction, restore_composites)


def three_months(terrain_scene):
    """January and March of the terrain scene around an empty February (sun between)."""
    cube, slope, aspect, flat, c_true, _ = terrain_scene
    values = np.stack([cube.values[0], np.full(cube.shape[1:], np.nan), cube.values[1]])
    months = cube.isel(time=[0, 0, 1]).copy(data=values).assign_coords(
        time=np.array(["2023-01", "2023-02", "2023-03"], "datetime64[M]").astype("datetime64[ns]"),
        sun_zenith=("time", [35.0, 45.0, 55.0]), sun_azimuth=("time", [150.0, 157.0, 165.0]))
    c = xr.DataArray(np.full((3, 3), c_true), dims=("time", "band"),
                     coords={"time": months.time, "band": months.band})
    return months, slope, aspect, flat, c


def _cos_i(slope, aspect, zenith, azimuth):
    z, s, a, p = (np.deg2rad(v) for v in (zenith, slope.values, aspect.values, azimuth))
    return np.cos(z) * np.cos(s) + np.sin(z) * np.sin(s) * np.cos(p - a)


def test_the_two_orders_by_hand(terrain_scene):
    months, slope, aspect, flat, c = three_months(terrain_scene)
    fitted = RestorationFit(c=c)
    options = dict(fitted=fitted, shadow_correction="none")
    first = restore_composites(months, slope, aspect, order="correct_then_fill", **options)
    later = restore_composites(months, slope, aspect, order="fill_then_correct", **options)
    np.testing.assert_array_equal(first["gap_flag"].values, later["gap_flag"].values)
    assert first["reflectance"].attrs["restore_order"] == "correct_then_fill"

    def factor(t):  # C-correction of month t where it applies (sloped, lit), else 1
        cos_i = _cos_i(slope, aspect, months.sun_zenith.values[t], months.sun_azimuth.values[t])
        cos_z = np.cos(np.deg2rad(months.sun_zenith.values[t]))
        usable = (slope.values >= 2) & (cos_i > 0.1)
        return np.where(usable, (cos_z + 0.25) / (cos_i + 0.25), 1.0)

    jan, mar = months.values[0], months.values[2]
    # corrected with their own sun, then averaged
    np.testing.assert_allclose(first["reflectance"].values[1],
                               0.5 * (jan * factor(0) + mar * factor(2)), rtol=1e-5)
    # averaged as observed, then corrected as if seen under February's sun
    np.testing.assert_allclose(later["reflectance"].values[1],
                               0.5 * (jan + mar) * factor(1), rtol=1e-5)
    # observed months are the same either way
    np.testing.assert_allclose(later["reflectance"].values[[0, 2]],
                               first["reflectance"].values[[0, 2]], rtol=1e-6)
    # the filled month is flat reflectance only when corrected first
    lit = (factor(0) != 1) & (factor(2) != 1)
    error = {name: np.abs(out["reflectance"].values[1][:, lit]
                          - flat[:, None]).mean() for name, out in (("first", first),
                                                                    ("later", later))}
    # (noise 0.002: the neighbours' own illumination stays in the later one, 1.6x the error)
    assert error["first"] < 0.0015 and error["later"] > 1.5 * error["first"], error


def test_without_terrain_it_is_gap_filling(terrain_scene):
    months, *_ = three_months(terrain_scene)
    out = restore_composites(months, interpolate={"reach": 2})
    np.testing.assert_array_equal(out["reflectance"].values,
                                  fill_gaps(months, reach=2)["reflectance"].values)
    assert set(out.data_vars) == {"reflectance", "gap_flag"}


def test_options_are_checked(terrain_scene):
    months, slope, aspect, *_ = three_months(terrain_scene)
    with pytest.raises(ConfigError, match="order must be one of"):
        restore_composites(months, order="sideways")
    with pytest.raises(ConfigError, match="shadow_correction"):
        restore_composites(months, shadow_correction="magic")
    with pytest.raises(InputError, match="slope and aspect"):
        restore_composites(months, slope)


def _keywords(function) -> set[str]:
    return {name for name, p in inspect.signature(function).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


@pytest.mark.parametrize("model, function", [
    (RestoreConfig, restore_composites), (ShadowConfig, fit_shadow_correction),
    (TopographicConfig, correct_topography), (InterpolateConfig, fill_gaps)])
def test_config_fields_are_the_keyword_options(model, function):
    assert set(model.model_fields) == _keywords(function)
    defaults = {name: p.default for name, p in inspect.signature(function).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY}
    dumped = model().model_dump()
    for name, value in dumped.items():
        if not isinstance(value, dict):  # blocks of RestoreConfig default to None: {}
            expected = defaults[name]
            assert value == (list(expected) if isinstance(expected, tuple) else expected), name


def test_the_fit_carries_the_dem_relief_so_restoring_computes_nothing(terrain_scene):
    from hrlc.restore import fit_restoration
    from hrlc.testing import assert_lazy, chunked

    months, slope, aspect, *_ = three_months(terrain_scene)
    dem = (slope * 3.0 + 200.0).rename("dem")  # any surface: relief = 3 x slope range
    fitted = fit_restoration(months, slope, aspect, dem, shadow_correction="none")
    assert fitted.relief == pytest.approx(3.0 * float(slope.max() - slope.min()))
    # the data in dask chunks, the per-month sun angles in memory (as read_l2a gives them)
    inputs = chunked([months, slope, aspect, dem], {"y": 20, "x": 30})
    out = assert_lazy(restore_composites, *inputs, fitted=fitted, shadow_correction="none")
    assert set(out.data_vars) == {"reflectance", "gap_flag", "terrain_shadow", "c_factor"}
