"""Windowed features on images narrower than their halo (one row, one column, one pixel)."""

import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr

from hrlc.features import build_features


def _composite(values: np.ndarray) -> xr.DataArray:
    rows, cols = values.shape[-2:]
    return xr.DataArray(
        values, dims=("time", "band", "y", "x"),
        coords={"time": [np.datetime64("2021-06-01", "ns")], "band": ["B02", "B03", "B04", "B08"],
                "y": 5.0 - 10 * np.arange(rows), "x": 5.0 + 10 * np.arange(cols)},
    ).rio.write_crs("EPSG:32631")


@pytest.mark.parametrize("shape", [(1, 40), (40, 1), (1, 1)])
def test_an_image_narrower_than_the_halo_equals_the_same_image_with_missing_neighbours(shape):
    """Beyond the image is missing data: a one-row image gives what the same row gives
    in a taller image whose other rows are NaN."""
    rng = np.random.default_rng(0)
    values = rng.uniform(0.01, 0.5, (1, 4, *shape)).astype(np.float32)
    options = dict(glcm_textures=["contrast", "homogeneity"], index_months=[], indices=["NDVI"])
    narrow = build_features(_composite(values).chunk({"y": 16, "x": 16}), **options).compute()
    taller = np.full((1, 4, shape[0] + 8, shape[1] + 8), np.nan, np.float32)
    taller[..., :shape[0], :shape[1]] = values
    reference = build_features(_composite(taller), **options).compute()
    assert narrow.shape[1:] == shape
    np.testing.assert_allclose(narrow.values, reference.values[:, :shape[0], :shape[1]],
                               rtol=1e-6, equal_nan=True)
    assert np.isfinite(narrow.sel(feature="B04_m06").values).all()
