import warnings

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from hrlc.errors import ConfigError, MissingBandError
from hrlc.masks import seasonal_background
from hrlc.masks.background import quantile_block
from tests.masks.conftest import cube


def nanquantile64(masked: np.ndarray, q: float, axis: int = 0) -> np.ndarray:
    """numpy.nanquantile in float64, rounded to float32: the definition of the kernel."""
    with warnings.catch_warnings():  # all-NaN pixels: numpy warns, NaN is expected
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(masked.astype(np.float64), q, axis=axis).astype(np.float32)


@pytest.mark.parametrize("n_time", [1, 2, 5, 12, 36])
@pytest.mark.parametrize("q", [0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
def test_quantile_equals_numpy_nanquantile(n_time, q):
    rng = np.random.default_rng(n_time)
    values = rng.random((n_time, 2, 9, 7)).astype(np.float32)
    clear = rng.random((n_time, 9, 7)) > 0.3
    clear[:, 4, 4] = False  # a pixel never clear
    masked = np.where(clear[:, None], values, np.nan)
    out, count = quantile_block(masked, clear, days=np.arange(n_time) * 5.0,
                                quantiles=[q, q], window_days=None, min_clear=1)
    np.testing.assert_array_equal(out[0], nanquantile64(masked, q))  # bit for bit
    np.testing.assert_array_equal(count[0], clear.sum(0))
    assert np.isnan(out[0, :, 4, 4]).all()
    # numpy's own float32 arithmetic differs by float32 rounding at most (values < 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        in_float32 = np.nanquantile(masked.astype(np.float32), q, axis=0)
    assert in_float32.dtype == np.float32
    np.testing.assert_allclose(out[0], in_float32, rtol=0, atol=2.0 ** -24)


@pytest.mark.parametrize("window_days", [10.0, 25.0])
def test_moving_window_equals_numpy_per_window(window_days):
    rng = np.random.default_rng(7)
    days = np.array([0, 5, 12, 20, 33, 40, 41, 60])
    values = rng.random((8, 2, 6, 5)).astype(np.float32)
    clear = rng.random((8, 6, 5)) > 0.35
    masked = np.where(clear[:, None], values, np.nan)
    out, count = quantile_block(masked, clear, days=days.astype(float), quantiles=[0.25, 0.25],
                                window_days=window_days, min_clear=1)
    for s, day in enumerate(days):
        near = np.abs(days - day) <= window_days
        np.testing.assert_array_equal(out[s], nanquantile64(masked[near], 0.25))
        np.testing.assert_array_equal(count[s], clear[near].sum(0))


def test_moving_window_uses_dates_within_the_window():
    rng = np.random.default_rng(3)
    values = rng.random((6, 1, 4, 4)).astype(np.float32)
    clear = np.ones((6, 4, 4), bool)
    days = np.array([0, 20, 40, 60, 80, 100], float)
    out, count = quantile_block(values, clear, days=days, quantiles=[0.5], window_days=25,
                                min_clear=1)
    assert out.shape == (6, 1, 4, 4)
    np.testing.assert_array_equal(out[2], np.quantile(values[1:4], 0.5, axis=0))
    np.testing.assert_array_equal(count[0], 2)


def test_too_few_clear_observations_give_nan_and_are_counted():
    values = np.ones((4, 1, 2, 2), np.float32)
    clear = np.zeros((4, 2, 2), bool)
    clear[:3, 0, 0] = True
    clear[:2, 1, 1] = True
    out, count = quantile_block(values, clear, days=np.arange(4.0), quantiles=[0.25],
                                window_days=None, min_clear=3)
    assert out[0, 0, 0, 0] == 1 and np.isnan(out[0, 0, 1, 1]) and np.isnan(out[0, 0, 0, 1])
    assert count[0].tolist() == [[3, 0], [0, 2]]


@pytest.mark.parametrize("chunks", [{"y": 3, "x": 5}, {"y": 11, "x": 2}])
def test_dataarray_chunked_equals_numpy(chunks):
    rng = np.random.default_rng(1)
    refl = cube(rng.random((7, 2, 11, 13)), ["B02", "B04"])
    clear = xr.DataArray(rng.random((7, 11, 13)) > 0.4, dims=("time", "y", "x"))
    ref = seasonal_background(refl, clear, bands=["B02", "B04"], quantile=0.25, min_clear=2)
    lazy = seasonal_background(refl.chunk({"time": 1, "band": 1, **chunks}),
                               clear.chunk({"time": 1, **chunks}), bands=["B02", "B04"],
                               quantile=0.25, min_clear=2)
    assert isinstance(lazy.data, da.Array) and lazy.dims == ("band", "y", "x")
    np.testing.assert_array_equal(lazy.values, ref.values)
    np.testing.assert_array_equal(lazy.clear_count.values, clear.values.sum(0))
    assert lazy.rio.crs == refl.rio.crs


def test_bad_background_options():
    refl = cube(np.ones((2, 1, 2, 2)), ["B02"])
    clear = xr.DataArray(np.ones((2, 2, 2), bool), dims=("time", "y", "x"))
    with pytest.raises(ConfigError, match="quantile"):
        seasonal_background(refl, clear, quantile=1.5)
    with pytest.raises(MissingBandError, match="B08"):
        seasonal_background(refl, clear, bands=["B08"])
