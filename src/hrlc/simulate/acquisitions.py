"""When each simulated scene is acquired: dates, orbits, baselines, sun position.

Sentinel-2 crosses the equator southwards at 10:30 mean local solar time, so a tile is
seen at about ``10:30 - longitude / 15`` UTC.

Processing baselines are cycled per product from a list so that both conventions appear
(see :mod:`hrlc.io.acquisition`); a product sensed after 25 January 2022 never gets a
baseline older than 04.00. :class:`Acquisition` and :func:`sun_position` live in
:mod:`hrlc.io.acquisition` (the SAFE writer needs them) and are re-exported here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

from hrlc.io.acquisition import BASELINE_04_START, Acquisition, has_boa_offset, sun_position

_S2A_FIRST_ORBIT = datetime(2015, 6, 23)
_S2B_FIRST_ORBIT = datetime(2017, 3, 7)
_ORBITS_PER_DAY = 14.3  # 143 orbits per 10-day cycle
_REPROCESSING_TIME = datetime(2023, 3, 14, 9, 0, 0)  # Collection-1 generation times


def plan_acquisitions(*, start: date, dates: int, interval_days: int | None,
                      baselines: list[str], tile_id: str, relative_orbit: int,
                      latitude: float, longitude: float) -> list[Acquisition]:
    """The products of a time series.

    Parameters
    ----------
    start : date
        First acquisition day.
    dates : int
        Number of products.
    interval_days : int or None
        Days between products; None spreads them over one year, rounded down to the
        5-day revisit of the two satellites (at least 5).
    baselines : list of str
        Processing baselines, cycled over the products.
    latitude, longitude : float
        Tile centre, degrees (for the overpass time and the sun position).
    """
    if interval_days is None:
        interval_days = max(5, (365 // max(dates, 1)) // 5 * 5)
    overpass_hour = 10.5 - longitude / 15.0
    first = datetime(start.year, start.month, start.day) + timedelta(hours=overpass_hour)
    plan = []
    for k in range(dates):
        sensing = (first + timedelta(days=k * interval_days)).replace(microsecond=24000)
        spacecraft = "S2A" if k % 2 == 0 else "S2B"
        launch = _S2A_FIRST_ORBIT if spacecraft == "S2A" else _S2B_FIRST_ORBIT
        absolute = int((sensing - launch).total_seconds() / 86400 * _ORBITS_PER_DAY) + 1
        baseline = baselines[k % len(baselines)]
        if sensing >= BASELINE_04_START and not has_boa_offset(baseline):
            newer = [b for b in baselines if has_boa_offset(b)]
            baseline = max(newer) if newer else "04.00"
        if not has_boa_offset(baseline):
            generated = sensing + timedelta(hours=2, minutes=13, seconds=k % 60)
        elif sensing < BASELINE_04_START:
            generated = _REPROCESSING_TIME + timedelta(minutes=7 * k)
        else:
            generated = sensing + timedelta(hours=3, minutes=2, seconds=k % 60)
        zenith, azimuth = sun_position(np.datetime64(sensing), latitude, longitude)
        plan.append(Acquisition(
            index=k, sensing_time=sensing, spacecraft=spacecraft,
            relative_orbit=relative_orbit, absolute_orbit=absolute, baseline=baseline,
            generation_time=generated.replace(microsecond=0), tile_id=tile_id,
            sun_zenith=float(zenith), sun_azimuth=float(azimuth),
        ))
    return plan


__all__ = ["BASELINE_04_START", "Acquisition", "has_boa_offset", "plan_acquisitions",
           "sun_position"]
