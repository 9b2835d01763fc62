"""reproject_match: same grid, another CRS, chunk independence, dtypes and errors."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import rioxarray
import xarray as xr

from hrlc.errors import ConfigError, GridMismatchError
from hrlc.geo import reproject_match

DEM = Path(str(files("hrlc").joinpath("data", "aber", "srtm_aber_10m.tif")))


@pytest.fixture(scope="module")
def dem():
    return rioxarray.open_rasterio(DEM, masked=False).isel(band=0, drop=True).astype(np.float32)


@pytest.fixture(scope="module")
def dem_4326(dem):
    return dem.rio.reproject("EPSG:4326")


def test_same_grid_is_returned_unchanged_with_the_target_chunks(dem):
    out = reproject_match(dem, dem.chunk(200))
    assert isinstance(out.data, da.Array) and out.data.chunks[0][0] == 200
    np.testing.assert_array_equal(out.values, dem.values)
    assert out.rio.crs == dem.rio.crs


def test_other_crs_is_reprojected_lazily_and_close_to_the_original(dem, dem_4326):
    out = reproject_match(dem_4326, dem.chunk(256))
    assert isinstance(out.data, da.Array) and out.dtype == np.float32
    assert out.shape == dem.shape and out.rio.crs == dem.rio.crs
    np.testing.assert_array_equal(out.x.values, dem.x.values)
    values = out.values
    inner = values[5:-5, 5:-5]
    assert np.isfinite(inner).all()
    # two bilinear resamplings of a 10 m DEM: metres, not tens of metres
    assert np.nanmean(np.abs(inner - dem.values[5:-5, 5:-5])) < 1.0


def test_chunked_equals_one_chunk(dem, dem_4326):
    one = reproject_match(dem_4326, dem).values
    many = reproject_match(dem_4326, dem.chunk({"y": 97, "x": 130})).values
    np.testing.assert_array_equal(one, many)


def test_nearest_keeps_classes_and_dtype(dem):
    classes = (dem // 50).clip(0, 5).astype(np.uint8).rio.write_nodata(255)
    moved = classes.rio.reproject("EPSG:32630")
    back = reproject_match(moved, dem.chunk(300), resampling="nearest")
    assert back.dtype == np.uint8
    values = back.values
    assert set(np.unique(values)) <= {0, 1, 2, 3, 4, 5, 255}
    agree = (values == classes.values)[10:-10, 10:-10].mean()
    assert agree > 0.9


def test_band_stack_and_outside_pixels(dem):
    stack = xr.concat([dem, dem + 1], dim="band").assign_coords(band=["a", "b"])
    shifted = dem.isel(y=slice(0, 400))  # covers the northern part only
    like = dem.chunk(300)
    out = reproject_match(stack.isel(y=slice(0, 400)), like)
    assert out.dims == ("band", "y", "x") and list(out.band.values) == ["a", "b"]
    values = out.values
    np.testing.assert_array_equal(values[1] - values[0], np.where(np.isnan(values[0]), np.nan, 1))
    assert np.isnan(values[:, 400:]).all()
    np.testing.assert_array_equal(values[0, :400], shifted.values)


def test_errors_name_the_fix(dem):
    bare = xr.DataArray(np.zeros((3, 3)), dims=("y", "x"))
    with pytest.raises(GridMismatchError, match="write_crs"):
        reproject_match(bare, dem)
    with pytest.raises(ConfigError, match="unknown resampling 'cubicle'.*bilinear"):
        reproject_match(dem, dem, resampling="cubicle")
