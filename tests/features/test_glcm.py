"""GLCM textures against scikit-image, missing data, chunking, quantisation, bad options."""

from __future__ import annotations

import warnings

import dask.array as da
import numba
import numpy as np
import pytest
import xarray as xr
from skimage.feature import graycomatrix, graycoprops

from hrlc.errors import ConfigError
from hrlc.features import TEXTURES, glcm_array, glcm_textures, quantize
from hrlc.features.glcm import INVALID, _texture_values

ALL = list(TEXTURES)


def skimage_textures(window: np.ndarray, levels: int, distances, angles) -> np.ndarray:
    """Reference: graycoprops of the symmetric normed GLCM, averaged over offsets.

    Pixels equal to ``levels`` are missing: they get their own grey level, whose row and
    column are dropped from the matrix before the properties are taken.
    """
    glcm = graycomatrix(window, distances, np.radians(angles), levels=levels + 1,
                        symmetric=True, normed=False)[:levels, :levels]
    return np.array([graycoprops(glcm, t).mean() for t in ALL])


CASES = [  # window, levels, distances, angles
    (7, 32, [1], [0, 45, 90, 135]),
    (5, 8, [1, 2], [0, 45, 90, 135]),
    (9, 64, [1, 3], [0, 90]),
    (11, 16, [2], [0, 30, 60, 135]),
    (3, 4, [1], [45]),
]


@pytest.mark.parametrize("window,levels,distances,angles", CASES)
def test_matches_scikit_image_on_random_windows(window, levels, distances, angles):
    rng = np.random.default_rng(window * levels)
    image = rng.integers(0, levels, (30, 34))
    image[5:12, 5:9] = rng.integers(0, 2, (7, 4))  # some near-constant patches too
    ours = glcm_array(image, window=window, levels=levels, distances=distances,
                      angles=angles, textures=ALL)
    r = window // 2
    for row, col in rng.integers(r, (30 - r, 34 - r), size=(12, 2)):
        patch = image[row - r: row + r + 1, col - r: col + r + 1]
        expected = skimage_textures(patch, levels, distances, angles)
        np.testing.assert_allclose(ours[:, row, col], expected, rtol=0, atol=1e-6)


def test_edges_and_nodata_use_the_valid_pairs_only():
    rng = np.random.default_rng(3)
    levels, window, r = 16, 7, 3
    image = rng.integers(0, levels, (20, 20))
    image[8, 9] = image[10, 12] = levels  # missing pixels
    ours = glcm_array(image, window=window, levels=levels, textures=ALL)
    padded = np.pad(image, r, constant_values=levels)  # beyond the edge = missing
    for row, col in [(0, 0), (0, 10), (19, 5), (9, 10), (10, 11), (12, 12)]:
        patch = padded[row: row + window, col: col + window]
        expected = skimage_textures(patch, levels, [1], [0, 45, 90, 135])
        np.testing.assert_allclose(ours[:, row, col], expected, atol=1e-6)
    assert np.isnan(ours[:, 8, 9]).all()  # the missing pixel itself


def test_lazy_float32_result_matches_and_chunks_give_no_seams():
    rng = np.random.default_rng(7)
    band = xr.DataArray(rng.random((61, 53)).astype(np.float32), dims=("y", "x"))
    band[10:14, 20:30] = np.nan
    one = glcm_textures(band, value_range=(0.0, 1.0), levels=16, window=5)
    assert one.dims == ("texture", "y", "x") and one.dtype == np.float32
    assert list(one.texture.values) == ["contrast", "dissimilarity", "homogeneity", "ASM",
                                        "correlation", "entropy"]
    many = glcm_textures(band.chunk({"y": 9, "x": 7}), levels=16, window=5,
                         value_range=(0.0, 1.0))
    assert isinstance(many.data, da.Array)
    np.testing.assert_array_equal(one.values, many.values)
    q = np.where(np.isnan(band.values), 16, np.clip(np.floor(band.values * 16), 0, 15))
    core = glcm_array(q.astype(int), window=5, levels=16)
    np.testing.assert_allclose(one.values, core, rtol=1e-6)


def test_textures_compile_for_int64_sums_only():
    # the running sums start as int64: from a literal 0, numba's type inference of
    # _glcm_rows compiled _texture_values once more for Literal[int](0) arguments. It is
    # seen in a process that compiles _glcm_rows (a cold numba cache, as in CI); loaded
    # from the cache, no type inference runs and there is nothing to see
    glcm_array(np.arange(16).reshape(4, 4) % 3, window=3, levels=4)
    types = {t for signature in _texture_values.signatures for t in signature}
    assert not any(isinstance(t, numba.types.Literal) for t in types), types


def test_robust_range_is_the_same_whatever_the_chunking():
    rng = np.random.default_rng(2)
    band = xr.DataArray(rng.normal(0.3, 0.1, (300, 280)).astype(np.float32), dims=("y", "x"))
    a = glcm_textures(band, textures=["contrast"], window=3).values
    b = glcm_textures(band.chunk(64), textures=["contrast"], window=3).values
    np.testing.assert_array_equal(a, b)


def test_constant_and_all_nan_windows_are_defined_without_warnings():
    band = xr.DataArray(np.full((12, 12), 0.25, np.float32), dims=("y", "x"))
    band[:, 6:] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = glcm_textures(band.chunk(4), textures=ALL, window=3)
        values = out.values
        nan_band = glcm_textures(band * np.nan, window=3).values
    constant = dict(zip(ALL, values[:, 5, 2]))
    assert constant == {"contrast": 0.0, "dissimilarity": 0.0, "homogeneity": 1.0, "ASM": 1.0,
                        "energy": 1.0, "correlation": 1.0, "entropy": 0.0, "mean": 0.0,
                        "variance": 0.0, "std": 0.0}
    assert np.isnan(values[:, :, 6:]).all() and np.isnan(nan_band).all()


def test_quantize_robust_and_fixed_range():
    values = np.linspace(0, 1, 101, dtype=np.float32).reshape(1, 101)
    values[0, 50] = np.nan
    band = xr.DataArray(values, dims=("y", "x"))
    fixed = quantize(band, levels=4, value_range=(0.0, 1.0)).values[0]
    assert fixed[0] == 0 and fixed[24] == 0 and fixed[25] == 1 and fixed[100] == 3
    assert fixed[50] == INVALID
    robust = quantize(band, levels=10, percentiles=(10, 90)).values[0]
    assert robust[5] == 0 and robust[95] == 9 and robust[50] == INVALID
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = quantize(band * np.nan, levels=8).values
    assert (empty == INVALID).all()


@pytest.mark.parametrize("options,message", [
    ({"window": 6}, "odd number"),
    ({"window": 5, "distances": [5]}, "smaller than the window"),
    ({"textures": ["contrast", "busyness"]}, "unknown GLCM texture.*known: contrast"),
    ({"levels": 300}, "levels must be between"),
])
def test_bad_options_are_config_errors(options, message):
    band = xr.DataArray(np.zeros((8, 8), np.float32), dims=("y", "x"))
    with pytest.raises(ConfigError, match=message):
        glcm_textures(band, **options)
