import numpy as np
import pytest

from hrlc.composite import stack_composites
from hrlc.errors import GridMismatchError, InputError, MissingBandError

from .conftest import scene_stack


def month_layer(value, bands=("B04", "B08", "B11"), crs="EPSG:32633"):
    return scene_stack(np.full((1, len(bands), 4, 5), value), bands=bands, crs=crs).isel(time=0,
                                                                                        drop=True)


def test_stacks_in_month_order_and_selects_bands():
    cube = stack_composites({"2023-03": month_layer(0.3), "2023-01": month_layer(0.1)},
                            bands=["B11", "B04"])
    assert cube.dims == ("time", "band", "y", "x")
    assert [str(t)[:7] for t in cube.time.values] == ["2023-01", "2023-03"]
    assert cube.band.values.tolist() == ["B11", "B04"]
    np.testing.assert_allclose(cube.values[:, 0, 0, 0], [0.1, 0.3])
    assert cube.rio.crs.to_epsg() == 32633 and cube.dtype == np.float32


def test_mismatched_grid_is_refused():
    moved = month_layer(0.2).assign_coords(x=lambda d: d.x + 20)
    with pytest.raises(GridMismatchError, match="composite 2023-02 is on another grid"):
        stack_composites({"2023-01": month_layer(0.1), "2023-02": moved})
    other_crs = month_layer(0.2, crs="EPSG:32634")
    with pytest.raises(GridMismatchError, match="EPSG:32634"):
        stack_composites({"2023-01": month_layer(0.1), "2023-02": other_crs})


def test_mismatched_band_list_is_refused():
    with pytest.raises(MissingBandError, match="2023-02 lacks band.s. B11; it has B04, B08"):
        stack_composites({"2023-01": month_layer(0.1),
                          "2023-02": month_layer(0.2, bands=("B04", "B08"))})


def test_labels_must_be_distinct_months():
    with pytest.raises(InputError, match="two composites for month 2023-01"):
        stack_composites({"2023-01": month_layer(0.1), "2023-01-15": month_layer(0.2)})
    with pytest.raises(InputError, match="not a month"):
        stack_composites({"January": month_layer(0.1)})
    with pytest.raises(InputError, match="no external composites"):
        stack_composites({})
