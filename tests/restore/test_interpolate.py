import dask.array as da
import numpy as np
import pytest

from hrlc.errors import ConfigError, InputError
from hrlc.restore import BOTH_SIDES, MISSING, OBSERVED, ONE_SIDE, fill_gaps, gap_fractions

from .conftest import monthly, series

N = np.nan


def run(*values, reach=1):
    ds = fill_gaps(series(*values), reach=reach)
    return ds.reflectance.values.ravel(), ds.gap_flag.values.ravel()


def test_reach_one_by_hand_both_sides_one_side_and_none():
    values, flags = run(N, 0.2, N, 0.4, N, N, 0.7, N)
    # month 0: after only; 2: mean of 0.2 and 0.4; 4: before only; 5: after only; 7: before
    np.testing.assert_allclose(values, [0.2, 0.2, 0.3, 0.4, 0.4, 0.7, 0.7, 0.7], rtol=1e-6)
    assert flags.tolist() == [ONE_SIDE, OBSERVED, BOTH_SIDES, OBSERVED, ONE_SIDE, ONE_SIDE,
                              OBSERVED, ONE_SIDE]
    values, flags = run(0.2, N, N, N, 0.6)
    np.testing.assert_allclose(values, [0.2, 0.2, N, 0.6, 0.6], rtol=1e-6)
    assert flags.tolist() == [OBSERVED, ONE_SIDE, MISSING, ONE_SIDE, OBSERVED]


def test_longer_reach_weights_linearly_by_distance():
    values, flags = run(0.2, N, N, 0.8, N, N, N, N, 0.1, reach=3)
    # month 1: 1/3 of the way from 0.2 to 0.8, month 2: 2/3; month 4 is 4 months from
    # month 8 (beyond reach): month 3 only; month 5: (d_after v_before + d_before v_after)
    # / (d_before + d_after) = (3 * 0.8 + 2 * 0.1) / 5; month 7: month 8 only
    expected = [0.2, 0.4, 0.6, 0.8, 0.8, (3 * 0.8 + 2 * 0.1) / 5, (2 * 0.8 + 3 * 0.1) / 5,
                0.1, 0.1]
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    assert flags.tolist() == [0, 2, 2, 0, 1, 2, 2, 1, 0]


def test_a_month_with_no_scene_is_filled_and_flagged_everywhere():
    values = np.full((3, 2, 4, 5), 0.1, np.float32)
    values[2] = 0.3
    values[1] = np.nan  # no scene in February
    values[0, :, 0, 0] = np.nan  # and one pixel also cloudy in January
    ds = fill_gaps(monthly(values))
    assert (ds.gap_flag.values[1][1:, :] == BOTH_SIDES).all()
    assert ds.gap_flag.values[1, 0, 0] == ONE_SIDE and ds.gap_flag.values[0, 0, 0] == MISSING
    np.testing.assert_allclose(ds.reflectance.values[1, :, 1, 1], 0.2, rtol=1e-6)
    np.testing.assert_allclose(ds.reflectance.values[1, :, 0, 0], 0.3, rtol=1e-6)


def test_a_pixel_missing_one_band_is_replaced_whole():
    values = np.array([[0.1, 0.5], [0.2, N], [0.3, 0.7]], np.float32).reshape(3, 2, 1, 1)
    ds = fill_gaps(monthly(values))
    np.testing.assert_allclose(ds.reflectance.values[1, :, 0, 0], [0.2, 0.6], rtol=1e-6)
    assert ds.gap_flag.values[1, 0, 0] == BOTH_SIDES


def test_distance_comes_from_the_calendar_not_the_index():
    cube = monthly(np.array([0.1, N, 0.5], np.float32).reshape(3, 1, 1, 1), bands=("B08",),
                   months=["2023-01", "2023-02", "2023-04"])
    ds = fill_gaps(cube)  # April is two months from February: out of reach 1
    assert ds.gap_flag.values.ravel().tolist() == [OBSERVED, ONE_SIDE, OBSERVED]
    np.testing.assert_allclose(ds.reflectance.values.ravel(), [0.1, 0.1, 0.5], rtol=1e-6)


@pytest.mark.parametrize("reach", [1, 3])
def test_chunked_equals_whole_array_and_observed_values_are_untouched(reach):
    rng = np.random.default_rng(3)
    values = rng.uniform(0, 1, (12, 3, 16, 18)).astype(np.float32)
    values[rng.uniform(size=(12, 1, 16, 18)).repeat(3, axis=1) < 0.45] = np.nan
    cube = monthly(values)
    whole = fill_gaps(cube, reach=reach)
    chunked = fill_gaps(cube.chunk({"time": 1, "band": 1, "y": 5, "x": 7}), reach=reach)
    assert isinstance(chunked.reflectance.data, da.Array)
    np.testing.assert_array_equal(chunked.reflectance.values, whole.reflectance.values)
    np.testing.assert_array_equal(chunked.gap_flag.values, whole.gap_flag.values)
    observed = np.isfinite(values)
    np.testing.assert_array_equal(whole.reflectance.values[observed], values[observed])
    assert whole.reflectance.attrs["gap_fill_reach_months"] == reach
    assert whole.rio.crs.to_epsg() == 32633 and whole.gap_flag.dtype == np.uint8


def test_gap_fractions_per_month():
    ds = fill_gaps(monthly(np.array([[0.1, N], [N, N], [0.3, N]], np.float32)
                           .reshape(3, 1, 1, 2), bands=("B08",)))
    fractions = gap_fractions(ds.gap_flag)
    assert fractions.dims == ("time", "state")
    np.testing.assert_allclose(fractions.sel(state="observed").values, [0.5, 0, 0.5])
    np.testing.assert_allclose(fractions.sel(state="both_sides").values, [0, 0.5, 0])
    np.testing.assert_allclose(fractions.sel(state="missing").values, [0.5, 0.5, 0.5])


def test_bad_options_and_stacks():
    with pytest.raises(ConfigError, match="reach"):
        fill_gaps(series(0.1, N), reach=0)
    twice = monthly(np.zeros((2, 1, 1, 1)), months=["2023-01", "2023-01"], bands=("B08",))
    with pytest.raises(InputError, match="at most one layer per month"):
        fill_gaps(twice)
