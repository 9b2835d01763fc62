"""Helpers shared by the test suite, the notebooks and the demo.

Besides the bundled real data, this module holds the **stage contract** (STYLE.md, house
rule 1) as checks any test, notebook or new stage can call:

- :func:`assert_lazy`: calling the stage on dask-backed inputs computes nothing
  (:func:`no_compute`) and returns dask-backed arrays;
- :func:`assert_same_values`: the results of two chunkings are equal, exactly or within
  a relative tolerance (:data:`FLOAT32_RTOL` where the summation order changes);
- :func:`snapshot` / :func:`assert_unchanged`: the inputs (values, coords, attrs) are
  the same after the call as a deep copy taken before it;
- :func:`assert_grid_carried`: x/y coords, CRS (``rio.crs`` and the grid-mapping
  coordinate) and chosen attrs of the input are on every spatial output;
- :func:`chunked`: the inputs of a call with other chunks (or in memory).

No pytest here: the checks raise :class:`AssertionError` with what differs.
"""

from __future__ import annotations

import copy
import sysconfig
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import xarray as xr
from dask.callbacks import Callback

#: Relative tolerance of results whose summation order depends on the chunking:
#: 8 float32 ulps (2**-21), scaled by the largest magnitude of the result.
FLOAT32_RTOL = 2.0 ** -21


def bundled(*parts: str) -> Path:
    """Path of a file shipped in ``hrlc/data`` (real data with its SOURCE.md)."""
    return Path(str(files("hrlc").joinpath("data", *parts)))


def bundled_aber() -> Path:
    """The real 10-band Sentinel-2 scene of Aberystwyth (2021-05-27, EPSG:27700)."""
    return bundled("aber", "sen2_20210527_aber_10band.tif")


class ComputeDuringCall(AssertionError):
    """A dask computation ran where the stage contract says nothing is computed."""


