"""The feature cube: names, descriptions, laziness, chunk independence, DEM, bad input."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from dask.callbacks import Callback

from hrlc.config.features import FeaturesConfig
from hrlc.errors import ConfigError, GridMismatchError, MissingBandError
from hrlc.features import build_features, compute_index, glcm_textures, month_labels


class _NoCompute(Callback):
    def _start(self, dsk):
        raise AssertionError("build_features computed something")


def test_names_descriptions_and_values(make_stack):
    stack = make_stack(chunks={"y": 10, "x": 10})
    with _NoCompute():
        cube = build_features(stack, bands=["B04", "B08"], indices=["NDVI", "SOBEL"],
                              index_statistics=["median", "max"], glcm_textures=["contrast"])
    assert list(cube.feature.values) == [
        "B04_m04", "B04_m05", "B08_m04", "B08_m05",
        "NDVI_m04", "NDVI_m05", "NDVI_median", "NDVI_max",
        "SOBEL_m04", "SOBEL_m05", "SOBEL_median", "SOBEL_max", "glcm_contrast_B08"]
    assert cube.dims == ("feature", "y", "x") and cube.dtype == np.float32
    assert cube.rio.crs == stack.rio.crs and cube.attrs["feature_descriptions"]["NDVI_m05"]
    assert "Rouse" in str(cube.sel(feature="NDVI_m04").description.values)
    values = cube.compute()
    ndvi = compute_index(stack, "NDVI").values
    np.testing.assert_allclose(values.sel(feature="B08_m05"), stack.sel(band="B08")[1])
    np.testing.assert_allclose(values.sel(feature="NDVI_median"), np.median(ndvi, axis=0),
                               rtol=1e-6)
    np.testing.assert_allclose(values.sel(feature="NDVI_max"), ndvi.max(axis=0), rtol=1e-6)
    median_nir = stack.sel(band="B08").median("time")
    expected = glcm_textures(median_nir, textures=["contrast"]).values[0]
    np.testing.assert_allclose(values.sel(feature="glcm_contrast_B08"), expected, rtol=1e-6)


def test_months_subset_glcm_month_and_long_stacks(make_stack):
    stack = make_stack(months=("2020-06-01", "2021-05-01", "2021-06-01"))
    assert month_labels(stack.time) == ["m202006", "m202105", "m202106"]
    cube = build_features(stack, bands=["B02"], indices=[], months=[5], glcm_composite=5,
                          glcm_textures=["entropy"])
    assert list(cube.feature.values) == ["B02_m05", "glcm_entropy_B08"]
    june = build_features(stack, bands=["B02"], indices=[], months=[6], glcm_textures=[])
    assert list(june.feature.values) == ["B02_m202006", "B02_m202106"]
    chosen = build_features(stack, bands=[], indices=["NDVI"], index_months=[5],
                            index_statistics=["mean"], glcm_textures=[])
    assert list(chosen.feature.values) == ["NDVI_m202105", "NDVI_mean"]
    with pytest.raises(ConfigError, match=r"months \[7\] are not in the composites"):
        build_features(stack, index_months=[7])
    assert "month 05" in str(cube.description.values[1])


def test_default_cube_on_real_data_with_dem_chunks_give_identical_values(aber, aber_dem):
    small = aber.isel(y=slice(0, 300), x=slice(0, 260))
    dem = aber_dem.isel(y=slice(0, 300), x=slice(0, 260))
    one = build_features(small.chunk({"y": -1, "x": -1}), dem=dem)
    many = build_features(small.chunk({"y": 64, "x": 48}), dem=dem.chunk(50))
    assert one.sizes["feature"] == 10 + 14 + 6 + 4  # terrain: elevation, slope, northness, eastness
    assert one.feature.values[-4:].tolist() == ["elevation", "slope", "northness", "eastness"]
    a, b = one.values, many.values
    np.testing.assert_array_equal(a, b)
    assert np.isfinite(a[:-1]).mean() > 0.99  # aspect is NaN on the flat sea


def test_dem_in_another_crs_is_reprojected(aber, aber_dem):
    dem_4326 = aber_dem.rio.write_crs(aber_dem.rio.crs).rio.reproject("EPSG:4326")
    cube = build_features(aber.isel(y=slice(0, 200), x=slice(0, 200)), dem=dem_4326,
                          bands=[], indices=[], glcm_textures=[])
    elevation = cube.sel(feature="elevation").values
    np.testing.assert_allclose(elevation[3:-3, 3:-3],
                               aber_dem.values[:200, :200][3:-3, 3:-3], atol=8.0)


def test_bad_input_messages(aber_dem, make_stack):
    stack = make_stack()
    with pytest.raises(MissingBandError, match="index NDMI needs band B11"):
        build_features(stack.sel(band=["B04", "B08"]), indices=["NDMI"], glcm_textures=[])
    with pytest.raises(ConfigError, match="unknown index 'NBR'.*known indices: NDVI"):
        build_features(stack, indices=["NBR"])
    with pytest.raises(MissingBandError, match="GLCM band B12"):
        build_features(stack.sel(band=["B04"]), bands=[], indices=[], glcm_band="B12")
    with pytest.raises(ConfigError, match=r"months \[7\] are not in the composites"):
        build_features(stack, months=[7])
    with pytest.raises(ConfigError, match="unknown index statistic"):
        build_features(stack, index_statistics=["p90"])
    bare = aber_dem.isel(y=slice(0, 5), x=slice(0, 5)).drop_vars("spatial_ref")
    with pytest.raises(GridMismatchError, match="write_crs"):
        build_features(stack, dem=bare, bands=[], indices=[], glcm_textures=[])


def test_config_fields_are_exactly_the_options(make_stack):
    options = [p for p in inspect.signature(build_features).parameters
               if p not in ("composites", "dem")]
    assert sorted(options) == sorted(FeaturesConfig.model_fields)
    defaults = FeaturesConfig().model_dump()
    signature = inspect.signature(build_features).parameters
    for name, value in defaults.items():
        default = signature[name].default
        expected = list(default) if isinstance(default, tuple) else default
        assert value == expected or tuple(value) == default, name
    cube = build_features(make_stack(), **FeaturesConfig(indices=["NDVI"]).model_dump())
    assert "NDVI_m04" in cube.feature.values


def test_config_rejects_bad_values():
    from hrlc.config import validate_config

    for bad, message in [({"glcm_window": 4}, "odd"), ({"indices": ["XX"]}, "unknown index"),
                         ({"custom_indices": {"A": "os.system(1)"}}, "not allowed"),
                         ({"glcm_composite": 13}, "1-12"), ({"colour": 1}, "unknown key")]:
        with pytest.raises(ConfigError, match=message):
            validate_config(bad, FeaturesConfig)


@pytest.mark.parametrize("months", [1, 2, 3, 4, 5, 12])
def test_nan_median_equals_numpy_bit_for_bit(months):
    from hrlc.features.temporal import nan_median

    rng = np.random.default_rng(months)
    values = rng.normal(size=(5, 40, months)).astype(np.float32)
    values[rng.random(values.shape) < 0.35] = np.nan
    values[0, 0] = np.nan  # a pixel with no observation
    values[1, :4, 0] = np.inf  # infinite values sort with the valid ones, before NaN
    values[2, :4] = -np.inf
    values[3, :4, -1] = values[3, :4, 0]  # ties
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixel
        expected = np.nanmedian(values, axis=-1)
    got = nan_median(values)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got[0, 0])
    # a time axis that is not the contiguous one (as apply_ufunc hands it over)
    transposed = np.moveaxis(np.moveaxis(values, -1, 0).copy(), 0, -1)
    np.testing.assert_array_equal(nan_median(transposed), expected)
