"""``all_observations``: pixels the SCL calls cloud on most dates get a background too."""

import hashlib

import numpy as np
import pytest
import xarray as xr

from hrlc.masks import fit_clusters, refine_layers, refine_masks
from tests.masks.conftest import cube

BANDS = ["B02", "B03", "B04", "B08", "B11"]
GRASS = [0.04, 0.07, 0.05, 0.30, 0.20]
ROOF = [0.20, 0.22, 0.25, 0.30, 0.35]        # bright and stable: Sen2Cor calls it cloud
ROOF_PIXELS = np.s_[12:18, 12:18]
CLOUD_DATE = 3                               # the date the moving cloud is on the roof


def _roof_under_a_moving_cloud():
    """8 dates of 30 x 30 px: grass, a 6 x 6 px roof the SCL calls cloud on every date
    but the first, and a thick 6 x 6 px cloud moving east over it on dates 1-4."""
    rng = np.random.default_rng(0)
    values = np.empty((8, len(BANDS), 30, 30), np.float32)
    values[:] = np.asarray(GRASS)[None, :, None, None]
    values[:, :, 12:18, 12:18] = np.asarray(ROOF)[None, :, None, None]
    values += rng.uniform(-0.004, 0.004, values.shape)
    scl = np.full((8, 30, 30), 4, np.uint8)
    scl[0][ROOF_PIXELS] = 5
    scl[1:][(slice(None), *ROOF_PIXELS)] = 8
    truth = np.zeros((8, 30, 30), np.uint8)
    for t in range(1, 5):
        cloud = np.s_[t, 12:18, 6 * (t - 1):6 * t]
        values[cloud[0], :, cloud[1], cloud[2]] += 0.35   # white: every band alike
        scl[cloud], truth[cloud] = 9, 1
    return cube(values, BANDS), xr.DataArray(scl, dims=("time", "y", "x")), truth


def test_a_persistent_false_cloud_is_cleared_and_the_real_cloud_kept():
    refl, scl, truth = _roof_under_a_moving_cloud()
    layers = refine_layers(refl, scl)                 # all_observations is on by default
    np.testing.assert_array_equal(layers["mask"].values, truth)
    roof = layers["mask"].values[(slice(None), *ROOF_PIXELS)]
    assert (roof[CLOUD_DATE] == 1).all()
    assert (np.delete(roof, CLOUD_DATE, axis=0) == 0).all()
    assert not layers["no_background"].values.any()
    # a moving season window (one background per date) finds the same
    np.testing.assert_array_equal(refine_masks(refl, scl, window_days=1000).values, truth)


def test_without_the_option_the_roof_keeps_the_scl_cloud():
    refl, scl, truth = _roof_under_a_moving_cloud()
    layers = refine_layers(refl, scl, all_observations=False)
    expected = truth.copy()
    expected[(slice(1, None), *ROOF_PIXELS)] = 1      # SCL 8: thick cloud, every date but 0
    np.testing.assert_array_equal(layers["mask"].values, expected)
    missing = np.zeros(truth.shape, bool)
    missing[(slice(None), *ROOF_PIXELS)] = True
    np.testing.assert_array_equal(layers["no_background"].values, missing)


def test_option_off_reproduces_the_masks_made_before_it(season):
    """Recorded with the code before ``all_observations`` (commit f4f34af) on the
    ``season`` fixture; a change of the simulator changes them too. The rule clusters (no
    K-means fit) keep scikit-learn's versions out of the comparison."""
    rule = fit_clusters(np.empty((0, 4), np.float32), features=("B02", "B04", "B08", "B11"))
    mask = refine_masks(season["reflectance"], season["scl"], dem=season["dem"],
                        clusters=rule, all_observations=False).values
    counts = np.bincount(mask.ravel(), minlength=256)[[0, 1, 2, 3, 255]]
    assert counts.tolist() == [255296, 62789, 26792, 23763, 0]
    assert hashlib.sha256(np.ascontiguousarray(mask).tobytes()).hexdigest() == (
        "108a28fa1d0b07d913337c114d97fece8785d324550e88af19dd5818d631aed2")


@pytest.mark.parametrize("chunks", [{"y": 7, "x": 11}, {"y": 16, "x": 30}])
def test_the_second_pass_does_not_depend_on_chunks(chunks):
    refl, scl, truth = _roof_under_a_moving_cloud()
    mask = refine_masks(refl.chunk(chunks), scl.chunk(chunks))
    np.testing.assert_array_equal(mask.values, truth)
