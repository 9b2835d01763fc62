"""Real Sen2Cor SCL of 36 dates (eo-learn test patch) against s2cloudless."""

from pathlib import Path

import numpy as np
import xarray as xr

from hrlc.masks import evaluate_masks, scl_to_mask

DATA = Path(__file__).parents[1] / "data" / "eolearn-testeopatch" / "scl_2016_2017"


def test_scl_derived_clouds_agree_with_s2cloudless():
    scl = np.load(DATA / "SCL.npy")[..., 0].astype(np.uint8)
    clm = np.load(DATA / "CLM.npy")[..., 0].astype(np.uint8)
    mask = scl_to_mask(xr.DataArray(scl, dims=("time", "y", "x"))).values
    assert set(np.unique(mask)) <= {0, 1, 2, 3}
    cloud = evaluate_masks(np.where(mask == 3, 0, mask), clm).group("cloud")
    # measured: precision 0.870, recall 0.805, F1 0.836 (benchmarks/eval_masks.py)
    assert 0.8 < cloud["f1"] < 0.9 and cloud["support"] == int(clm.sum())
