"""Monthly composites of masked L2A scenes, lazily, one month x one spatial chunk at a time."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Literal

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from hrlc.composite import _kernels
from hrlc.composite.validate import check_same_grid, month_ordinals, require_dims
from hrlc.errors import ConfigError, InputError, MissingBandError

Method = Literal["median", "quantile", "max_ndvi", "medoid"]
METHODS: tuple[str, ...] = ("median", "quantile", "max_ndvi", "medoid")


def month_range(times: np.ndarray, *, start: str | None, end: str | None) -> np.ndarray:
    """Month starts (datetime64[ns]) from ``start`` to ``end`` inclusive.

    Both default to the first and last month of ``times``; ``start``/``end`` are
    ``"YYYY-MM"`` strings.
    """
    def parse(text: str, name: str) -> np.datetime64:
        try:
            return np.datetime64(text, "M")
        except ValueError:
            raise ConfigError(f"{name}: expected a month as 'YYYY-MM', got {text!r}") from None

    if (start is None or end is None) and len(times) == 0:
        raise InputError("no scenes to composite; pass scenes, or both start and end months")
    first = parse(start, "start") if start else np.asarray(times).min().astype("datetime64[M]")
    last = parse(end, "end") if end else np.asarray(times).max().astype("datetime64[M]")
    if last < first:
        raise ConfigError(f"end month {last} is before start month {first}; swap them")
    return np.arange(first, last + 1).astype("datetime64[ns]")


def _circular_mean(degrees: np.ndarray) -> float:
    radians = np.deg2rad(degrees[np.isfinite(degrees)])
    if radians.size == 0:
        return float("nan")
    angle = float(np.rad2deg(np.arctan2(np.sin(radians).mean(), np.cos(radians).mean())) % 360)
    return 0.0 if np.isclose(angle, 360.0) else angle


def _month_coords(reflectance: xr.DataArray, month_of_scene: np.ndarray,
                  months: np.ndarray) -> dict[str, tuple[str, np.ndarray]]:
    """Per-month coordinates: scene count and mean sun angles (NaN for empty months)."""
    keys = month_ordinals(months)
    n_scenes = np.array([(month_of_scene == k).sum() for k in keys], dtype=np.int16)
    coords: dict[str, tuple[str, np.ndarray]] = {"n_scenes": ("time", n_scenes)}
    for name, mean in (("sun_zenith", np.mean), ("sun_azimuth", _circular_mean)):
        if name in reflectance.coords and reflectance[name].dims == ("time",):
            values = np.asarray(reflectance[name].values, dtype=np.float64)
            coords[name] = ("time", np.array(
                [mean(values[month_of_scene == k]) if (month_of_scene == k).any()
                 else np.nan for k in keys], dtype=np.float64))
    return coords


def _band_index(bands: Sequence[str], name: str, option: str) -> int:
    if name not in bands:
        raise MissingBandError(
            f"method 'max_ndvi' needs band {name!r} ({option}); the scenes have "
            f"{', '.join(bands)}; set '{option}' to one of them or choose another method"
        )
    return list(bands).index(name)


def _check_inputs(reflectance: xr.DataArray, mask: xr.DataArray) -> None:
    require_dims(reflectance, ("time", "band", "y", "x"), what="reflectance")
    require_dims(mask, ("time", "y", "x"), what="mask")
    check_same_grid(mask, reflectance, what="the cloud mask", reference_name="the scenes")
    if mask.sizes["time"] != reflectance.sizes["time"] or not np.array_equal(
            mask["time"].values, reflectance["time"].values):
        raise InputError(
            f"the mask has {mask.sizes['time']} dates and the scenes {reflectance.sizes['time']}"
            "; give one mask per scene, with the same time coordinate"
        )


def monthly_composite(
    reflectance: xr.DataArray,
    mask: xr.DataArray,
    *,
    method: Method = "median",
    quantile: float = 0.5,
    red: str = "B04",
    nir: str = "B08",
    clear_codes: Sequence[int] = (0,),
    start: str | None = None,
    end: str | None = None,
) -> xr.Dataset:
    """Composite masked scenes into one image per calendar month.

    An observation is *valid* when its mask code is in ``clear_codes`` and every band
    has a value; only valid observations enter a composite, so all bands of a pixel
    come from the same set of scenes.

    Parameters
    ----------
    reflectance : DataArray (time, band, y, x), float32, 0-1
        Scenes, e.g. from :func:`hrlc.read_l2a`; NaN where no data. Per-time
        coordinates ``sun_zenith``/``sun_azimuth`` (degrees) are averaged per month.
    mask : DataArray (time, y, x), uint8
        Cloud mask per scene, CloudSEN12 codes (0 clear, 1 thick cloud, 2 thin cloud,
        3 shadow, 255 nodata), same time coordinate and grid as ``reflectance``.
    method : {"median", "quantile", "max_ndvi", "medoid"}
        Per pixel: the median per band (default); the ``quantile`` per band (linear
        interpolation between order statistics); all bands of the observation with the
        highest NDVI ``(nir - red) / (nir + red)``; or all bands of the medoid, the
        observation with the smallest sum of Euclidean distances (over bands) to the
        month's other valid observations. Ties go to the earliest observation.
    quantile : float, 0-1
        Quantile for ``method="quantile"``.
    red, nir : str
        Band names used by ``method="max_ndvi"``.
    clear_codes : sequence of int
        Mask codes counted as clear; ``(0, 2)`` also keeps thin cloud.
    start, end : str, optional
        First and last month, ``"YYYY-MM"``; default the months of the first and last
        scene. Scenes outside are ignored; months without a scene are all NaN with a
        clear count of 0.

    Returns
    -------
    Dataset
        ``reflectance`` (time, band, y, x) float32: composite, NaN where the month has
        no valid observation; ``clear_count`` (time, y, x) uint16: valid observations
        per pixel and month (the quality layer). ``time`` is the month start; per-month
        coordinates ``n_scenes`` and, when the scenes carry them, the mean
        ``sun_zenith`` and (circular mean) ``sun_azimuth`` in degrees. Band, y/x, CRS
        and attrs are carried over. Lazy: each month's scenes form one dask chunk along
        time, so memory per task is (scenes in month x bands x chunk pixels).
    """
    _check_inputs(reflectance, mask)
    if method not in METHODS:
        raise ConfigError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not 0 <= quantile <= 1:
        raise ConfigError(f"quantile must lie between 0 and 1, got {quantile}")
    bands = [str(b) for b in reflectance["band"].values]
    red_i = _band_index(bands, red, "red") if method == "max_ndvi" else None
    nir_i = _band_index(bands, nir, "nir") if method == "max_ndvi" else None

    months = month_range(reflectance["time"].values, start=start, end=end)
    scene_month = month_ordinals(reflectance["time"].values)
    keys = month_ordinals(months)
    keep = np.isin(scene_month, keys)
    order = np.argsort(reflectance["time"].values[keep], kind="stable")
    index = np.flatnonzero(keep)[order]
    scene_month = scene_month[index]
    present, runs = np.unique(scene_month, return_counts=True)

    # numpy input is one spatial chunk; mask chunks follow the scenes' chunks
    data = da.asarray(reflectance.data, chunks=(1, -1, -1, -1))
    y_chunks, x_chunks = data.chunks[2], data.chunks[3]
    codes = da.asarray(mask.data, chunks=(1, -1, -1))
    clear = tuple(int(c) for c in clear_codes)
    if len(present):
        data = data[index].rechunk((tuple(runs), -1, y_chunks, x_chunks))
        codes = codes[index][:, np.newaxis].rechunk((tuple(runs), 1, y_chunks, x_chunks))
        composite = da.map_blocks(
            partial(_kernels.composite_block, method=method, q=quantile, red=red_i,
                    nir=nir_i, clear_codes=clear),
            data, codes, chunks=((1,) * len(present), data.chunks[1], y_chunks, x_chunks),
            dtype=np.float32, meta=np.empty((0, 0, 0, 0), np.float32),
        )
        count = da.map_blocks(
            partial(_kernels.count_block, clear_codes=clear), data, codes, drop_axis=1,
            chunks=((1,) * len(present), y_chunks, x_chunks), dtype=np.uint16,
            meta=np.empty((0, 0, 0), np.uint16),
        )
    else:  # no scene in the period: reindexing below makes every month empty
        composite = da.zeros((0, len(bands)) + data.shape[2:], np.float32,
                             chunks=(1, -1, y_chunks, x_chunks))
        count = da.zeros((0,) + data.shape[2:], np.uint16, chunks=(1, y_chunks, x_chunks))

    present_months = months[np.isin(keys, present)]
    static = {name: c for name, c in reflectance.coords.items()
              if "time" not in c.dims and name != "time"}
    comp = xr.DataArray(composite, dims=reflectance.dims,
                        coords={**static, "time": present_months}, attrs=dict(reflectance.attrs),
                        name="reflectance")
    cnt = xr.DataArray(count, dims=("time", "y", "x"),
                       coords={k: v for k, v in static.items() if "band" not in v.dims}
                       | {"time": present_months}, name="clear_count")
    comp = comp.reindex(time=months, fill_value=np.float32(np.nan))
    cnt = cnt.reindex(time=months, fill_value=np.uint16(0))
    extra = _month_coords(reflectance.isel(time=index), scene_month, months)
    comp.attrs.update(composite_method=method if method != "quantile" else f"quantile {quantile}",
                      long_name="monthly composite of surface reflectance")
    cnt.attrs = {"long_name": "clear observations per pixel and month", "units": "1"}
    return xr.Dataset({"reflectance": comp, "clear_count": cnt}).assign_coords(extra)


def month_labels(times: np.ndarray) -> list[str]:
    """``"YYYY-MM"`` labels of datetime64 values (for file names and summaries)."""
    return [str(pd.Timestamp(t).strftime("%Y-%m")) for t in np.asarray(times)]
