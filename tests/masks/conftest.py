"""Fixtures of the mask tests: one small simulated season with known truth (computed once)."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr


@pytest.fixture(scope="session")
def season():
    """A 192 x 192 px, 10-date simulated season (reflectance, SCL, truth, DEM), in memory."""
    from hrlc.simulate import simulate_series

    series = simulate_series(size=192, dates=10, seed=4, chunks=96)
    reflectance, scl, truth, dem = dask.compute(series.reflectance, series.scl,
                                                series.cloud_mask, series.dem)
    bands = ["B02", "B03", "B04", "B08", "B11", "B12"]
    return {"reflectance": reflectance.sel(band=bands), "scl": scl, "truth": truth, "dem": dem}


def cube(values: np.ndarray, bands: list[str], *, days: list[int] | None = None,
         zenith: float = 40.0, azimuth: float = 160.0) -> xr.DataArray:
    """A (time, band, y, x) reflectance DataArray on a 10 m grid with sun angles."""
    n_time, _, rows, cols = values.shape
    days = days if days is not None else list(range(0, 10 * n_time, 10))
    time = np.datetime64("2020-01-01", "ns") + np.array(days, "timedelta64[D]")
    array = xr.DataArray(
        values.astype(np.float32), dims=("time", "band", "y", "x"),
        coords={"time": time, "band": bands, "y": 5e6 - 10 * np.arange(rows) - 5,
                "x": 4e5 + 10 * np.arange(cols) + 5,
                "sun_zenith": ("time", np.full(n_time, zenith)),
                "sun_azimuth": ("time", np.full(n_time, azimuth)),
                "tile_id": ("time", np.array(["31TCJ"] * n_time, object))})
    return array.rio.write_crs("EPSG:32631")
