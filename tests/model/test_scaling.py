"""Scalers restricted to the selected features transform them as among all features."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.preprocessing import MinMaxScaler, QuantileTransformer, StandardScaler

from hrlc.model.scaling import restrict_scaler

SCALERS = [StandardScaler(), MinMaxScaler(),
           QuantileTransformer(n_quantiles=100, subsample=300, random_state=0)]


@pytest.mark.parametrize("scaler", SCALERS, ids=lambda s: type(s).__name__)
def test_restricted_scaler_is_a_fit_on_the_kept_columns(scaler):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 6)) * [1.0, 10.0, 0.1, 5.0, 100.0, 2.0] + [0, 3, -1, 50, 7, 0]
    support = np.array([True, False, True, True, False, True])
    full = clone(scaler).fit(X)
    kept = restrict_scaler(full, support)
    alone = clone(scaler).fit(X[:, support])
    assert type(kept) is type(alone) and list(vars(kept)) == list(vars(alone))
    for name, value in vars(alone).items():
        if isinstance(value, str | None):
            assert getattr(kept, name) == value, name
            continue
        # StandardScaler's means may differ in the last bits (numpy's order of the sums)
        np.testing.assert_allclose(getattr(kept, name), value, rtol=1e-14, atol=0, err_msg=name)
    # what the bundle relies on: the kept columns are transformed as among all
    np.testing.assert_array_equal(kept.transform(X[:, support]), full.transform(X)[:, support])
    assert full.n_features_in_ == 6  # the fitted scaler is left as it was


def test_restriction_is_refused_for_other_objects_and_wrong_supports():
    X = np.arange(20.0).reshape(10, 2)
    assert restrict_scaler(None, np.array([True])) is None
    with pytest.raises(ValueError, match=r"support must be 2 booleans.*got shape \(3,\)"):
        restrict_scaler(StandardScaler().fit(X), np.array([True, False, True]))
    with pytest.raises(TypeError, match="unsupported scaler PCA"):
        restrict_scaler(PCA().fit(X), np.array([True, True]))
