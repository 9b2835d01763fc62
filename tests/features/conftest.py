"""Fixtures of the feature tests: the real Aberystwyth scene and small synthetic stacks."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rioxarray
import xarray as xr

BANDS = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]


def bundled(*parts: str) -> Path:
    return Path(str(files("hrlc").joinpath("data", "aber", *parts)))


@pytest.fixture(scope="session")
def aber_path() -> Path:
    return bundled("sen2_20210527_aber_10band.tif")


@pytest.fixture(scope="session")
def aber_dem_path() -> Path:
    return bundled("srtm_aber_10m.tif")


@pytest.fixture(scope="session")
def aber(aber_path):
    """The real scene as a one-month stack (time, band, y, x), reflectance 0-1, lazy."""
    from hrlc.io import read_l2a

    return read_l2a(aber_path, chunks=512)


@pytest.fixture(scope="session")
def aber_dem(aber_dem_path):
    """The real SRTM DEM on the scene's grid (m); 0 is the sea and, in the east, no data."""
    dem = rioxarray.open_rasterio(aber_dem_path, masked=False, chunks=512)
    return dem.isel(band=0, drop=True).astype(np.float32)


def _make_stack(months=("2021-04-01", "2021-05-01"), size=(24, 20), *, seed=0, crs=32630,
               chunks=None) -> xr.DataArray:
    """A (time, band, y, x) stack of random reflectance on a 10 m UTM grid."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.01, 0.6, (len(months), len(BANDS), *size)).astype(np.float32)
    y = 5_000_000 - 10 * np.arange(size[0]) - 5.0
    x = 400_000 + 10 * np.arange(size[1]) + 5.0
    stack = xr.DataArray(values, dims=("time", "band", "y", "x"),
                         coords={"time": pd.DatetimeIndex(months), "band": BANDS, "y": y, "x": x})
    stack = stack.rio.write_crs(crs)
    return stack.chunk(chunks) if chunks else stack


@pytest.fixture(scope="session")
def make_stack():
    """Factory of small synthetic (time, band, y, x) stacks (see ``_make_stack``)."""
    return _make_stack


@pytest.fixture(scope="session")
def bands():
    return list(BANDS)
