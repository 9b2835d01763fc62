"""Sun angles of a time series: read from its coordinates, or estimated for inputs that
carry none.

The solar position is :func:`hrlc.io.acquisition.sun_position` (the low-precision
ephemeris of the Astronomical Almanac, better than 0.01 degree for 1950-2050, checked
against NREL's SPA in ``tests/io/test_acquisition.py``), computed at the centre of the
array's footprint: the angles vary by about a degree across a 110 km tile, less than
across the dates a monthly composite mixes. Atmospheric refraction is ignored.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from hrlc.errors import GridMismatchError, InputError
from hrlc.io.acquisition import sun_position

#: Mean local solar time of the Sentinel-2 descending-node crossing (10:30).
S2_LOCAL_SOLAR_TIME_H = 10.5


def require_sun_angles(reflectance: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """The ``sun_zenith`` and ``sun_azimuth`` coordinates of a composite series.

    Parameters
    ----------
    reflectance : DataArray (time, ...)
        Composites with ``sun_zenith`` and ``sun_azimuth`` coordinates along ``time``.

    Returns
    -------
    zenith, azimuth : DataArray (time,), degrees
        Azimuth clockwise from north. Some may be NaN (months without any).

    Raises
    ------
    InputError
        A coordinate is missing, or all its values are NaN (the message says how to set
        them).
    """
    missing = [n for n in ("sun_zenith", "sun_azimuth") if n not in reflectance.coords]
    if missing:
        raise InputError(
            f"the composites carry no {' or '.join(missing)} coordinate; the topographic "
            "correction needs the sun angles per month (degrees): composites from "
            "hrlc.composite have them, else .assign_coords(sun_zenith=('time', ...), "
            "sun_azimuth=('time', ...)) or hrlc.restore.sun.estimate_sun_angles(composites, "
            "monthly=True)"
        )
    zenith, azimuth = reflectance["sun_zenith"], reflectance["sun_azimuth"]
    if not (np.isfinite(zenith.values).any() and np.isfinite(azimuth.values).any()):
        raise InputError(
            "the composites' sun_zenith/sun_azimuth are all NaN (the scenes carried no sun "
            "angles); estimate them for the tile centre with "
            "hrlc.restore.sun.estimate_sun_angles(composites, monthly=True)"
        )
    return zenith, azimuth


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
    zenith, azimuth = sun_position(when, lat, lon)
    out = array.assign_coords(
        sun_zenith=("time", np.where(todo, zenith, have["sun_zenith"])),
        sun_azimuth=("time", np.where(todo, azimuth, have["sun_azimuth"])))
    return out.assign_attrs(sun_angles="estimated")
