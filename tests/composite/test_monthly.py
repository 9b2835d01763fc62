import warnings

import dask.array as da
import numpy as np
import pytest

from hrlc.composite import monthly_composite
from hrlc.errors import ConfigError, GridMismatchError, InputError, MissingBandError

from .conftest import mask_like, scene_stack

NAN = np.nan


def one_pixel(values_by_date, codes):
    """Scenes of one pixel: ``values_by_date`` is (time, band)."""
    values = np.asarray(values_by_date, dtype=np.float32)[:, :, None, None]
    scenes = scene_stack(values)
    return scenes, mask_like(scenes, np.asarray(codes).reshape(-1, 1, 1))


# Jan: three dates, Feb: one, Mar: none, Apr: two (one cloudy)
VALUES = [[0.10, 0.50, 0.2], [0.30, 0.40, 0.2], [0.20, 0.90, 0.2],
          [0.05, 0.30, 0.1], [0.08, 0.20, 0.3], [0.40, 0.41, 0.4]]
CODES = [0, 0, 0, 0, 0, 1]


def test_median_by_hand_with_an_empty_month():
    ds = monthly_composite(*one_pixel(VALUES, CODES))
    got = ds.reflectance.values[:, :, 0, 0]
    expected = [[0.20, 0.50, 0.2], [0.05, 0.30, 0.1], [NAN, NAN, NAN], [0.08, 0.20, 0.3]]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert ds.clear_count.values[:, 0, 0].tolist() == [3, 1, 0, 1]
    assert ds.n_scenes.values.tolist() == [3, 1, 0, 2]
    assert [str(t)[:10] for t in ds.time.values] == [
        "2023-01-01", "2023-02-01", "2023-03-01", "2023-04-01"]


def test_quantile_by_hand_linear_between_order_statistics():
    ds = monthly_composite(*one_pixel(VALUES, CODES), method="quantile", quantile=0.25)
    # January B04 sorted 0.1, 0.2, 0.3: position 0.25 * 2 = 0.5 -> 0.15
    np.testing.assert_allclose(ds.reflectance.values[0, 0, 0, 0], 0.15, rtol=1e-6)


def test_max_ndvi_takes_all_bands_of_the_greenest_date():
    ds = monthly_composite(*one_pixel(VALUES, CODES), method="max_ndvi")
    # January NDVI: 0.667, 0.143, 0.636 -> first date
    np.testing.assert_allclose(ds.reflectance.values[0, :, 0, 0], VALUES[0], rtol=1e-6)
    # April: the greener date (0.40, 0.41) is cloudy, so the other one
    np.testing.assert_allclose(ds.reflectance.values[3, :, 0, 0], VALUES[4], rtol=1e-6)


def test_medoid_is_the_observation_closest_to_the_others():
    values = [[0.0, 0.0, 0], [0.1, 0.1, 0], [1.0, 1.0, 0]]  # sums of distances: 1.56, 1.41, 2.69
    scenes, mask = one_pixel(values + [[0.3, 0.3, 0.3]] * 3, [0] * 6)
    ds = monthly_composite(scenes, mask, method="medoid")
    np.testing.assert_allclose(ds.reflectance.values[0, :, 0, 0], values[1], rtol=1e-6)


@pytest.mark.parametrize(("method", "q"), [("quantile", 0.3), ("quantile", 0.9),
                                           ("median", 0.5)])
def test_quantiles_match_numpy(random_scenes, method, q):
    scenes, mask = random_scenes
    ds = monthly_composite(scenes, mask, method=method, quantile=q)
    clear = (mask.values == 0)[:, None] & np.isfinite(scenes.values)
    masked = np.where(clear, scenes.values, np.nan)
    for month, index in ((0, [0, 1, 2]), (1, [3]), (3, [4, 5])):
        with warnings.catch_warnings():  # all-NaN pixels: numpy warns, we expect NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            # the kernel's definition: numpy's linear quantile in float64, then float32
            expected = np.nanquantile(masked[index].astype(np.float64), q, axis=0)
        assert np.isnan(expected).any()  # the months hold pixels without a clear date
        np.testing.assert_array_equal(ds.reflectance.values[month], expected.astype(np.float32))
        assert (ds.clear_count.values[month] == clear[index, 0].sum(0)).all()


