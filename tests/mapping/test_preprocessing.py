"""The map's one-pass preprocessing against the bundle's scikit-learn transform."""

from __future__ import annotations

import numpy as np
import pytest

from hrlc.mapping.preprocessing import Preprocessing
from tests.mapping.conftest import _train


@pytest.mark.parametrize("name", ["multiclass", "ova"])  # standard scaler; with PCA
def test_equals_the_bundle_transform(bundles, pixels, name):
    bundle = bundles[name]
    X = pixels[bundle.input_features].to_numpy(np.float32)[:3000]
    fast = Preprocessing(bundle)
    assert fast.affine
    np.testing.assert_allclose(fast(X), bundle.transform(X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("scaler", ["minmax", "quantile"])
def test_other_scalers_and_imputed_nan(table, pixels, scaler):
    bundle = _train(table, scaler=scaler, nan_policy="impute")
    X = pixels[bundle.input_features].to_numpy(np.float64)[:2000].copy()
    X[::7, 0] = np.nan  # imputed with the training medians, before scaling
    fast = Preprocessing(bundle)
    assert fast.affine == (scaler == "minmax")
    result = fast(X)
    assert np.isfinite(result).all()
    np.testing.assert_allclose(result, bundle.transform(X), rtol=1e-12, atol=1e-12)
    filled = X.copy()  # a NaN is its feature's training median, nothing else
    filled[::7, 0] = bundle.impute_values[0]
    assert np.isfinite(filled).all()
    np.testing.assert_allclose(result, fast(filled), rtol=1e-12, atol=1e-12)


def test_wrong_feature_count_is_refused(bundle, pixels):
    X = pixels[bundle.input_features].to_numpy(np.float32)[:10, :-1]
    with pytest.raises(ValueError, match="features in the order of input_features"):
        Preprocessing(bundle)(X)
