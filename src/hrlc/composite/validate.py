"""Checks shared by the compositing and restoration stages: dims, grids, months.

Only coordinates and georeferencing are inspected (small numpy arrays); pixel data are
never computed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from hrlc.errors import GridMismatchError, InputError
from hrlc.geo import grid_of
from hrlc.io.grid import Grid


def require_dims(array: xr.DataArray, dims: Sequence[str], *, what: str) -> None:
    """Raise :class:`InputError` unless ``array`` has exactly ``dims`` (in that order)."""
    if tuple(array.dims) != tuple(dims):
        raise InputError(
            f"{what} must have dims {tuple(dims)}, got {tuple(array.dims)}; "
            f"transpose it with .transpose({', '.join(repr(d) for d in dims)})"
        )
    missing = [d for d in ("y", "x") if d in dims and d not in array.coords]
    if missing:
        raise InputError(
            f"{what} has no {'/'.join(missing)} coordinate; grids are compared by their "
            "coordinates, assign them (e.g. read rasters with hrlc.read_l2a or rioxarray)"
        )


def check_same_grid(array: xr.DataArray, reference: xr.DataArray, *, what: str,
                    reference_name: str) -> None:
    """Raise :class:`GridMismatchError` unless both arrays lie on one grid.

    The CRS is compared only when both arrays carry one (test arrays often do not).
    """
    grid = grid_of(array, what, require_crs=False)
    ref = grid_of(reference, reference_name, require_crs=False)
    if grid.crs is None or ref.crs is None:
        grid = Grid(None, grid.transform, grid.shape)
        ref = Grid(None, ref.transform, ref.shape)
    if not grid.same_as(ref):
        raise GridMismatchError(
            f"{what} is on another grid ({grid.describe()}) than {reference_name} "
            f"({ref.describe()}); reproject it to the tile grid first (rioxarray "
            "reproject_match) or pass layers of the same tile"
        )


def month_ordinals(times: xr.DataArray | np.ndarray) -> np.ndarray:
    """Months since 1970-01 (int64) of datetime64 values: the unit of temporal distance."""
    values = np.asarray(times, dtype="datetime64[ns]")
    return values.astype("datetime64[M]").astype(np.int64)


def require_monthly(array: xr.DataArray, *, what: str) -> np.ndarray:
    """Month ordinals of ``array.time``; raise unless they are unique and increasing."""
    if "time" not in array.coords:
        raise InputError(f"{what} has no time coordinate; monthly stacks need one date per month")
    months = month_ordinals(array["time"].values)
    if len(months) and np.any(np.diff(months) <= 0):
        dates = np.datetime_as_string(array["time"].values, unit="D")
        raise InputError(
            f"{what} must hold at most one layer per month, in time order; got dates "
            f"{', '.join(dates)}; composite the scenes by month first (hrlc composite)"
        )
    return months
