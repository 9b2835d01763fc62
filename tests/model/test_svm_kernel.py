"""The GEMM predictor against scikit-learn's SVC on trained models."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from hrlc.model.svm_kernel import FastRbfPredictor, RbfSvm


def _fitted(n_classes, seed=0, n_features=12, gamma="scale", labels=None):
    x, y = make_classification(n_samples=900, n_features=n_features, n_informative=8,
                               n_redundant=2, n_classes=n_classes, n_clusters_per_class=2,
                               class_sep=0.8, random_state=seed)
    if labels is not None:
        y = np.asarray(labels)[y]
    scaler = StandardScaler().fit(x)
    svc = SVC(kernel="rbf", C=3.0, gamma=gamma).fit(scaler.transform(x[:600]), y[:600])
    rng = np.random.default_rng(seed)
    test = scaler.transform(np.vstack([x[600:], rng.normal(size=(3000, n_features)) * 1.5]))
    return svc, test


@pytest.mark.parametrize("n_classes", [2, 3, 6])
def test_float64_labels_and_decision_match_sklearn_exactly(n_classes):
    svc, x = _fitted(n_classes, seed=n_classes)
    fast = FastRbfPredictor(RbfSvm.from_sklearn(svc), dtype=np.float64)
    np.testing.assert_array_equal(fast.predict(x), svc.predict(x))
    np.testing.assert_allclose(fast.decision_function(x), svc.decision_function(x),
                               rtol=1e-9, atol=1e-9)


def test_float32_labels_agree_on_at_least_9999_per_10000():
    svc, x = _fitted(5, seed=11, n_features=30)
    fast = FastRbfPredictor(RbfSvm.from_sklearn(svc), dtype=np.float32)
    agreement = np.mean(fast.predict(x) == svc.predict(x))
    assert agreement >= 0.9999
    np.testing.assert_allclose(fast.decision_function(x), svc.decision_function(x), atol=2e-3)


def test_string_labels_and_explicit_gamma():
    svc, x = _fitted(4, seed=3, gamma=0.05, labels=["water", "forest", "crop", "urban"])
    fast = FastRbfPredictor(RbfSvm.from_sklearn(svc), dtype=np.float64)
    np.testing.assert_array_equal(fast.predict(x), svc.predict(x))


def test_pairwise_decision_equals_hand_computation_for_one_pair():
    svc, x = _fitted(3, seed=5)
    model = RbfSvm.from_sklearn(svc)
    fast = FastRbfPredictor(model, dtype=np.float64)
    start = np.concatenate([[0], np.cumsum(model.n_support)])
    s0, s2 = slice(start[0], start[1]), slice(start[2], start[3])
    point = x[:1]
    kernel = lambda s: np.exp(-model.gamma * ((model.support_vectors[s] - point) ** 2).sum(1))  # noqa: E731
    by_hand = (model.dual_coef[1, s0] @ kernel(s0) + model.dual_coef[0, s2] @ kernel(s2)
               + model.intercept[1])  # pair (0, 2) is the second pair
    assert fast.pairwise_decision(point)[0, 1] == pytest.approx(by_hand, rel=1e-10)


def test_only_rbf():
    svc = SVC(kernel="linear").fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(ValueError, match="only RBF"):
        RbfSvm.from_sklearn(svc)


def test_class_segments_give_the_full_weights_product():
    """Each class's kernel slabs meet only its own pairs' columns of W: the same decision
    values as the product with the whole W (one segment)."""
    from hrlc.model.svm_kernel import _KernelGemm

    svc, x = _fitted(6, seed=7)
    model = RbfSvm.from_sklearn(svc)
    weights = model.pair_weights()
    segments = model.class_segments()
    assert [len(columns) for _, _, columns in segments] == [5] * 6
    assert segments[-1][1] == len(model.support_vectors)
    options = dict(dtype=np.float64, batch=256)
    by_class = _KernelGemm(model.support_vectors, weights, model.intercept, model.gamma,
                           segments=segments, **options)(x)
    whole = _KernelGemm(model.support_vectors, weights, model.intercept, model.gamma,
                        **options)(x)
    np.testing.assert_allclose(by_class, whole, rtol=0, atol=1e-12)
    start, stop, columns = segments[0]
    with pytest.raises(ValueError, match="weights outside"):
        _KernelGemm(model.support_vectors, weights, model.intercept, model.gamma,
                    segments=[(start, stop, columns[:-1])], **options)
