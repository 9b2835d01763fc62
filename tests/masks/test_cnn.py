import numpy as np
import pytest
import xarray as xr

from hrlc.errors import ConfigError, MissingBandError
from hrlc.masks.cnn import cnn_available, cnn_masks, combine_masks
from tests.masks.conftest import cube


def test_majority_of_three_masks():
    def mask(*codes):
        return xr.DataArray(np.array(codes, np.uint8)[None, None], dims=("time", "y", "x"))

    scl = mask(1, 0, 3, 0, 2, 0)
    refined = mask(2, 1, 3, 0, 0, 255)
    cnn = mask(1, 0, 0, 3, 1, 1)
    out = combine_masks(scl, refined, cnn).values[0, 0].tolist()
    assert out == [2, 0, 3, 0, 2, 255]


def test_missing_extra_or_band_is_a_clear_error():
    refl = cube(np.full((1, 5, 6, 6), 0.05), ["B02", "B03", "B04", "B08", "B11"])
    if not cnn_available():
        with pytest.raises(ConfigError, match=r"hrlc\[cnn\]"):
            cnn_masks(refl)
    else:
        with pytest.raises(MissingBandError, match="B12"):
            cnn_masks(refl)


@pytest.mark.skipif(not cnn_available(), reason="optional extra hrlc[cnn] not installed")
def test_cnn_masks_of_a_simulated_season(season):
    from hrlc.masks import evaluate_masks

    mask = cnn_masks(season["reflectance"].isel(time=slice(0, 4)))
    assert mask.dims == ("time", "y", "x") and mask.shape == (4, 192, 192)
    values = mask.values
    assert set(np.unique(values)) <= {0, 1, 3, 255}
    cloud = evaluate_masks(values, season["truth"].values[:4]).group("cloud")
    assert cloud["precision"] > 0.8  # few false clouds even on this small (64 px at 30 m) scene
