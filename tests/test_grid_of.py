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
