import numpy as np
import pytest
import xarray as xr

from hrlc.errors import GridMismatchError
from hrlc.restore import check_coverage
from hrlc.restore.sun import overpass_times

from .conftest import monthly


def dem(x0, y0, n, res=30.0, crs="EPSG:32633"):
    out = xr.DataArray(np.zeros((n, n), np.float32), dims=("y", "x"),
                       coords={"y": y0 - res * (np.arange(n) + 0.5),
                               "x": x0 + res * (np.arange(n) + 0.5)})
    return out.rio.write_crs(crs)


TILE = monthly(np.zeros((1, 1, 50, 40)))  # x 465000-465400, y 5079500-5080000


def test_a_covering_dem_passes_in_another_crs_and_resolution():
    check_coverage(dem(464_900, 5_080_100, 30), TILE)
    # the same area in geographic coordinates (about 14.55 E, 45.87 N)
    geo = xr.DataArray(np.zeros((100, 100)), dims=("y", "x"),
                       coords={"y": np.linspace(45.90, 45.84, 100),
                               "x": np.linspace(14.50, 14.60, 100)})
    check_coverage(geo.rio.write_crs("EPSG:4326"), TILE)


def test_a_dem_short_of_the_tile_names_the_missing_extent():
    short = dem(465_100, 5_080_000, 10)  # starts 100 m east of the tile, ends too high
    with pytest.raises(GridMismatchError) as error:
        check_coverage(short, TILE, name="dem.tif")
    message = str(error.value)
    assert message.startswith("dem.tif does not cover the tile")
    assert "missing 100.0 on the west" in message and "on the south" in message
    assert "north" not in message.split("missing")[1]


def test_the_overpass_is_at_1030_local_solar_time():
    assert str(overpass_times(np.array(["2020-01"], "datetime64[M]"), lon=15.0, day=15)[0]) \
        == "2020-01-15T09:30:00"
