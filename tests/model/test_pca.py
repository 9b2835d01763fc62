"""PCA component rules on data with a known structure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hrlc.model import ScreePCA, elbow_count, variance_count


def _factors(k: int, n_features: int = 20, n: int = 600, noise: float = 0.05, seed: int = 0):
    """k strong latent factors (variances 9, 4, 2.25, ...) mixed into n_features, plus noise."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, k)) * np.linspace(3.0, 1.5, k)
    mixing = np.linalg.qr(rng.standard_normal((n_features, k)))[0].T
    return latent @ mixing + noise * rng.standard_normal((n, n_features))


@pytest.mark.parametrize("k", [2, 3, 5])
def test_elbow_finds_the_number_of_latent_factors(k):
    pca = ScreePCA("elbow").fit(_factors(k))
    assert pca.n_elbow_ == pca.n_components_ == k


def test_elbow_rule_on_hand_made_curves():
    assert elbow_count(np.array([0.3, 0.3, 0.3, 0.01, 0.01, 0.01, 0.0])) == 3
    assert elbow_count(np.array([0.6, 0.2, 0.1, 0.05, 0.03, 0.02])) == 1  # knee at 2
    assert elbow_count(np.full(5, 0.2)) == 1                             # flat: no elbow
    assert elbow_count(np.array([1.0])) == 1
    # a tie between two points goes to the earlier one
    assert elbow_count(np.array([1.0, 0.25, 0.0, 0.0, 0.0])) == 1  # points 2 and 3 tie
    assert elbow_count(np.array([1.0, 0.5, 0.0, 0.0, 0.0])) == 2


def test_variance_rule_counts_exactly():
    ratios = np.array([0.5, 0.3, 0.15, 0.05])
    assert variance_count(ratios, 0.5) == 1
    assert variance_count(ratios, 0.8) == 2      # reaching the threshold exactly counts
    assert variance_count(ratios, 0.81) == 3
    assert variance_count(ratios, 1.0) == 4
    with pytest.raises(ValueError, match="variance threshold"):
        variance_count(ratios, 0.0)


def test_average_is_the_ceiling_of_the_mean_and_transform_matches_sklearn():
    from sklearn.decomposition import PCA

    X = _factors(3, noise=0.5)
    pca = ScreePCA("average", variance=0.99).fit(X)
    assert pca.n_elbow_ == 3 and pca.n_variance_ > 3
    assert pca.n_components_ == math.ceil((pca.n_variance_ + pca.n_elbow_) / 2)
    reference = PCA(pca.n_components_, svd_solver="full").fit(X)
    np.testing.assert_allclose(pca.transform(X), reference.transform(X), atol=1e-10)
    summary = pca.summary()
    assert summary["n_components"] == pca.n_components_
    assert len(summary["explained_variance_ratio"]) == X.shape[1]
    assert list(pca.get_feature_names_out()) == [f"pc{i + 1}" for i in range(pca.n_components_)]


def test_unknown_rule_is_rejected():
    with pytest.raises(ValueError, match="unknown PCA rule"):
        ScreePCA("kaiser").fit(_factors(2))
