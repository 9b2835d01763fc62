import numpy as np

from hrlc.masks import fit_clusters
from hrlc.masks.kmeans import white_and_bright


def _sample(rng):
    opacity = rng.uniform(0.1, 1.0, (600, 1))                         # white brightening
    clouds = opacity * np.array([0.4, 0.38, 0.25, 0.12]) + rng.normal(0, 0.005, (600, 4))
    harvest = rng.normal([0.03, 0.08, -0.1, 0.15], 0.01, (600, 4))   # uneven: not cloud
    clear = rng.normal(0.0, 0.005, (2000, 4))
    return np.concatenate([clouds, harvest, clear]).astype(np.float32)


def test_bright_white_clusters_are_cloud_surface_change_is_not():
    rng = np.random.default_rng(0)
    model = fit_clusters(_sample(rng), features=["B02", "B04", "B08", "B11"], n_clusters=4)
    assert model.fitted and model.cloud.any() and not model.cloud.all()
    test = np.array([[0.3, 0.28, 0.2, 0.1], [0.08, 0.07, 0.04, 0.02], [0.03, 0.08, -0.1, 0.15],
                     [0.001, 0.0, 0.0, 0.0], [np.nan] * 4], np.float32)
    assert model.classify(test).tolist() == [1, 2, 0, 0, 0]


def test_no_candidates_falls_back_to_the_rule():
    model = fit_clusters(np.zeros((50, 2), np.float32), features=["B02", "B04"])
    assert not model.fitted
    out = model.classify(np.array([[0.2, 0.1], [0.05, 0.3], [0.01, 0.0]], np.float32))
    assert out.tolist() == [1, 0, 0]
    assert white_and_bright(np.array([[0.05, 0.04]]), cloud_delta=0.04, blue_share=0.6)[0]


def test_the_clusters_are_fitted_with_openmp_on_one_thread(native_threads):
    # each K-means iteration is a short parallel region, between which the OpenMP
    # threads of a multithreaded fit spin (several times the CPU, and slower)
    from sklearn.cluster import MiniBatchKMeans

    threads = native_threads(MiniBatchKMeans, "openmp")
    sample = _sample(np.random.default_rng(0))
    model = fit_clusters(sample, features=["B02", "B04", "B08", "B11"], n_clusters=4)
    assert threads == [{1}]
    reference = MiniBatchKMeans(n_clusters=4, random_state=0, n_init=3, batch_size=4096).fit(
        sample[sample[:, 0] > 0.03])  # the candidates, with every thread
    np.testing.assert_allclose(model.centres, reference.cluster_centers_, rtol=1e-6)
