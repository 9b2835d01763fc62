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


def overpass_times(starts, *, lon: float, day: int = 1) -> np.ndarray:
    """UTC times of a Sentinel-2 overpass (10:30 local solar time), ``day - 1`` days after
    each of ``starts`` (datetime64 months or days).

    For composites that keep no acquisition times (``day=15`` of each month), the sun
    angles at this instant stand for the month; for scenes dated without a time, ``day=1``.
    """
    dates = np.asarray(starts).astype("datetime64[D]") + (day - 1)
    utc_hours = S2_LOCAL_SOLAR_TIME_H - lon / 15.0
    return dates.astype("datetime64[s]") + np.timedelta64(int(round(utc_hours * 3600)), "s")


def estimate_sun_angles(array, *, monthly: bool):
    """Fill missing or NaN ``sun_zenith``/``sun_azimuth`` coordinates of a time series.

    The sun is computed at the centre of the array's footprint: at each acquisition
    time for scenes (``monthly=False``; a time of exactly 00:00 is read as a date only
    and replaced by the 10:30 local-solar-time overpass), and at the overpass on the
    15th for monthly composites. Values already present are kept.

    Parameters
    ----------
    array : DataArray (time, ..., y, x)
        Georeferenced (``array.rio.crs``) with a ``time`` coordinate.
    monthly : bool
        Whether ``time`` holds month starts (composites) or acquisition times.

    Returns
    -------
    DataArray, same data (lazy), with both coordinates (degrees) along ``time``; the
    attribute ``sun_angles`` says ``"estimated"`` when any value was filled.
    """
    from pyproj import Transformer

    from hrlc.errors import GridMismatchError

    times = np.asarray(array["time"].values, dtype="datetime64[s]")
    have = {n: (np.asarray(array[n].values, dtype=np.float64) if n in array.coords
                else np.full(times.shape, np.nan)) for n in ("sun_zenith", "sun_azimuth")}
    todo = ~(np.isfinite(have["sun_zenith"]) & np.isfinite(have["sun_azimuth"]))
    if not todo.any():
        return array
    if array.rio.crs is None:
        raise GridMismatchError(
            "cannot estimate the sun angles of an array without a CRS; attach one with "
            ".rio.write_crs(...) or give sun_zenith/sun_azimuth coordinates"
        )
    left, bottom, right, top = array.rio.bounds()
    lon, lat = Transformer.from_crs(array.rio.crs, "EPSG:4326", always_xy=True).transform(
        (left + right) / 2, (bottom + top) / 2)
    if monthly:
        when = overpass_times(times.astype("datetime64[M]"), lon=lon, day=15)
    else:
        date_only = times == times.astype("datetime64[D]")
        when = np.where(date_only, overpass_times(times.astype("datetime64[D]"), lon=lon),
                        times)
    zenith, azimuth = solar_angles(when, lon=lon, lat=lat)
    out = array.assign_coords(
        sun_zenith=("time", np.where(todo, zenith, have["sun_zenith"])),
        sun_azimuth=("time", np.where(todo, azimuth, have["sun_azimuth"])))
    return out.assign_attrs(sun_angles="estimated")
