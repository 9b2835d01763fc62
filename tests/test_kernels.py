"""The shared nan-quantile kernel against numpy.nanquantile (method "linear", float64)."""

import warnings

import numpy as np
import pytest

import hrlc.kernels
from hrlc.errors import ConfigError, InputError
from hrlc.kernels import kernel_array, nan_quantile
from tests.conftest import assert_one_variant


def reference(values: np.ndarray, q, valid=None) -> np.ndarray:
    """numpy.nanquantile over axis 0 in float64, per band, rounded to float32."""
    masked = values.astype(np.float64)
    if valid is not None:
        masked = np.where(valid[:, None], masked, np.nan)
    qs = np.broadcast_to(np.asarray(q, np.float64), (values.shape[1],))
    with warnings.catch_warnings():  # all-NaN pixels: numpy warns, NaN is expected
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.stack([np.nanquantile(masked[:, b], qs[b], axis=0, method="linear")
                         for b in range(values.shape[1])]).astype(np.float32)


def random_values(n_time: int, *, seed: int, dtype=np.float32, nan_share=0.3):
    rng = np.random.default_rng(seed)
    values = rng.random((n_time, 3, 8, 9)).astype(dtype)
    values[rng.random(values.shape) < nan_share] = np.nan
    values[:, :, 2, 3] = np.nan  # an all-NaN pixel in every band
    values[:, 1, 5, 5] = np.nan  # and one in one band only
    return values


@pytest.mark.parametrize("n_time", [1, 2, 3, 7, 24, 60])
@pytest.mark.parametrize("q", [0.0, 0.1, 0.25, 1 / 3, 0.5, 0.75, 0.9, 1.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_numpy_nanquantile_in_float64(n_time, q, dtype):
    values = random_values(n_time, seed=n_time, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the kernel itself never warns on all-NaN pixels
        out = nan_quantile(values, q)
    assert out.dtype == np.float32 and out.shape == (3, 8, 9)
    np.testing.assert_array_equal(out, reference(values, q))  # bit for bit, NaN where NaN
    assert np.isnan(out[:, 2, 3]).all() and np.isnan(out[1, 5, 5])


def test_valid_mask_equals_masking_with_nan():
    values = random_values(12, seed=3, nan_share=0.1)
    valid = np.random.default_rng(4).random((12, 8, 9)) > 0.4
    valid[:, 0, 0] = False
    out = nan_quantile(values, 0.25, valid=valid)
    np.testing.assert_array_equal(out, reference(values, 0.25, valid))
    np.testing.assert_array_equal(out, nan_quantile(np.where(valid[:, None], values, np.nan),
                                                    0.25))
    assert np.isnan(out[:, 0, 0]).all()


def test_one_quantile_per_band_and_any_trailing_shape():
    values = random_values(9, seed=5).reshape(9, 3, -1)  # (time, band, pixel)
    out = nan_quantile(values, [0.1, 0.5, 0.9])
    np.testing.assert_array_equal(out, reference(values, [0.1, 0.5, 0.9]))


def test_by_hand_and_extremes():
    values = np.array([0.3, np.nan, 0.1, 0.2], np.float32)[:, None, None]
    # sorted 0.1, 0.2, 0.3 (as float32); position 0.25 * 2 = 0.5: halfway between the two
    low, mid = np.float64(np.float32(0.1)), np.float64(np.float32(0.2))
    assert nan_quantile(values, 0.25)[0, 0] == np.float32(low + 0.5 * (mid - low))
    assert nan_quantile(values, 0.0)[0, 0] == np.float32(0.1)
    assert nan_quantile(values, 1.0)[0, 0] == np.float32(0.3)
    assert nan_quantile(values, 0.5)[0, 0] == np.float32(0.2)


def test_extremes_are_min_and_max():
    values = random_values(15, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(nan_quantile(values, 0.0), np.nanmin(values, axis=0))
        np.testing.assert_array_equal(nan_quantile(values, 1.0), np.nanmax(values, axis=0))


def test_bad_arguments_say_what_to_fix():
    values = np.zeros((4, 2, 3), np.float32)
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        nan_quantile(values, 1.5)
    with pytest.raises(ConfigError, match="one per band"):
        nan_quantile(values, [0.1, 0.2, 0.3])
    with pytest.raises(InputError, match="one flag per date and pixel"):
        nan_quantile(values, 0.5, valid=np.ones((4, 2), bool))
    with pytest.raises(InputError, match="band axis"):
        nan_quantile(np.zeros(4), 0.5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_kernel_compiles_one_variant_per_dtype_whatever_the_layout(kernel_types, dtype):
    # a block of a bigger array is strided, and with one date the (band, pixel, time)
    # view of read-only values is contiguous but still read-only: each was a variant
    seen = kernel_types(hrlc.kernels, "_quantile_rows")
    values = random_values(12, seed=9, dtype=dtype)
    strided = values[:, :, ::2, 1::3]
    one_date = values[:1].copy()
    valid = np.ones(one_date[:, 0].shape, bool)
    q = np.full(3, 0.3)
    for array in (one_date, valid, q):
        array.flags.writeable = False
    np.testing.assert_array_equal(nan_quantile(strided, 0.3), reference(strided, 0.3))
    np.testing.assert_array_equal(nan_quantile(one_date, q, valid=valid),
                                  reference(one_date, q))
    np.testing.assert_array_equal(nan_quantile(values, 0.3), reference(values, 0.3))
    assert_one_variant(seen, hrlc.kernels)


def test_kernel_array_copies_only_what_a_kernel_would_compile_another_variant_for():
    block = np.zeros((4, 6), np.float32)
    assert kernel_array(block) is block and kernel_array(block, np.float32) is block
    read_only = block.copy()
    read_only.flags.writeable = False
    for array in (block[:, ::2], block.T, np.broadcast_to(np.float32(1), (4, 6)), read_only):
        out = kernel_array(array)
        assert out.flags.c_contiguous and out.flags.writeable and out.dtype == np.float32
        np.testing.assert_array_equal(out, array)
    assert kernel_array([1, 2], np.float64).dtype == np.float64
