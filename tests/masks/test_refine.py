import dask.array as da
import numpy as np
import pytest
import xarray as xr

from hrlc.errors import ConfigError, GridMismatchError, InputError, MissingBandError
from hrlc.masks import evaluate_masks, fit_cloud_clusters, refine_layers, refine_masks, scl_to_mask
from tests.masks.conftest import cube


@pytest.fixture(scope="module")
def refined(season):
    clusters = fit_cloud_clusters(season["reflectance"], season["scl"])
    mask = refine_masks(season["reflectance"], season["scl"], dem=season["dem"],
                        clusters=clusters)
    return clusters, mask


def test_refinement_beats_the_scl_on_a_simulated_season(season, refined):
    _, mask = refined
    assert isinstance(mask.data, da.Array) and mask.dtype == np.uint8
    assert mask.dims == ("time", "y", "x") and mask.rio.crs == season["reflectance"].rio.crs
    truth = season["truth"].values
    base = evaluate_masks(scl_to_mask(season["scl"]).values, truth)
    ours = evaluate_masks(mask.values, truth)
    for group in ("cloud", "cloud shadow"):
        assert ours.group(group)["f1"] > base.group(group)["f1"], group
    assert ours.group("cloud")["f1"] > 0.85 and ours.group("cloud shadow")["f1"] > 0.6


def test_chunked_equals_unchunked(season, refined):
    clusters, mask = refined
    small = refine_masks(season["reflectance"].chunk({"time": 1, "band": 1, "y": 50, "x": 70}),
                         season["scl"].chunk({"time": 1, "y": 50, "x": 70}),
                         dem=season["dem"].chunk(60), clusters=clusters)
    np.testing.assert_array_equal(small.values, mask.values)


def test_sample_fit_does_not_depend_on_chunks(season):
    a = fit_cloud_clusters(season["reflectance"], season["scl"], n_clusters=4, sample_size=3000)
    b = fit_cloud_clusters(season["reflectance"].chunk({"y": 64, "x": 64}),
                           season["scl"].chunk({"y": 64, "x": 64}), n_clusters=4, sample_size=3000)
    np.testing.assert_array_equal(a.centres, b.centres)


def _season(values, scl, **kw):
    bands = ["B02", "B03", "B04", "B08", "B11"]
    return cube(values, bands, **kw), xr.DataArray(scl, dims=("time", "y", "x"))


def test_too_few_clear_observations_and_an_all_cloud_scene():
    rng = np.random.default_rng(0)
    values = 0.05 + 0.01 * rng.random((4, 5, 16, 16))
    values[3] = 0.5                                  # date 4: all cloud, SCL says so
    scl = np.full((4, 16, 16), 4, np.uint8)
    scl[3] = 9
    scl[:2, :8] = 9                                  # top half: only 1 clear observation
    refl, codes = _season(values, scl)
    layers = refine_layers(refl, codes, min_clear=2, fallback="nodata", all_observations=False)
    mask, missing = layers["mask"].values, layers["no_background"].values
    assert (mask[3, 8:] == 1).all()                   # the cloudy date is cloud
    assert missing[:, :8].all() and not missing[:, 8:].any()
    assert (mask[:, :8] == 255).all()                 # no background: no data, as asked
    kept = refine_masks(refl, codes, min_clear=2, fallback="scl", all_observations=False).values
    np.testing.assert_array_equal(kept[:, :8], scl_to_mask(codes).values[:, :8])
    # from all observations the top half has a background: its dates 1-2 are not
    # brighter than it (the SCL's cloud was wrong), date 4 is (real cloud)
    rescued = refine_layers(refl, codes, min_clear=2, fallback="nodata")
    assert not rescued["no_background"].values.any()
    np.testing.assert_array_equal(rescued["mask"].values, np.where(np.arange(4) == 3, 1, 0)
                                  [:, None, None] * np.ones((1, 16, 16), np.uint8))


def test_bad_inputs_have_clear_messages():
    values = np.full((2, 5, 8, 8), 0.05)
    refl, codes = _season(values, np.full((2, 8, 8), 4, np.uint8))
    mixed = refl.assign_coords(tile_id=("time", np.array(["31TCJ", "32ULV"], object)))
    with pytest.raises(GridMismatchError, match="tiles 31TCJ, 32ULV"):
        refine_masks(mixed, codes)
    with pytest.raises(GridMismatchError, match="SCL"):
        refine_masks(refl, codes.isel(time=[0]))
    with pytest.raises(InputError, match="sun_zenith"):
        refine_masks(refl.assign_coords(sun_zenith=("time", [np.nan, 30.0])), codes)
    with pytest.raises(MissingBandError, match="B11"):
        refine_masks(refl.sel(band=["B02", "B03", "B04", "B08"]), codes)
    with pytest.raises(GridMismatchError, match="reproject_match"):
        refine_masks(refl, codes, dem=xr.DataArray(np.zeros((4, 4)), dims=("y", "x")))
    with pytest.raises(ConfigError, match="quantile"):
        refine_masks(refl, codes, quantile=2)
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        refine_masks(refl, codes, colour="red")
