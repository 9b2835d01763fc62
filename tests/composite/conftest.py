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


def write_geotiff(path, values: np.ndarray, *, x0: float = 465_000.0, y0: float = 5_080_000.0,
                  res: float = 10.0, crs: str = "EPSG:32633", descriptions=None, nodata=None):
    """Write a (band, y, x) or (y, x) array as a GeoTIFF on a north-up grid."""
    import rasterio
    from affine import Affine

    values = values if values.ndim == 3 else values[np.newaxis]
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[1], width=values.shape[2],
                       count=values.shape[0], dtype=values.dtype, crs=crs, nodata=nodata,
                       transform=Affine(res, 0, x0, 0, -res, y0)) as dst:
        dst.write(values)
        for i, text in enumerate(descriptions or (), start=1):
            dst.set_band_description(i, text)
    return path


#: Scenes of the band-folder fixture: (date, SCL code of the top half, of the bottom half).
FOLDER_SCENES = [("20230105", 4, 4), ("20230120", 9, 4), ("20230203", 8, 8),
                 ("20230410", 4, 3), ("20230421", 4, 4)]


@pytest.fixture
def band_folder(tmp_path):
    """A folder of per-band GeoTIFFs (B03, B04, B08 as DN / 10000, SCL), 5 dates, 20 x 24 px.

    February is cloudy everywhere and March has no scene.
    """
    folder = tmp_path / "scenes"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for k, (date, top, bottom) in enumerate(FOLDER_SCENES):
        prefix = folder / f"T33TWM_{date}T100000"
        for band, level in (("B03", 600), ("B04", 500), ("B08", 3000)):
            dn = (level + 100 * k + rng.integers(0, 50, (20, 24))).astype(np.uint16)
            write_geotiff(f"{prefix}_{band}.tif", dn, nodata=0)
        scl = np.full((20, 24), top, np.uint8)
        scl[10:] = bottom
        write_geotiff(f"{prefix}_SCL.tif", scl)
    return folder
