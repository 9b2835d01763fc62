"""The stage-contract checks of hrlc.testing catch what they are for."""

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

from hrlc.testing import (
    FLOAT32_RTOL,
    ComputeDuringCall,
    assert_dask_backed,
    assert_grid_carried,
    assert_lazy,
    assert_same_values,
    assert_unchanged,
    chunked,
    computed,
    no_compute,
    snapshot,
)


def grid(values=None, *, crs="EPSG:32631") -> xr.DataArray:
    """(time, y, x) float32 on a 10 m grid with a per-time coordinate and attrs."""
    values = np.arange(2 * 4 * 6, dtype=np.float32).reshape(2, 4, 6) if values is None \
        else values
    out = xr.DataArray(values, dims=("time", "y", "x"), name="v", attrs={"units": "1"},
                       coords={"time": [0, 1], "sun_zenith": ("time", [40.0, 50.0]),
                               "y": 100.0 - 10 * np.arange(4), "x": 10.0 * np.arange(6)})
    return out.rio.write_crs(crs) if crs else out


def test_no_compute_refuses_default_and_explicit_schedulers():
    lazy = grid().chunk({"y": 2})
    with no_compute():
        doubled = lazy * 2  # building a graph is allowed
        with pytest.raises(ComputeDuringCall, match="lazy"):
            doubled.values
        with pytest.raises(ComputeDuringCall):
            dask.compute(doubled, scheduler="sync")
        with pytest.raises(ComputeDuringCall):
            float(doubled.sum())
    assert float(doubled.sum()) == 2 * sum(range(48))  # allowed again outside


def test_assert_lazy_names_the_line_that_computed():
    def eager(a):
        return a * float(a.max())  # a scalar computed while building

    with pytest.raises(ComputeDuringCall, match=r"at test_testing.py:\d+ \(eager: return a "
                                                r"\* float\(a.max\(\)\)"):
        assert_lazy(eager, grid().chunk({"y": 2}))
    assert isinstance(assert_lazy(lambda a: a + 1, grid().chunk({"y": 2})).data, da.Array)
    with pytest.raises(AssertionError, match="not dask-backed"):
        assert_lazy(lambda a: a.copy(data=np.zeros(a.shape)), grid().chunk({"y": 2}))


def test_dask_backed_is_about_the_tile_arrays():
    tile = grid().chunk({"y": 2})
    fitted = xr.DataArray(np.ones(2), dims="time")  # small fitted values may be in memory
    assert_dask_backed(xr.Dataset({"tile": tile, "fit": fitted}))
    with pytest.raises(AssertionError, match="tile"):
        assert_dask_backed(xr.Dataset({"tile": tile.compute(), "fit": fitted}))
    with pytest.raises(AssertionError, match="the result"):
        assert_dask_backed(fitted)  # a reduction of the tile must stay lazy


def test_same_values_exact_or_within_float32_rounding():
    a = grid()
    assert_same_values(a, a.copy(deep=True))
    nudged = a.copy(data=a.values + np.float32(a.values.max()) * np.float32(2 ** -23))
    with pytest.raises(AssertionError):
        assert_same_values(nudged, a)
    assert_same_values(nudged, a, rtol=FLOAT32_RTOL)
    with pytest.raises(AssertionError):
        assert_same_values(a + 1, a, rtol=FLOAT32_RTOL)
    with pytest.raises(AssertionError):  # attrs are part of the result
        assert_same_values(a.assign_attrs(units="m"), a)
    with pytest.raises(AssertionError):  # so is the name (e.g. a dask token)
        assert_same_values(a.rename("other"), a)


def test_unchanged_catches_values_attrs_and_coords_changed_in_place():
    for change in (lambda a: a.values.__setitem__((0, 0, 0), -1.0),
                   lambda a: a.attrs.__setitem__("units", "m"),
                   lambda a: a["sun_zenith"].values.__setitem__(0, 0.0)):
        a = grid()
        before = snapshot([a], {"k": a})
        change(a)
        with pytest.raises(AssertionError):
            assert_unchanged(before, [[a], {"k": a}])
    a = grid()
    before = snapshot(a, "not an array")
    computed((a * 2).compute())
    assert_unchanged(before, [a, "not an array"])


def test_grid_carried_checks_coords_crs_and_attrs():
    a = grid()
    assert_grid_carried(xr.Dataset({"out": a * 2, "count": a.astype("uint8")}).assign_attrs(),
                        a, attrs=("units",), variables=("out",))
    with pytest.raises(AssertionError, match="CRS"):
        assert_grid_carried(a.drop_vars("spatial_ref"), a)
    with pytest.raises(AssertionError, match="x coordinate"):
        assert_grid_carried(a.assign_coords(x=a.x + 5), a)
    with pytest.raises(AssertionError, match="units"):
        assert_grid_carried(a.assign_attrs(units="m"), a, attrs=("units",))
    with pytest.raises(AssertionError, match="no \\(y, x\\) array"):
        assert_grid_carried(a.mean(("y", "x")), a)


def test_chunked_chunks_the_data_and_keeps_coordinates_in_memory():
    a = grid()
    per_time = a["sun_zenith"]
    small = chunked({"a": a, "n": 3, "per_time": per_time}, {"y": 2, "time": 1})
    assert small["a"].chunks == ((1, 1), (2, 2), (6,))
    assert isinstance(small["a"]["sun_zenith"].data, np.ndarray)
    assert small["n"] == 3 and small["per_time"] is per_time  # no (y, x): as given
    memory = chunked(small["a"], None)
    assert isinstance(memory.data, np.ndarray)
    xr.testing.assert_identical(memory, a)


def test_the_bundled_scene_is_stored_band_by_band():
    """Every test, notebook and the demo read the Aberystwyth scene one band at a time: in a
    pixel-interleaved file each read decodes all ten bands (3x the CPU, measured)."""
    import rasterio

    from hrlc.testing import bundled_aber

    with rasterio.open(bundled_aber()) as src:
        assert src.interleaving == rasterio.enums.Interleaving.band
        assert src.block_shapes == [(256, 256)] * 10 and src.count == 10
        assert src.descriptions[0] == "B02" and src.descriptions[-1] == "B12"
