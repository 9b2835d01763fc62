"""Solar position from date, time and place, for inputs that carry no sun angles.

NOAA's general solar position equations (fractional-year series for the equation of
time and the declination); error about 0.5 degree, small against the few degrees a
monthly composite's dates span. Atmospheric refraction is ignored.
"""

from __future__ import annotations

import numpy as np

#: Mean local solar time of the Sentinel-2 descending-node crossing (10:30).
S2_LOCAL_SOLAR_TIME_H = 10.5


def solar_angles(times, *, lon: float, lat: float) -> tuple[np.ndarray, np.ndarray]:
    """Solar zenith and azimuth at UTC ``times`` seen from (``lon``, ``lat``).

    Parameters
    ----------
    times : array-like of datetime64
        UTC instants.
    lon, lat : float
        Place, degrees (east and north positive).

    Returns
    -------
    zenith, azimuth : ndarray float64, degrees
        Azimuth clockwise from north (0-360).
    """
    t = np.asarray(times, dtype="datetime64[s]")
    year_start = t.astype("datetime64[Y]").astype("datetime64[s]")
    day = (t - year_start).astype(np.float64) / 86400.0  # days since 1 Jan 00:00
    days_in_year = np.where(_leap(t), 366.0, 365.0)
    hours = (day % 1) * 24
    g = 2 * np.pi / days_in_year * (np.floor(day) + (hours - 12) / 24)
    eqtime = 229.18 * (0.000075 + 0.001868 * np.cos(g) - 0.032077 * np.sin(g)
                       - 0.014615 * np.cos(2 * g) - 0.040849 * np.sin(2 * g))
    decl = (0.006918 - 0.399912 * np.cos(g) + 0.070257 * np.sin(g)
            - 0.006758 * np.cos(2 * g) + 0.000907 * np.sin(2 * g)
            - 0.002697 * np.cos(3 * g) + 0.00148 * np.sin(3 * g))
    true_solar_min = hours * 60 + eqtime + 4 * lon
    hour_angle = np.deg2rad(true_solar_min / 4 - 180)
    phi = np.deg2rad(lat)
    cos_zen = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(hour_angle)
    zenith = np.arccos(np.clip(cos_zen, -1, 1))
    # azimuth clockwise from north via atan2 of the east and north components
    east = -np.cos(decl) * np.sin(hour_angle)
    north = np.cos(phi) * np.sin(decl) - np.sin(phi) * np.cos(decl) * np.cos(hour_angle)
    azimuth = np.rad2deg(np.arctan2(east, north)) % 360
    return np.rad2deg(zenith), azimuth


def _leap(t: np.ndarray) -> np.ndarray:
    year = t.astype("datetime64[Y]").astype(np.int64) + 1970
    return (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))


def overpass_times(months, *, lon: float, day: int = 15) -> np.ndarray:
    """UTC times of a Sentinel-2 overpass (10:30 local solar time) on ``day`` of each month.

    For composites that keep no acquisition times: the sun angles at this instant stand
    for the month.
    """
    dates = np.asarray(months, dtype="datetime64[M]").astype("datetime64[D]") + (day - 1)
    utc_hours = S2_LOCAL_SOLAR_TIME_H - lon / 15.0
    return dates.astype("datetime64[s]") + np.timedelta64(int(round(utc_hours * 3600)), "s")
