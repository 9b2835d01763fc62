"""Small scene stacks with hand-checkable values for the compositing tests."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

DATES = ["2023-01-05", "2023-01-20", "2023-01-28", "2023-02-03", "2023-04-01", "2023-04-11"]


def scene_stack(values: np.ndarray, dates=DATES, bands=("B04", "B08", "B11"),
                crs: str | None = "EPSG:32633") -> xr.DataArray:
    """(time, band, y, x) float32 scenes on a 10 m UTM grid, with sun angles."""
    t, b, ny, nx = values.shape
    out = xr.DataArray(
        values.astype(np.float32), dims=("time", "band", "y", "x"),
        coords={"time": np.array(dates[:t], dtype="datetime64[ns]"), "band": list(bands[:b]),
                "y": 5_080_000 - 10 * np.arange(ny) - 5.0, "x": 465_000 + 10 * np.arange(nx) + 5.0,
                "sun_zenith": ("time", 30 + np.arange(t, dtype=float)),
                "sun_azimuth": ("time", 150 + np.arange(t, dtype=float))},
        attrs={"units": "1"}, name="reflectance",
    )
    return out.rio.write_crs(crs) if crs else out


def mask_like(scenes: xr.DataArray, codes: np.ndarray) -> xr.DataArray:
    """(time, y, x) uint8 CloudSEN12 mask on the scenes' grid."""
    return xr.DataArray(codes.astype(np.uint8), dims=("time", "y", "x"),
                        coords={"time": scenes.time, "y": scenes.y, "x": scenes.x})


@pytest.fixture
def random_scenes():
    """Random reflectance (6 dates, 3 bands, 12 x 14) and a random mask with all codes."""
    rng = np.random.default_rng(42)
    scenes = scene_stack(rng.uniform(0.01, 0.6, (6, 3, 12, 14)))
    codes = rng.choice([0, 0, 0, 1, 2, 3, 255], size=(6, 12, 14))
    return scenes, mask_like(scenes, codes)
