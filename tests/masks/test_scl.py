import numpy as np
import pytest
import xarray as xr
import dask.array as da

from hrlc.masks import scl_to_mask

# SCL code -> CloudSEN12 code, one by one, with the default choices.
EXPECTED = {0: 255, 1: 255, 2: 0, 3: 3, 4: 0, 5: 0, 6: 0, 7: 0, 8: 1, 9: 1, 10: 2, 11: 0}


@pytest.mark.parametrize("code,expected", sorted(EXPECTED.items()))
def test_each_scl_code(code, expected):
    scl = xr.DataArray(np.full((1, 2, 2), code, np.uint8), dims=("time", "y", "x"))
    assert scl_to_mask(scl).values.tolist() == np.full((1, 2, 2), expected).tolist()


def test_choices_for_dark_area_and_snow():
    scl = xr.DataArray(np.array([[2, 11]], np.uint8), dims=("y", "x"))
    assert scl_to_mask(scl, dark_area="shadow", snow="nodata").values.tolist() == [[3, 255]]


def test_lazy_input_stays_lazy_and_keeps_coords():
    codes = np.random.default_rng(0).integers(0, 12, (3, 8, 8)).astype(np.uint8)
    scl = xr.DataArray(da.from_array(codes, chunks=(1, 4, 4)), dims=("time", "y", "x"),
                       coords={"y": np.arange(8), "x": np.arange(8)})
    mask = scl_to_mask(scl)
    assert isinstance(mask.data, da.Array)
    expected = np.vectorize(EXPECTED.get)(codes)
    np.testing.assert_array_equal(mask.values, expected)
    assert mask.dtype == np.uint8 and list(mask.y.values) == list(range(8))