def test_a_nan_band_makes_the_observation_invalid_and_thin_cloud_can_count():
    values = np.array(VALUES, dtype=np.float32)
    values[0, 2] = np.nan
    scenes, mask = one_pixel(values, [0, 2, 0, 0, 0, 0])
    strict = monthly_composite(scenes, mask)
    assert strict.clear_count.values[0, 0, 0] == 1  # date 0 has a NaN band, date 1 thin cloud
    np.testing.assert_allclose(strict.reflectance.values[0, :, 0, 0], VALUES[2], rtol=1e-6)
    lenient = monthly_composite(scenes, mask, clear_codes=(0, 2))
    assert lenient.clear_count.values[0, 0, 0] == 2


@pytest.mark.parametrize("method", ["median", "quantile", "max_ndvi", "medoid"])
def test_chunked_equals_whole_array(random_scenes, method):
    scenes, mask = random_scenes
    whole = monthly_composite(scenes, mask, method=method, quantile=0.7)
    chunked = monthly_composite(scenes.chunk({"time": 2, "band": 1, "y": 5, "x": 4}),
                                mask.chunk({"y": 3, "x": 7}), method=method, quantile=0.7)
    assert isinstance(chunked.reflectance.data, da.Array)
    assert chunked.reflectance.chunks[2] == (5, 5, 2)
    np.testing.assert_array_equal(chunked.reflectance.values, whole.reflectance.values)
    np.testing.assert_array_equal(chunked.clear_count.values, whole.clear_count.values)


def test_coords_attrs_and_sun_angles_are_carried(random_scenes):
    scenes, mask = random_scenes
    ds = monthly_composite(scenes, mask)
    assert ds.reflectance.dims == ("time", "band", "y", "x")
    assert ds.reflectance.dtype == np.float32 and ds.clear_count.dtype == np.uint16
    assert ds.rio.crs.to_epsg() == 32633
    np.testing.assert_array_equal(ds.x.values, scenes.x.values)
    assert ds.band.values.tolist() == ["B04", "B08", "B11"]
    assert ds.reflectance.attrs["units"] == "1"
    np.testing.assert_allclose(ds.sun_zenith.values, [31, 33, NAN, 34.5])
    np.testing.assert_allclose(ds.sun_azimuth.values, [151, 153, NAN, 154.5])


def test_start_and_end_extend_and_cut_the_period(random_scenes):
    scenes, mask = random_scenes
    ds = monthly_composite(scenes, mask, start="2023-02", end="2023-06")
    assert ds.sizes["time"] == 5
    assert ds.n_scenes.values.tolist() == [1, 0, 2, 0, 0]
    assert np.isnan(ds.reflectance.values[[1, 3, 4]]).all()
    none = monthly_composite(scenes, mask, start="2024-01", end="2024-02")
    assert np.isnan(none.reflectance.values).all() and (none.clear_count.values == 0).all()


def test_bad_inputs_give_clear_errors(random_scenes):
    scenes, mask = random_scenes
    with pytest.raises(InputError, match="one mask per scene"):
        monthly_composite(scenes, mask.isel(time=slice(0, 4)))
    shifted = mask.assign_coords(x=mask.x + 10)
    with pytest.raises(GridMismatchError, match="another grid"):
        monthly_composite(scenes, shifted)
    with pytest.raises(MissingBandError, match="'B99'"):
        monthly_composite(scenes, mask, method="max_ndvi", nir="B99")
    with pytest.raises(ConfigError, match="method"):
        monthly_composite(scenes, mask, method="mean")
    with pytest.raises(ConfigError, match="YYYY-MM"):
        monthly_composite(scenes, mask, start="Jan 2023")
    with pytest.raises(InputError, match="dims"):
        monthly_composite(scenes.transpose("band", "time", "y", "x"), mask)
