"""Composites made elsewhere: one raster per month, validated and stacked lazily."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from hrlc.composite.validate import check_same_grid, month_ordinals, require_dims
from hrlc.errors import InputError, MissingBandError


def _as_month(label: str) -> np.datetime64:
    try:
        return np.datetime64(str(label)[:7], "M").astype("datetime64[ns]")
    except ValueError:
        raise InputError(
            f"composite month {label!r} is not a month; label each file 'YYYY-MM'"
        ) from None


def stack_composites(layers: Mapping[str, xr.DataArray], *,
                     bands: Sequence[str] | None = None) -> xr.DataArray:
    """Stack external monthly composites into one (time, band, y, x) cube.

    Parameters
    ----------
    layers : mapping of "YYYY-MM" -> DataArray (band, y, x), float32, 0-1
        One composite per month, each with a ``band`` coordinate of band names, y/x
        coordinates and (optionally) a CRS; NaN where no data. Scaling to reflectance
        is the caller's job (the CLI's ``--scale``).
    bands : sequence of str, optional
        Bands to keep, in this order; default the bands of the first month. Every
        month must hold all of them.

    Returns
    -------
    DataArray (time, band, y, x), float32
        Lazy stack, ``time`` the month starts in increasing order, coords and attrs of
        the first month carried over.

    Raises
    ------
    GridMismatchError
        A month is on another grid (CRS, transform or shape) than the first.
    MissingBandError
        A month lacks one of ``bands`` (the message lists what it has).
    InputError
        No layers, a label that is not a month, or two layers for one month.
    """
    if not layers:
        raise InputError("no external composites given; pass at least one month")
    items = sorted(((_as_month(k), k, v) for k, v in layers.items()), key=lambda t: t[0])
    months = np.array([t[0] for t in items])
    duplicated = months[:-1][np.diff(month_ordinals(months)) == 0]
    if duplicated.size:
        raise InputError(
            f"two composites for month {np.datetime_as_string(duplicated[0], unit='M')}; "
            "give one file per month"
        )
    first_label, first = items[0][1], items[0][2]
    require_dims(first, ("band", "y", "x"), what=f"composite {first_label}")
    wanted = [str(b) for b in (bands if bands is not None else first["band"].values)]
    stacked = []
    for _, label, layer in items:
        require_dims(layer, ("band", "y", "x"), what=f"composite {label}")
        check_same_grid(layer, first, what=f"composite {label}",
                        reference_name=f"composite {first_label}")
        have = [str(b) for b in layer["band"].values]
        missing = [b for b in wanted if b not in have]
        if missing:
            raise MissingBandError(
                f"composite {label} lacks band(s) {', '.join(missing)}; it has "
                f"{', '.join(have)}; every month must hold {', '.join(wanted)} (set the band "
                "list, or fix the file's band names)"
            )
        layer = layer.assign_coords(band=np.array(have, dtype=object)).sel(band=wanted)
        # y/x of later months may differ by rounding only (checked above): use the first's
        layer = layer.assign_coords(y=first["y"].values, x=first["x"].values)
        stacked.append(layer.astype(np.float32, copy=False))
    out = xr.concat(stacked, dim=xr.DataArray(months, dims="time", name="time"),
                    coords="minimal", compat="override", join="override")
    out.attrs = dict(first.attrs)
    return out.rename("reflectance").transpose("time", "band", "y", "x")
