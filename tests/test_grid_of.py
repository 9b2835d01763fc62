"""hrlc.geo.grid_of: the grid of a georeferenced array, or an error naming the array."""

from __future__ import annotations

import numpy as np
import pytest
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine

from hrlc.errors import GridMismatchError
from hrlc.geo import grid_of


def test_grid_of_reads_crs_transform_and_shape():
    data = xr.DataArray(np.zeros((2, 3, 4), np.float32), dims=("band", "y", "x"),
                        coords={"y": 2000.0 - 10 * (np.arange(3) + 0.5),
                                "x": 1000.0 + 10 * (np.arange(4) + 0.5)})
    grid = grid_of(data.rio.write_crs("EPSG:32633"), "the cube")
    assert grid.shape == (3, 4) and grid.crs.to_epsg() == 32633
    assert grid.transform.almost_equals(Affine(10, 0, 1000, 0, -10, 2000))
    with pytest.raises(GridMismatchError, match="the mask array has no CRS; attach one"):
        grid_of(data, "the mask")


def test_grid_of_without_crs_one_pixel_and_rotation():
    data = xr.DataArray(np.zeros((3, 4)), dims=("y", "x"),
                        coords={"y": 50.0 - 20 * (np.arange(3) + 0.5),
                                "x": 20 * (np.arange(4) + 0.5)})
    loose = grid_of(data, "the layer", require_crs=False)  # compared by coordinates only
    assert loose.crs is None and loose.transform.almost_equals(Affine(20, 0, 0, 0, -20, 50))
    pixel = data.isel(y=slice(0, 1), x=slice(0, 1)).rio.write_crs("EPSG:32633")
    pixel = pixel.rio.write_transform(Affine(20, 0, 0, 0, -20, 50))
    assert grid_of(pixel, "one pixel").transform == Affine(20, 0, 0, 0, -20, 50)
    rotated = data.rio.write_crs("EPSG:32633").rio.write_transform(
        Affine(20, 0.5, 0, 0.5, -20, 50))
    rotated = rotated.drop_vars(["x", "y"])
    with pytest.raises(GridMismatchError, match="the cube grid must be north-up"):
        grid_of(rotated, "the cube", north_up=True)
