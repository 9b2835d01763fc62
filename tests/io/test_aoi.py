"""An area of interest reads only its window, and gives the values of the cropped full read."""

import json

import numpy as np
import pytest
from pyproj import Transformer

import hrlc.io.grid as grid_module
from hrlc.errors import ConfigError, InputError
from hrlc.io import read_l2a, read_scl
from hrlc.io.aoi import aoi_window, bbox_aoi
from hrlc.io.grid import Grid

from tests.conftest import write_band

EPSG, ULX, ULY = 32633, 465180.0, 5080260.0
SIZE = 300  # 10 m pixels: a 3 km product


@pytest.fixture()
def product(tmp_path):
    rng = np.random.default_rng(5)
    for band, res in (("B02", 10), ("B04", 10), ("B8A", 20), ("B01", 60), ("SCL", 20)):
        n = SIZE * 10 // res
        dtype = np.uint8 if band == "SCL" else np.uint16
        dn = rng.integers(1, 11 if band == "SCL" else 9000, (n, n)).astype(dtype)
        write_band(tmp_path / f"S2_T33TVM_20190610T101031_{band}.tif", dn, res=res,
                   driver="GTiff", epsg=EPSG, ulx=ULX, uly=ULY)
    return tmp_path


@pytest.fixture()
def pixels_read(monkeypatch):
    """Count the source pixels decoded (every window the reader asks GDAL for)."""
    counts = []
    real = grid_module.Window

    def window(col_off, row_off, width, height):
        counts.append(width * height)
        return real(col_off, row_off, width, height)

    monkeypatch.setattr(grid_module, "Window", window)
    return counts


def test_aoi_of_one_25th_reads_one_25th_and_equals_the_cropped_read(product, pixels_read):
    full = read_l2a(product, chunks=64).compute()
    full_scl = read_scl(product, chunks=64).compute()
    full_count = sum(pixels_read)
    pixels_read.clear()
    # 600 m x 600 m = 1/25 of the 3 km product, on the 60 m grid
    west, north = ULX + 1200, ULY - 600
    aoi = {"aoi": {"bbox": [west, north - 600, west + 600, north], "crs": f"EPSG:{EPSG}"}}
    part = read_l2a(product, chunks=64, options=aoi).compute()
    part_scl = read_scl(product, chunks=64, options=aoi).compute()
    assert part.sizes["y"] == part.sizes["x"] == 60
    assert sum(pixels_read) == pytest.approx(full_count / 25, rel=0.01)
    expected = full.sel(x=slice(west, west + 600), y=slice(north, north - 600))
    np.testing.assert_array_equal(part.values, expected.values)
    np.testing.assert_array_equal(part.x.values, expected.x.values)
    np.testing.assert_array_equal(part_scl.values,
                                  full_scl.sel(x=part.x, y=part.y).values)
    assert part.rio.transform().c == west and part.rio.transform().f == north


def test_lon_lat_and_vector_aois_snap_outward_to_60m(product, tmp_path):
    to_lonlat = Transformer.from_crs(EPSG, 4326, always_xy=True)
    lon0, lat0 = to_lonlat.transform(ULX + 1005, ULY - 1005)
    lon1, lat1 = to_lonlat.transform(ULX + 1395, ULY - 1395)
    box = f"{min(lon0, lon1)},{min(lat0, lat1)},{max(lon0, lon1)},{max(lat0, lat1)}"
    part = read_l2a(product, bands=["B02"], options={"aoi": box})
    x0 = part.rio.transform().c - ULX
    y0 = ULY - part.rio.transform().f
    assert x0 % 60 == 0 and y0 % 60 == 0 and x0 <= 1005 and y0 <= 1005
    assert x0 + 10 * part.sizes["x"] >= 1395 and y0 + 10 * part.sizes["y"] >= 1395
    assert part.sizes["x"] % 6 == 0
    # the same region as a GeoJSON polygon in Web Mercator
    to_merc = Transformer.from_crs(EPSG, 3857, always_xy=True)
    ring = [to_merc.transform(ULX + dx, ULY - dy)
            for dx, dy in ((1005, 1005), (1395, 1005), (1395, 1395), (1005, 1395), (1005, 1005))]
    path = tmp_path / "aoi.geojson"
    path.write_text(json.dumps({
        "type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:3857"}},
        "features": [{"type": "Feature", "properties": {},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    from_vector = read_l2a(product, bands=["B02"], options={"aoi": str(path)})
    assert from_vector.rio.transform().c <= ULX + 1005 <= from_vector.rio.transform().c + 60
    assert from_vector.sizes["x"] in (part.sizes["x"], part.sizes["x"] + 6)


def test_aoi_outside_the_data_is_an_error_with_both_extents(product):
    with pytest.raises(InputError, match="does not intersect the data"):
        read_l2a(product, options={"aoi": {"bbox": [0, 0, 1, 1]}})


def test_aoi_in_an_unknown_crs_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown CRS 'EPSG:999999'"):
        bbox_aoi([0, 0, 1, 1], "EPSG:999999")


def test_aoi_window_is_clipped_to_the_grid():
    from affine import Affine
    from rasterio.crs import CRS

    grid = Grid(CRS.from_epsg(EPSG), Affine(10, 0, ULX, 0, -10, ULY), (100, 100))
    aoi = bbox_aoi([ULX - 500, ULY - 310, ULX + 310, ULY + 500], f"EPSG:{EPSG}")
    assert aoi_window(aoi, grid) == (0, 0, 36, 36)


def test_aoi_on_a_zipped_safe_product_equals_the_cropped_read(safe_products):
    product = safe_products["0509"]["zip"]
    full = read_l2a(product, ["B02", "B05", "B09"]).compute()
    left, top = float(full.x[0]) - 5, float(full.y[0]) + 5
    bbox = [left + 60, top - 180, left + 180, top - 60]
    part = read_l2a(product, ["B02", "B05", "B09"],
                    options={"aoi": {"bbox": bbox, "crs": f"EPSG:{full.rio.crs.to_epsg()}"}})
    assert part.sizes["y"] == part.sizes["x"] == 12
    np.testing.assert_array_equal(part.values, full.sel(x=part.x, y=part.y).values)
