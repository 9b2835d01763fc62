"""One Sentinel-2 L2A product as its metadata describes it: sensing and processing times,
orbit, processing baseline, product and file names, sun position.

The SAFE writer (:mod:`hrlc.io.safe_writer`) writes these into ``MTD_MSIL2A.xml``,
``MTD_TL.xml`` and ``manifest.safe``; :mod:`hrlc.simulate` plans a series of them.

Processing baselines: before 04.00 reflectance is ``DN / 10000``; from 04.00 (25 January
2022, and every product of the Collection-1 reprocessing) it is ``(DN - 1000) / 10000``
(``BOA_ADD_OFFSET = -1000``): :func:`has_boa_offset` is the one test of that rule in
hrlc. The sun position (:func:`sun_position`) comes from the low-precision solar
ephemeris of the Astronomical Almanac (better than 0.01 degrees, 1950-2050).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from hrlc.errors import InputError

#: First day of processing baseline 04.00 (products sensed from then on have the offset).
BASELINE_04_START = datetime(2022, 1, 25)
#: BOA_ADD_OFFSET of processing baselines 04.00 and later, DN.
BASELINE_OFFSET_DN = -1000.0
_BASELINE = re.compile(r"\s*(\d{1,2})\.(\d{1,2})\s*")


def has_boa_offset(baseline: str | None) -> bool:
    """Whether a product of processing ``baseline`` carries the BOA offset
    (``BOA_ADD_OFFSET = -1000`` DN): True from baseline 04.00 on.

    Parameters
    ----------
    baseline : str or None
        ``"NN.NN"`` (``"02.12"``, ``"05.09"``; ``"4.0"`` is read as 04.00). None, a
        baseline that is not known, counts as before 04.00.

    Raises
    ------
    InputError
        ``baseline`` is not of the form ``NN.NN``.
    """
    if baseline is None:
        return False
    found = _BASELINE.fullmatch(str(baseline))
    if found is None:
        raise InputError(
            f"processing baseline {baseline!r} is not of the form NN.NN (e.g. '02.12', "
            "'05.09'), so whether its pixels carry the BOA offset of baseline 04.00 is "
            "unknown; give the baseline as NN.NN (for STAC items whose pixels are already "
            "harmonised, read.boa_offset: none skips the question)")
    return int(found.group(1)) >= 4


def baseline_offset_dn(baseline: str | None) -> float:
    """BOA_ADD_OFFSET (DN) of a product of processing ``baseline``: -1000 from 04.00 on,
    else 0 (see :func:`has_boa_offset`)."""
    return BASELINE_OFFSET_DN if has_boa_offset(baseline) else 0.0


@dataclass(frozen=True)
class Acquisition:
    """One L2A product (a simulated one: :func:`hrlc.simulate.acquisitions.plan_acquisitions`).

    Attributes
    ----------
    index : int
        Position in the time series.
    sensing_time : datetime
        UTC start of the datatake over the tile.
    spacecraft : str
        ``"S2A"`` or ``"S2B"``.
    relative_orbit, absolute_orbit : int
    baseline : str
        Processing baseline, ``"NN.NN"``.
    generation_time : datetime
        When the product was (re)processed.
    tile_id : str
        MGRS tile, e.g. ``"31TCJ"``.
    sun_zenith, sun_azimuth : float
        Degrees at the tile centre; azimuth clockwise from north.
    """

    index: int
    sensing_time: datetime
    spacecraft: str
    relative_orbit: int
    absolute_orbit: int
    baseline: str
    generation_time: datetime
    tile_id: str
    sun_zenith: float
    sun_azimuth: float

    @property
    def boa_add_offset(self) -> float:
        """BOA_ADD_OFFSET in DN: -1000 from baseline 04.00, else 0."""
        return baseline_offset_dn(self.baseline)

    @property
    def day_of_year(self) -> float:
        return float(self.sensing_time.timetuple().tm_yday)

    @property
    def product_name(self) -> str:
        """Product name without suffix (``S2A_MSIL2A_20190105T105431_N0212_R051_T31TCJ_...``)."""
        return (f"{self.spacecraft}_MSIL2A_{self.sensing_time:%Y%m%dT%H%M%S}_N"
                f"{self.baseline.replace('.', '')}_R{self.relative_orbit:03d}_T{self.tile_id}_"
                f"{self.generation_time:%Y%m%dT%H%M%S}")

    @property
    def granule_name(self) -> str:
        """Name of the granule folder, e.g. ``L2A_T31TCJ_A018406_20190105T105434``."""
        start = self.sensing_time + timedelta(seconds=3)
        return f"L2A_T{self.tile_id}_A{self.absolute_orbit:06d}_{start:%Y%m%dT%H%M%S}"

    @property
    def file_stem(self) -> str:
        """Stem of the band files, e.g. ``T31TCJ_20190105T105431``."""
        return f"T{self.tile_id}_{self.sensing_time:%Y%m%dT%H%M%S}"


def sun_position(when, latitude, longitude) -> tuple[np.ndarray, np.ndarray]:
    """Solar zenith and azimuth (degrees, azimuth clockwise from north): geometric, from
    the Earth's centre (no parallax, under 0.003 degree) and without refraction.

    The low-precision solar coordinates of the Astronomical Almanac (mean longitude and
    anomaly, ecliptic longitude, obliquity; Greenwich mean sidereal time for the hour
    angle): better than 0.01 degree from 1950 to 2050.

    Parameters
    ----------
    when : datetime64, datetime or array of them
        UTC instants.
    latitude, longitude : float or ndarray
        Degrees (north and east positive).

    Returns
    -------
    zenith, azimuth : float64 or float64 ndarray, degrees
        ``when``, ``latitude`` and ``longitude`` broadcast together (a series of times at
        one place, or one time over a grid of places). Zenith 0-180, azimuth 0-360.
    """
    j2000 = np.datetime64("2000-01-01T12:00:00", "ms")
    days = (np.asarray(when, dtype="datetime64[ms]") - j2000) / np.timedelta64(1, "D")
    mean_longitude = np.radians((280.460 + 0.9856474 * days) % 360)
    anomaly = np.radians((357.528 + 0.9856003 * days) % 360)
    ecliptic = mean_longitude + np.radians(1.915 * np.sin(anomaly) + 0.020 * np.sin(2 * anomaly))
    obliquity = np.radians(23.439 - 0.0000004 * days)
    right_ascension = np.arctan2(np.cos(obliquity) * np.sin(ecliptic), np.cos(ecliptic))
    declination = np.arcsin(np.sin(obliquity) * np.sin(ecliptic))
    sidereal_hours = (18.697374558 + 24.06570982441908 * days) % 24
    hour_angle = np.radians(sidereal_hours * 15 + np.asarray(longitude)) - right_ascension
    lat = np.radians(np.asarray(latitude, dtype=np.float64))
    cos_zenith = (np.sin(lat) * np.sin(declination)
                  + np.cos(lat) * np.cos(declination) * np.cos(hour_angle))
    zenith = np.degrees(np.arccos(np.clip(cos_zenith, -1, 1)))
    azimuth = np.degrees(np.arctan2(
        -np.sin(hour_angle),
        np.tan(declination) * np.cos(lat) - np.sin(lat) * np.cos(hour_angle)))
    return zenith, azimuth % 360
