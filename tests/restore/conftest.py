"""Monthly stacks and synthetic terrain for the restoration tests."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr


def monthly(values: np.ndarray, *, start: str = "2023-01", months=None,
            bands=("B03", "B04", "B08")) -> xr.DataArray:
    """(time, band, y, x) float32 composites on a 10 m UTM grid, one per month."""
    t, b, ny, nx = values.shape
    times = (np.array(months, dtype="datetime64[M]") if months is not None
             else np.arange(np.datetime64(start, "M"), np.datetime64(start, "M") + t))
    out = xr.DataArray(
        values.astype(np.float32), dims=("time", "band", "y", "x"),
        coords={"time": times.astype("datetime64[ns]"), "band": list(bands[:b]),
                "y": 5_080_000 - 10 * np.arange(ny) - 5.0, "x": 465_000 + 10 * np.arange(nx) + 5.0},
        attrs={"units": "1"}, name="reflectance",
    )
    return out.rio.write_crs("EPSG:32633")


def series(*values: float) -> xr.DataArray:
    """One pixel, one band, one value per month (NaN = gap)."""
    return monthly(np.array(values, dtype=np.float32).reshape(-1, 1, 1, 1), bands=("B08",))


@pytest.fixture
def terrain_scene():
    """Slopes with known illumination: rho = rho_flat (cos i + c) / (cos z + c), c = 0.25.

    Returns composites (2 months, bands B03/B04/B08, 60 x 60 px, noise 0.002), slope and
    aspect (degrees), the flat reflectance per band and the true c.
    """
    rng = np.random.default_rng(7)
    ny = nx = 60
    coords = monthly(np.zeros((1, 1, ny, nx)))
    slope = xr.DataArray(rng.uniform(0, 40, (ny, nx)), dims=("y", "x"),
                         coords={"y": coords.y, "x": coords.x})
    slope[:10] = 0.0  # a flat strip
    aspect = xr.DataArray(rng.uniform(0, 360, (ny, nx)), dims=("y", "x"), coords=slope.coords)
    zenith, azimuth = np.array([35.0, 55.0]), np.array([150.0, 165.0])
    z, s, a = np.deg2rad(zenith)[:, None, None], np.deg2rad(slope.values), np.deg2rad(aspect.values)
    phi = np.deg2rad(azimuth)[:, None, None]
    cos_i = np.cos(z) * np.cos(s) + np.sin(z) * np.sin(s) * np.cos(phi - a)
    flat = np.array([0.06, 0.05, 0.30])
    c_true = 0.25
    rho = flat[None, :, None, None] * (cos_i[:, None] + c_true) / (np.cos(z)[:, None] + c_true)
    rho = rho + rng.normal(0, 0.002, rho.shape)
    cube = monthly(rho).assign_coords(sun_zenith=("time", zenith), sun_azimuth=("time", azimuth))
    return cube, slope, aspect, flat, c_true, cos_i
