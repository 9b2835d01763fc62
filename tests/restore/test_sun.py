"""Sun angles of a series: required by the terrain steps, estimated where missing."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from pyproj import Transformer

from hrlc.errors import InputError
from hrlc.io.acquisition import sun_position
from hrlc.restore.sun import estimate_sun_angles, require_sun_angles


def _series(times, **coords):
    """A (time, y, x) array: 2 x 2 pixels of 10 km on UTM 32N around (500 km, 5 000 km)."""
    data = xr.DataArray(np.zeros((len(times), 2, 2), np.float32), dims=("time", "y", "x"),
                        coords={"time": np.asarray(times, "datetime64[ns]"),
                                "y": [5_005_000.0, 4_995_000.0], "x": [495_000.0, 505_000.0],
                                **{k: ("time", v) for k, v in coords.items()}})
    return data.rio.write_crs("EPSG:32632")


def test_missing_or_all_nan_sun_angles_are_refused_with_the_fix():
    with pytest.raises(InputError, match="no sun_azimuth coordinate.*estimate_sun_angles"):
        require_sun_angles(_series(["2021-06-01"], sun_zenith=[30.0]))
    with pytest.raises(InputError, match="all NaN.*estimate_sun_angles"):
        require_sun_angles(_series(["2021-06-01"], sun_zenith=[np.nan],
                                   sun_azimuth=[np.nan]))
    zenith, azimuth = require_sun_angles(_series(["2021-06-01", "2021-07-01"],
                                                 sun_zenith=[30.0, np.nan],
                                                 sun_azimuth=[150.0, np.nan]))
    assert zenith.dims == ("time",) and float(azimuth[0]) == 150.0


def test_estimated_angles_are_the_sun_position_at_the_centre_at_the_overpass():
    series = _series(["2021-06-01", "2021-12-01"], sun_zenith=[25.0, np.nan],
                     sun_azimuth=[150.0, np.nan])
    filled = estimate_sun_angles(series, monthly=True)
    lon, lat = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True).transform(
        500_000.0, 5_000_000.0)
    # the 15th at 10:30 local mean solar time: 10:30 - lon / 15 h UTC
    when = np.datetime64("2021-12-15T10:30") - np.timedelta64(round(lon / 15 * 3600), "s")
    zenith, azimuth = sun_position(when, lat, lon)
    assert float(filled.sun_zenith[1]) == pytest.approx(float(zenith), abs=1e-9)
    assert float(filled.sun_azimuth[1]) == pytest.approx(float(azimuth), abs=1e-9)
    assert float(filled.sun_zenith[0]) == 25.0  # given values are kept
    assert filled.attrs["sun_angles"] == "estimated"
    assert 65 < float(zenith) < 75 and 140 < float(azimuth) < 170  # 45 N in December
