"""The solar position and the processing-baseline rule of hrlc.io.acquisition, against
published reference values and hand computations."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from hrlc.errors import InputError
from hrlc.io.acquisition import (BASELINE_OFFSET_DN, Acquisition, baseline_offset_dn,
                                 has_boa_offset, sun_position)
from hrlc.io.stac_items import offset_dn

#: The worked example of NREL's Solar Position Algorithm (Reda & Andreas, NREL/TP-560-34302,
#: Appendix A.5): 17 October 2003, 12:30:30 local time (UTC-7) at Golden, Colorado.
SPA_TIME = np.datetime64("2003-10-17T19:30:30")
SPA_LAT, SPA_LON = 39.742476, -105.1786
SPA_DECLINATION, SPA_HOUR_ANGLE = -9.31434, 11.10590  # geocentric, degrees
SPA_ELEVATION_NO_REFRACTION = 39.872046  # topocentric, degrees
SPA_AZIMUTH = 194.340241


def _zenith(lat, declination, hour_angle):
    """Zenith (degrees) from the spherical-triangle relation, all angles in degrees."""
    phi, delta, h = np.radians([lat, declination, hour_angle])
    return np.degrees(np.arccos(np.sin(phi) * np.sin(delta)
                                + np.cos(phi) * np.cos(delta) * np.cos(h)))


def test_sun_position_matches_the_spa_worked_example():
    zenith, azimuth = sun_position(SPA_TIME, SPA_LAT, SPA_LON)
    # the geocentric zenith from SPA's own declination and hour angle
    assert zenith == pytest.approx(_zenith(SPA_LAT, SPA_DECLINATION, SPA_HOUR_ANGLE),
                                   abs=0.01)
    # SPA's topocentric value differs by the parallax (< 0.003 degree) only
    assert zenith == pytest.approx(90 - SPA_ELEVATION_NO_REFRACTION, abs=0.01)
    assert azimuth == pytest.approx(SPA_AZIMUTH, abs=0.01)


def test_solstice_noon_in_greenwich_by_hand():
    """21 June 2020, 12:00 UTC at Greenwich: declination = obliquity (23.437 degrees, a
    day after the solstice), the sun 0.4 degree short of the meridian (equation of time
    -1.7 min), so zenith = latitude - declination and the sun still a little east."""
    zenith, azimuth = sun_position(np.datetime64("2020-06-21T12:00"), 51.4769, 0.0)
    assert zenith == pytest.approx(_zenith(51.4769, 23.437, -0.4), abs=0.01)
    assert 178.5 < azimuth < 180


def test_times_and_places_broadcast():
    times = np.array(["2021-03-01T10:00", "2021-07-01T10:00", "2021-12-01T10:00"],
                     "datetime64[s]")
    zenith, azimuth = sun_position(times, 45.0, 7.0)
    one_by_one = [sun_position(t, 45.0, 7.0) for t in times]
    np.testing.assert_allclose(zenith, [z for z, _ in one_by_one], rtol=0, atol=1e-12)
    np.testing.assert_allclose(azimuth, [a for _, a in one_by_one], rtol=0, atol=1e-12)
    lat, lon = np.meshgrid([40.0, 45.0, 50.0], [5.0, 10.0], indexing="ij")
    grid_zenith, _ = sun_position(datetime(2021, 7, 1, 10), lat, lon)
    assert grid_zenith.shape == (3, 2)
    assert grid_zenith[1, 0] == pytest.approx(float(sun_position(times[1], 45.0, 5.0)[0]))
    # summer morning in the Alps: sun in the south-east, higher than in winter
    assert 90 < azimuth[1] < 180 and zenith[1] < zenith[0] < zenith[2] < 90
    assert sun_position(np.datetime64("2021-12-21T00:00"), 45.0, 7.0)[0] > 90  # night


@pytest.mark.parametrize("baseline, offset", [
    ("02.12", False), ("03.01", False), ("04.00", True), ("05.09", True), ("5.10", True),
    ("4.0", True), (None, False)])
def test_has_boa_offset_from_baseline_04_00(baseline, offset):
    assert has_boa_offset(baseline) is offset
    assert baseline_offset_dn(baseline) == (BASELINE_OFFSET_DN if offset else 0.0)


def test_a_baseline_that_is_not_nn_nn_is_refused_with_the_fix():
    with pytest.raises(InputError, match=r"'N0509' is not of the form NN\.NN.*give the"):
        has_boa_offset("N0509")


def test_one_rule_for_simulated_products_and_stac_items():
    acquisition = Acquisition(index=0, sensing_time=datetime(2021, 5, 1, 10), spacecraft="S2A",
                              relative_orbit=8, absolute_orbit=1, baseline="04.00",
                              generation_time=datetime(2021, 5, 1, 12), tile_id="32TPS",
                              sun_zenith=40.0, sun_azimuth=160.0)
    assert acquisition.boa_add_offset == -1000.0
    stac = {"declared": None, "scale": 1e-4, "applied_flag": None}
    assert offset_dn(**stac, baseline="04.00", rule="auto") == -1000.0
    assert offset_dn(**stac, baseline="02.14", rule="apply") == 0.0
    assert offset_dn(**{**stac, "declared": -0.1}, baseline="99", rule="auto") == \
        pytest.approx(-1000.0)  # declared offsets need no baseline
    assert offset_dn(**stac, baseline="99", rule="none") == 0.0
    with pytest.raises(InputError, match="'99' is not of the form"):
        offset_dn(**stac, baseline="99", rule="auto")
