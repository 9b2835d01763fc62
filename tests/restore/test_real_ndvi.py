"""Composites and gap filling on real data: the eo-learn NDVI series (see its SOURCE.md)."""

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from hrlc.composite import monthly_composite
from hrlc.restore import BOTH_SIDES, OBSERVED, fill_gaps
from hrlc.restore.sun import estimate_sun_angles

PATCH = Path(__file__).parents[1] / "data" / "eolearn-testeopatch"


@pytest.fixture(scope="module")
def ndvi():
    values = np.load(PATCH / "NDVI.npy")[..., 0]
    cloud = np.load(PATCH / "CLM.npy")[..., 0]
    times = np.array(json.loads((PATCH / "timestamps.json").read_text()), "datetime64[ns]")
    # the bbox split into 100 columns x 101 rows (see SOURCE.md)
    coords = {"time": times, "y": 5_080_254.63 - 1009.74 / 101 * (np.arange(101) + 0.5),
              "x": 465_181.05 + 999.48 / 100 * (np.arange(100) + 0.5)}
    scenes = xr.DataArray(values[:, None], dims=("time", "band", "y", "x"),
                          coords={**coords, "band": ["NDVI"]}).rio.write_crs(32633)
    mask = xr.DataArray(cloud.astype(np.uint8), dims=("time", "y", "x"), coords=coords)
    return scenes, mask


def test_real_series_composites_and_fills_from_neighbours(ndvi):
    scenes, mask = ndvi
    composites = monthly_composite(scenes.chunk({"y": 50, "x": 50}), mask).compute()
    assert composites.sizes["time"] == 30  # 2015-07 .. 2017-12
    # hand check of one pixel-month: the median of that month's clear observations
    month = (scenes.time.dt.year == 2017) & (scenes.time.dt.month == 7)
    clear = mask.isel(y=20, x=70).values[month.values] == 0
    expected = np.median(scenes.isel(band=0, y=20, x=70).values[month.values][clear])
    got = composites["reflectance"].sel(time="2017-07-01").isel(band=0, y=20, x=70)
    assert float(got) == pytest.approx(expected, rel=1e-6)

    restored = fill_gaps(composites["reflectance"]).compute()
    flags = restored["gap_flag"].values
    before = np.isnan(composites["reflectance"].values[:, 0])
    assert before.mean() > 0.2 and (flags == 3).mean() < 0.01
    t, y, x = np.argwhere(flags == BOTH_SIDES)[0]
    neighbours = composites["reflectance"].values[[t - 1, t + 1], 0, y, x]
    assert restored["reflectance"].values[t, 0, y, x] == pytest.approx(neighbours.mean(), rel=1e-6)
    assert (flags[~before] == OBSERVED).all()


def test_sun_angles_are_estimated_for_a_tile_without_metadata(ndvi):
    scenes, _ = ndvi
    filled = estimate_sun_angles(scenes, monthly=False)
    # Slovenia, 10:00 UTC: about 23 deg zenith in July and 70 deg in late December
    assert 18 < float(filled.sun_zenith[0]) < 28 and 65 < float(filled.sun_zenith[-1]) < 72
    assert (120 < filled.sun_azimuth).all() and (filled.sun_azimuth < 180).all()
    assert filled.attrs["sun_angles"] == "estimated"
    monthly = estimate_sun_angles(scenes.isel(time=[0]).assign_coords(
        time=[np.datetime64("2016-06-01", "ns")]), monthly=True)
    # 15 June at 10:30 local solar time: 22.5 deg at noon, about 29 deg 1.5 h before
    assert 27 < float(monthly.sun_zenith[0]) < 31
