r"""Seasonal background: a per-pixel low quantile of clear observations over a season.

For every pixel the background of a band is the ``quantile`` (e.g. 0.25) of that band's
values on the dates whose observation is clear (initial mask 0, every band finite).
The quantile is **exact**: the clear values of the pixel are sorted and interpolated
linearly between order statistics, exactly like :func:`numpy.nanquantile` with
``method="linear"`` in float64 (:func:`hrlc.kernels.nan_quantile`, the kernel of the
monthly composites too; the tests compare both). A low quantile of the blue band is a
cloud-free reference: the clouds and haze that Sen2Cor missed only brighten the blue,
so they sit in the upper part of the distribution.

The season is either the whole series (``window_days=None``: one background for all
dates) or, per date, the dates within ``window_days`` days of it (a moving window that
follows phenology; one background per date).

A pixel with fewer than ``min_clear`` clear observations in its window has no
background (NaN): a quantile of one or two values is no reference.

Memory: time (and band) must be in one chunk; each spatial chunk needs its own values
(``time x band x rows x cols`` float32) plus a copy of those of one season at a time,
so the memory per chunk is bounded by the chunk size, never by the tile.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask.array as da
import numpy as np
import xarray as xr

from hrlc.errors import ConfigError, InputError, MissingBandError
from hrlc.kernels import nan_quantile

#: Seconds per day, to turn datetime64[ns] differences into days.
_DAY_NS = 86_400 * 10**9


def day_numbers(time: np.ndarray) -> np.ndarray:
    """Days since 1970 (float64) of datetime64 values, for the season window."""
    return np.asarray(time, dtype="datetime64[ns]").astype(np.int64) / _DAY_NS


def quantile_block(values: np.ndarray, clear: np.ndarray, *, days: np.ndarray,
                   quantiles: Sequence[float], window_days: float | None,
                   min_clear: int) -> tuple[np.ndarray, np.ndarray]:
    """Background of one block of pixels (numpy).

    Parameters
    ----------
    values : ndarray (time, band, ...), float32
        Reflectance (or any per-band value); NaN only where ``clear`` is false.
    clear : ndarray (time, ...), bool
        Clear observations.
    days : ndarray (time,), float64
        Acquisition day numbers (:func:`day_numbers`).
    quantiles : sequence of float
        One quantile (0-1) per band.
    window_days : float or None
        Half-width of the season window, days; None: one season for all dates.
    min_clear : int
        Fewest clear observations for a background.

    Returns
    -------
    background : ndarray (season, band, ...), float32
        ``season`` is 1 (one season) or ``time``; NaN where fewer than ``min_clear``.
    count : ndarray (season, ...), int32
        Clear observations in each pixel's season window.
    """
    ok = np.asarray(clear, dtype=bool)
    if window_days is None:
        seasons = [slice(None)]
    else:
        days = np.asarray(days, np.float64)
        seasons = [np.abs(days - day) <= window_days for day in days]
    out = np.empty((len(seasons), *values.shape[1:]), np.float32)
    count = np.empty((len(seasons), *ok.shape[1:]), np.int32)
    for s, dates in enumerate(seasons):
        count[s] = ok[dates].sum(axis=0)
        out[s] = nan_quantile(values[dates], quantiles, valid=ok[dates])
    np.copyto(out, np.float32(np.nan), where=(count < min_clear)[:, None])
    return out, count


def check_background_options(*, quantile: float, window_days: float | None,
                             min_clear: int) -> None:
    """Raise :class:`ConfigError` for out-of-range background options."""
    if not 0.0 <= quantile <= 1.0:
        raise ConfigError(f"quantile must be between 0 and 1, got {quantile}")
    if window_days is not None and window_days < 0:
        raise ConfigError(f"window_days must be positive (days) or None, got {window_days}")
    if min_clear < 1:
        raise ConfigError(f"min_clear must be at least 1 observation, got {min_clear}")


def seasonal_background(reflectance: xr.DataArray, clear: xr.DataArray, *,
                        bands: Sequence[str] = ("B02",), quantile: float = 0.25,
                        window_days: float | None = None, min_clear: int = 3) -> xr.DataArray:
    """Per-pixel low quantile of clear observations over a season, lazily.

    Parameters
    ----------
    reflectance : DataArray (time, band, y, x), float32, 0-1
        Surface reflectance, NaN where no data; ``band`` holds band names.
    clear : DataArray (time, y, x), bool
        True where the observation is clear (e.g. ``scl_to_mask(scl) == 0``).
    bands : sequence of str
        Bands to compute the background of (default the blue band B02).
    quantile : float
        Quantile, 0-1 (0.25 = lower quartile).
    window_days : float, optional
        Half-width of a moving season window around each date, days. None (default):
        the whole series is one season and the result has no ``time`` dim.
    min_clear : int
        Fewest clear observations a pixel needs; below it the background is NaN.

    Returns
    -------
    DataArray (band, y, x) or (time, band, y, x), float32
        Reflectance 0-1, NaN where fewer than ``min_clear`` clear observations; coords
        of ``reflectance``; ``clear_count`` (int16, same dims without band) attached as a
        coordinate. Lazy if the inputs are (``time`` is put in one chunk).

    Raises
    ------
    MissingBandError
        A band in ``bands`` is not in ``reflectance``.
    ConfigError
        ``quantile``, ``window_days`` or ``min_clear`` out of range.
    """
    check_background_options(quantile=quantile, window_days=window_days, min_clear=min_clear)
    have = [str(b) for b in reflectance["band"].values]
    missing = [b for b in bands if b not in have]
    if missing:
        raise MissingBandError(f"background band(s) {', '.join(missing)} not in the reflectance "
                               f"(bands: {', '.join(have)}); read them or change 'bands'")
    if clear.sizes.get("time") != reflectance.sizes["time"]:
        raise InputError(f"the clear mask has {clear.sizes.get('time')} dates, the reflectance "
                         f"{reflectance.sizes['time']}; pass the mask of the same scenes")
    values = reflectance.sel(band=list(bands)).transpose("time", "band", "y", "x")
    ok = clear.astype(bool).transpose("time", "y", "x") & values.notnull().all("band")
    if values.chunks is not None or ok.chunks is not None:
        values = values.chunk({"time": -1, "band": -1})
        ok = ok.chunk({"time": -1, "y": values.chunks[2], "x": values.chunks[3]})
    days = day_numbers(values["time"].values)
    season = values.sizes["time"] if window_days is not None else 1

    def block(v, c):
        bg, n = quantile_block(v, c, days=days, quantiles=[quantile] * v.shape[1],
                               window_days=window_days, min_clear=min_clear)
        return np.concatenate([bg, n[:, None].astype(np.float32)], axis=1)

    if isinstance(values.data, da.Array):
        stacked = da.map_blocks(block, values.data, ok.data, dtype=np.float32,
                                chunks=((season,), (len(bands) + 1,), *values.data.chunks[2:]),
                                meta=np.empty((0, 0, 0, 0), np.float32))
    else:
        stacked = block(values.values, ok.values)
    space = {"y": values["y"], "x": values["x"]}
    if window_days is None:
        dims, stacked, coords = ("band", "y", "x"), stacked[0], space
    else:
        dims = ("time", "band", "y", "x")
        coords = {**space, **{k: c for k, c in values.coords.items() if c.dims == ("time",)}}
    background = xr.DataArray(stacked[..., :-1, :, :], dims=dims, coords={**coords,
                              "band": list(bands)})
    count = xr.DataArray(stacked[..., -1, :, :].astype(np.int16),
                         dims=tuple(d for d in dims if d != "band"))
    background = background.assign_coords(clear_count=count)
    background.attrs = {"long_name": f"seasonal background (quantile {quantile} of clear "
                        "observations)", "units": "1", "quantile": quantile,
                        "min_clear": min_clear,
                        "window_days": "season" if window_days is None else window_days}
    if reflectance.rio.crs is not None:
        background = background.rio.write_crs(reflectance.rio.crs)
    return background.rename("background")
