import dask.array as da
import numpy as np
import pytest
import xarray as xr

from hrlc.errors import GridMismatchError
from hrlc.masks import evaluate_masks


def test_scores_of_a_small_case_by_hand():
    ref = np.array([[0, 0, 1, 1], [2, 3, 3, 255]], np.uint8)
    pred = np.array([[0, 1, 1, 2], [2, 3, 0, 0]], np.uint8)
    scores = evaluate_masks(pred, ref)
    cloud = scores.group("cloud")        # ref cloud: 3 px; pred cloud: 4 px; both: 3
    assert cloud["precision"] == 3 / 4 and cloud["recall"] == 1.0
    assert cloud["f1"] == pytest.approx(2 * 0.75 / 1.75) and cloud["iou"] == 3 / 4
    shadow = scores.group("cloud shadow")
    assert shadow["precision"] == 1.0 and shadow["recall"] == 0.5 and shadow["support"] == 2
    assert scores.confusion.sum() == 7 and scores.confusion[1, 2] == 1
    assert np.isnan(evaluate_masks(ref * 0, ref * 0).group("cloud")["precision"])


def test_predicted_nodata_counts_against_recall():
    scores = evaluate_masks(np.array([255, 1], np.uint8), np.array([1, 1], np.uint8))
    assert scores.group("cloud")["recall"] == 0.5 and scores.group("cloud")["precision"] == 1.0


def test_dask_equals_numpy_and_grids_are_checked():
    rng = np.random.default_rng(0)
    ref, pred = (rng.integers(0, 4, (3, 20, 20)).astype(np.uint8) for _ in range(2))
    lazy = evaluate_masks(da.from_array(pred, chunks=(1, 7, 6)), da.from_array(ref, chunks=5))
    np.testing.assert_array_equal(lazy.confusion, evaluate_masks(pred, ref).confusion)
    a = xr.DataArray(pred[0], dims=("y", "x"), coords={"y": np.arange(20), "x": np.arange(20)})
    b = a.assign_coords(x=a.x + 100)
    with pytest.raises(GridMismatchError, match="reproject"):
        evaluate_masks(a, b)
    with pytest.raises(GridMismatchError, match="shape"):
        evaluate_masks(pred, ref[:2])