def _describe() -> str:
    """Where the computation was asked for: the innermost frame outside the libraries
    (dask, xarray, numpy...: installed packages and the standard library) and this file."""
    skip = {sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib")}
    frames = [f for f in traceback.extract_stack()
              if f.filename != __file__ and not f.filename.startswith("<")
              and not any(f.filename.startswith(p) for p in skip)]
    where = (f" at {Path(frames[-1].filename).name}:{frames[-1].lineno} ({frames[-1].name}: "
             f"{frames[-1].line})" if frames else "")
    return (f"the stage computed a dask graph{where}; keep it lazy (no .values, .compute(), "
            "np.asarray, float() or bool() of a dask array)")


def _refuse(_graph, _keys, **_kwargs):
    raise ComputeDuringCall(_describe())


class _RefuseLocal(Callback):
    """Refuses computations run with an explicit local scheduler (``scheduler="sync"``)."""

    def _start(self, _dsk):
        raise ComputeDuringCall(_describe())


@contextmanager
def no_compute() -> Iterator[None]:
    """Inside the block, every dask computation raises :class:`ComputeDuringCall`.

    Both the default scheduler (replaced by one that refuses) and an explicit local one
    (refused by a dask callback) are guarded; building graphs stays allowed.
    """
    with dask.config.set(scheduler=_refuse), _RefuseLocal():
        yield


def _variables(result: Any) -> dict[str, Any]:
    """``{name: array}`` of a DataArray (name ``""``), Dataset, ndarray or a tuple."""
    if isinstance(result, xr.Dataset):
        return {str(k): v for k, v in result.data_vars.items()}
    if isinstance(result, (tuple, list)):
        return {f"[{i}]{k}": v for i, item in enumerate(result)
                for k, v in _variables(item).items()}
    return {"": result}


def assert_dask_backed(result: Any) -> None:
    """The arrays of ``result`` on the tile's grid (with ``y`` and ``x`` dims) are dask
    arrays; a result without any, e.g. a reduction over the tile, must be all dask. Small
    fitted values beside tiles (per month and band) may be in memory."""
    arrays = _variables(result)
    tiles = [n for n, v in arrays.items() if {"y", "x"} <= set(getattr(v, "dims", ()))]
    eager = [name or "the result" for name, v in arrays.items()
             if (name in tiles or not tiles) and not isinstance(getattr(v, "data", v), da.Array)]
    if eager:
        raise AssertionError(f"{', '.join(eager)} not dask-backed: the stage returned computed "
                             "arrays for dask inputs; build the result with dask (map_blocks, "
                             "apply_ufunc(dask='parallelized'))")


def assert_lazy(func, /, *args: Any, **kwargs: Any) -> Any:
    """Call ``func(*args, **kwargs)`` under :func:`no_compute`; check the result is lazy.

    Returns
    -------
    The result of the call (dask-backed).
    """
    with no_compute():
        result = func(*args, **kwargs)
    assert_dask_backed(result)
    return result


def computed(result: Any) -> Any:
    """``result`` with every dask array computed (xarray's ``.compute()`` per object:
    ``dask.compute`` of some Datasets fails in dask 2026.8, "Missing dependency")."""
    if isinstance(result, (tuple, list)):
        return type(result)(computed(item) for item in result)
    return result.compute() if hasattr(result, "compute") else result


def assert_same_values(actual: Any, expected: Any, *, rtol: float = 0.0) -> None:
    """Two computed results are the same: values, dims, coords and attrs.

    Parameters
    ----------
    actual, expected : DataArray, Dataset, ndarray, or tuple of them (computed)
    rtol : float
        0: equal bit for bit (NaN equals NaN). Else values may differ by ``rtol`` times
        the largest finite magnitude of ``expected`` (e.g. :data:`FLOAT32_RTOL`).
    """
    got, want = _variables(actual), _variables(expected)
    if list(got) != list(want):
        raise AssertionError(f"variables differ: {list(got)} and {list(want)}")
    for name, a in got.items():
        b = want[name]
        if isinstance(a, (xr.DataArray, xr.Dataset)):
            if rtol == 0:
                xr.testing.assert_identical(a, b)
                continue
            xr.testing.assert_identical(a.copy(data=b.data), b)  # coords, attrs, dims
            a, b = a.values, b.values
        a, b = np.asarray(a), np.asarray(b)
        if rtol == 0 or a.dtype.kind not in "fc":
            np.testing.assert_array_equal(a, b, err_msg=f"variable {name!r}", strict=True)
            continue
        finite = np.abs(b[np.isfinite(b)])
        scale = float(finite.max()) if finite.size else 0.0
        np.testing.assert_allclose(a, b, rtol=0, atol=rtol * scale, equal_nan=True,
                                   err_msg=f"variable {name!r}")


def snapshot(*inputs: Any) -> list[Any]:
    """Deep copies of the array inputs (data, coords and attrs; also inside mappings and
    sequences), for :func:`assert_unchanged`; other objects are kept as they are."""
    return [_copy(item) for item in inputs]


def _copy(item: Any) -> Any:
    if isinstance(item, (xr.DataArray, xr.Dataset, np.ndarray)):
        return copy.deepcopy(item)
    if isinstance(item, Mapping):
        return {k: _copy(v) for k, v in item.items()}
    if isinstance(item, (list, tuple)):
        return [_copy(v) for v in item]
    return item


def assert_unchanged(before: Sequence[Any], after: Sequence[Any]) -> None:
    """Each input equals its :func:`snapshot`: values, coords, attrs, name (and the items
    of mappings and sequences); other objects (models, numbers) are not compared."""
    for i, (old, new) in enumerate(zip(before, after, strict=True)):
        if isinstance(old, (xr.DataArray, xr.Dataset)):
            try:
                xr.testing.assert_identical(new, old)
            except AssertionError as exc:
                raise AssertionError(f"input {i} was changed by the stage: {exc}") from None
        elif isinstance(old, np.ndarray):
            np.testing.assert_array_equal(new, old, err_msg=f"input {i} was changed in place",
                                          strict=True)
        elif isinstance(old, Mapping):
            assert list(old) == list(new), f"input {i}: keys changed"
            assert_unchanged(list(old.values()), list(new.values()))
        elif isinstance(old, (list, tuple)):
            assert_unchanged(old, list(new))


def _spatial(result: Any) -> dict[str, xr.DataArray]:
    return {name: v for name, v in _variables(result).items()
            if isinstance(v, xr.DataArray) and {"y", "x"} <= set(v.dims)}


def assert_grid_carried(result: Any, reference: xr.DataArray, *, attrs: Sequence[str] = (),
                        variables: Sequence[str] | None = None) -> None:
    """Every (y, x) array of ``result`` is on the grid of ``reference``.

    Checks the ``y`` and ``x`` coordinates, the CRS (``rio.crs``) and its grid-mapping
    coordinate (``spatial_ref``), and that the ``attrs`` of ``reference`` are on
    ``variables`` (Dataset variable names; default every spatial one) with equal values.
    """
    spatial = _spatial(result)
    if not spatial:
        raise AssertionError("the result has no (y, x) array to carry the grid")
    crs = reference.rio.crs
    for name, var in spatial.items():
        what = f"output {name or 'array'}"
        for dim in ("y", "x"):
            np.testing.assert_array_equal(var[dim].values, reference[dim].values,
                                          err_msg=f"{what}: {dim} coordinate not carried")
        if crs is not None:
            mapping = reference.rio.grid_mapping
            if mapping not in var.coords or var.rio.crs != crs:
                raise AssertionError(f"{what}: CRS {var.rio.crs} and coords "
                                     f"{sorted(var.coords)}, expected {crs} in {mapping!r}; "
                                     "carry it with .rio.write_crs(input.rio.crs)")
        if variables is None or name in variables:
            lost = [a for a in attrs if var.attrs.get(a) != reference.attrs[a]]
            if lost:
                raise AssertionError(
                    f"{what}: attrs {[(a, var.attrs.get(a)) for a in lost]}, the input has "
                    f"{[(a, reference.attrs[a]) for a in lost]}; carry them over")


def chunked(item: Any, chunks: Mapping[str, int | tuple[int, ...]] | None) -> Any:
    """``item`` re-chunked: a (y, x) DataArray or Dataset, or a mapping / list / tuple
    holding them (other objects, e.g. a per-time sun angle, are returned as they are).

    ``chunks`` maps dims to chunk sizes; dims not named are one chunk. Coordinates stay
    as they are (in memory, as :func:`hrlc.read_l2a` gives them): only the data are
    chunked. None: a copy in memory (numpy-backed).
    """
    if isinstance(item, (xr.DataArray, xr.Dataset)):
        if not {"y", "x"} <= set(item.dims):
            return item
        if chunks is None:
            return item.compute() if item.chunks else item.copy()
        out = item.chunk({d: chunks.get(d, -1) for d in item.dims})
        return out.assign_coords({k: item.coords[k] for k in item.coords
                                  if k not in item.indexes})
    if isinstance(item, Mapping):
        return {k: chunked(v, chunks) for k, v in item.items()}
    if isinstance(item, (list, tuple)):
        return type(item)(chunked(v, chunks) for v in item)
    return item
