"""predict_map against the bundle's scikit-learn path; chunking, nodata, masks, schedulers."""

import numpy as np
import pytest
import xarray as xr

from hrlc.errors import ConfigError, GridMismatchError, HrlcError
from hrlc.mapping import BundlePredictor, predict_map
from hrlc.model import FeatureMismatchError
from tests.mapping.conftest import CHUNK

#: The bundles of tests/mapping/conftest.py that give probabilities.
PROBABILISTIC = ["multiclass", "ova", "ova_softmax"]


def _reference(bundle, pixels):
    X = pixels[bundle.input_features].to_numpy(np.float32).astype(np.float64)
    return X, bundle.predict(X), bundle.predict_proba(X)


@pytest.mark.parametrize("kind", PROBABILISTIC)
def test_float64_same_labels_and_probabilities_as_sklearn(bundles, pixels, kind):
    bundle = bundles[kind]
    X, labels, proba = _reference(bundle, pixels)
    result = BundlePredictor(bundle, dtype=np.float64).predict(X)
    np.testing.assert_array_equal(result.classes, labels)
    np.testing.assert_allclose(result.probabilities, proba, rtol=0, atol=1e-9)
    np.testing.assert_allclose(BundlePredictor(bundle, dtype=np.float64).decision_scores(X),
                               bundle.decision_scores(X), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("kind", PROBABILISTIC)
def test_float32_labels_and_probabilities_agree(bundles, pixels, kind):
    bundle = bundles[kind]
    X, labels, proba = _reference(bundle, pixels)
    X = np.vstack([X, np.random.default_rng(0).normal(size=X.shape) * 2])  # off the data too
    labels, proba = bundle.predict(X), bundle.predict_proba(X)
    plain = BundlePredictor(bundle, refine=False).predict(X)
    assert np.mean(plain.classes == labels) >= 0.9999
    # steep isotonic steps magnify the float32 error on a few pixels only
    assert np.mean(np.abs(plain.probabilities - proba).max(axis=1) <= 1e-4) >= 0.999
    refined = BundlePredictor(bundle).predict(X)  # unsafe pixels redone in float64
    np.testing.assert_array_equal(refined.classes, labels)
    tolerance = BundlePredictor.REFINE_TOLERANCE
    np.testing.assert_allclose(refined.probabilities, proba, rtol=0, atol=tolerance)
    top = np.sort(proba, axis=1)
    np.testing.assert_allclose(refined.margin, top[:, -1] - top[:, -2], atol=2 * tolerance)


def test_refinement_flags_steep_calibration_steps_and_close_votes(bundle):
    """The float32 error (~1e-5) moves a probability a lot on a near-vertical isotonic step,
    and can flip a one-vs-one vote near 0: such pixels are recomputed in float64."""
    from types import SimpleNamespace

    from hrlc.model import Calibrator

    predictor = BundlePredictor(bundle)
    pairwise = np.ones((3, 6))  # pairs (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
    pairwise[1] = 0.5
    pairwise[2, 4] = -predictor.refine_delta / 2  # a vote that float32 could flip
    scores = predictor._svm.ovr_decision(pairwise)
    on_step = scores[1, 2]  # pixel 1's class-3 score sits on a steep step
    gentle = Calibrator("isotonic", x=np.array([-10.0, 10.0]), y=np.array([0.0, 1.0]))
    step = Calibrator("isotonic", x=np.array([-10.0, on_step - 1e-7, on_step + 1e-7, 10.0]),
                      y=np.array([0.0, 0.3, 0.6, 0.7]))
    predictor.bundle = SimpleNamespace(calibrators=[gentle, gentle, step, gentle])
    for resolution in (None, 0.01):
        np.testing.assert_array_equal(predictor._unsure(scores, pairwise, resolution),
                                      [False, True, True])


@pytest.mark.parametrize("kind", PROBABILISTIC)
def test_stored_percent_equals_float64_with_fewer_pixels_refined(bundles, pixels, kind,
                                                                  monkeypatch):
    """With ``resolution=0.01`` only pixels whose stored percent or label the float32 error
    could change are refined, and the stored values equal those of the float64 path."""
    bundle = bundles[kind]
    X, _, _ = _reference(bundle, pixels)
    X = np.vstack([X, np.random.default_rng(2).normal(size=X.shape) * 2])
    exact = BundlePredictor(bundle, dtype=np.float64).predict(X)
    predictor = BundlePredictor(bundle)
    refined = {}
    original = predictor._unsure

    def counting(scores, pairwise, resolution=None):
        unsure = original(scores, pairwise, resolution)
        refined[resolution] = int(unsure.sum())
        return unsure

    monkeypatch.setattr(predictor, "_unsure", counting)
    result = predictor.predict(X, resolution=0.01)
    predictor.predict(X)
    stored = lambda p: np.rint(p * 100)  # noqa: E731 (as hrlc.mapping.predict stores them)
    np.testing.assert_array_equal(result.classes, exact.classes)
    for name in ("probabilities", "confidence", "margin"):
        np.testing.assert_array_equal(stored(getattr(result, name)),
                                      stored(getattr(exact, name)), err_msg=name)
    # a few percent of the pixels (7.4 % at most for these bundles, half of them outliers)
    assert 0 < refined[0.01] and max(refined.values()) < len(X) / 10


@pytest.mark.parametrize("case", ["normalise", "softmax", "score_softmax", "two classes"])
def test_probability_bounds_contain_every_probability_in_the_score_box(bundles, case):
    """Scores drawn anywhere inside [low, high] give probabilities inside the bounds, and
    bounds of a box of zero width are the probabilities themselves."""
    from hrlc.mapping.predictor import probability_bounds
    from hrlc.model import Calibrator, probabilities_from_scores

    rng = np.random.default_rng(3)
    calibrators = bundles["multiclass"].calibrators
    steep = Calibrator("isotonic", x=np.array([-0.5, -1e-4, 1e-4, 0.5]),
                       y=np.array([0.0, 0.2, 0.9, 1.0]))
    shape = {"two classes": (400,)}.get(case, (400, len(calibrators)))
    rule = ({"aggregation": case, "temperature": 0.7} if case.endswith("softmax") else {})
    if case == "two classes":
        calibrators = [steep]
    elif case == "softmax":  # a steep step inside the box: wide calibrated intervals
        calibrators = [steep, *calibrators[1:]]
    scores = rng.normal(scale=0.3, size=shape)
    low, high = scores - rng.uniform(0, 1e-3, shape), scores + rng.uniform(0, 1e-3, shape)
    lower, upper = probability_bounds(low, high, calibrators, **rule)
    for _ in range(50):
        inside = low + rng.uniform(size=shape) * (high - low)
        proba = probabilities_from_scores(inside, calibrators, **rule)
        assert np.all(proba >= lower - 1e-15) and np.all(proba <= upper + 1e-15)
    exact = probabilities_from_scores(scores, calibrators, **rule)
    for bound in probability_bounds(scores, scores, calibrators, **rule):
        np.testing.assert_allclose(bound, exact, rtol=0, atol=1e-15)


@pytest.mark.parametrize("kind", PROBABILISTIC)
def test_refine_margin_covers_the_float32_error(bundles, pixels, kind):
    """The margin is measured on the model (REFINE_SAFETY x the float32 error at its
    support vectors) and covers the float32 error of the decision values of real pixels
    and of pixels far off the data."""
    bundle = bundles[kind]
    predictor = BundlePredictor(bundle)
    exact = BundlePredictor(bundle, dtype=np.float64)
    assert predictor.refine_delta >= BundlePredictor.REFINE_DELTA
    X, _, _ = _reference(bundle, pixels)
    X = np.vstack([X, np.random.default_rng(1).normal(size=X.shape) * 2])
    model_features = bundle.transform(X)
    error = np.abs(predictor._raw(predictor._svm, model_features)
                   - exact._raw(exact._svm, model_features)).max()
    assert 0 < error < predictor.refine_delta


@pytest.mark.parametrize("kind", PROBABILISTIC)
def test_float32_map_equals_the_bundle_reference_path(bundles, cube, kind):
    """The map's default path (float32 kernel, uncertain pixels refined in float64):
    labels equal to ``bundle.predict``, probabilities within 1e-4 of
    ``bundle.predict_proba`` (one-vs-all softmax of calibrated outputs included)."""
    bundle = bundles[kind]
    ds = predict_map(cube.chunk({"y": CHUNK, "x": CHUNK}), bundle,
                     probabilities="float32").compute()
    X = cube.sel(feature=bundle.input_features).values.reshape(len(bundle.input_features), -1).T
    np.testing.assert_array_equal(ds.classes.values.ravel(), bundle.predict(X))
    proba = ds.probabilities.values.reshape(len(bundle.classes), -1).T
    np.testing.assert_allclose(proba, bundle.predict_proba(X), rtol=0, atol=1e-4)


def test_uncalibrated_bundle_maps_classes_and_vote_shares(bundles, cube):
    """No probabilities layer; confidence and margin are the shares of the one-vs-one votes
    (votes counted by hand from scikit-learn's pairwise decision values)."""
    import copy

    bundle = bundles["uncalibrated"]
    ds = predict_map(cube.chunk({"y": CHUNK, "x": CHUNK}), bundle,
                     probabilities="float32").compute()
    assert "probabilities" not in ds
    X = cube.sel(feature=bundle.input_features).values.reshape(len(bundle.input_features), -1).T
    np.testing.assert_array_equal(ds.classes.values.ravel(), bundle.predict(X))
    svc = copy.deepcopy(bundle.classifier.svc_)
    svc.decision_function_shape = "ovo"
    pairwise = svc.decision_function(bundle.transform(X))
    n = len(bundle.classes)
    votes = np.zeros((len(X), n))
    for p, (i, j) in enumerate((i, j) for i in range(n) for j in range(i + 1, n)):
        votes[:, i] += pairwise[:, p] > 0
        votes[:, j] += pairwise[:, p] <= 0
    share = np.sort(votes, axis=1) / (n - 1)
    np.testing.assert_array_equal(ds.confidence.values.ravel(), share[:, -1].astype(np.float32))
    np.testing.assert_array_equal(ds.margin.values.ravel(),
                                  (share[:, -1] - share[:, -2]).astype(np.float32))


def test_map_equals_the_bundle_pixel_by_pixel(bundle, cube):
    ds = predict_map(cube, bundle, probabilities="float32", dtype="float64").compute()
    X = cube.sel(feature=bundle.input_features).values.reshape(len(bundle.input_features), -1).T
    np.testing.assert_array_equal(ds.classes.values.ravel(), bundle.predict(X))
    proba = ds.probabilities.values.reshape(len(bundle.classes), -1).T
    np.testing.assert_allclose(proba, bundle.predict_proba(X), atol=1e-6)
    assert ds.classes.dtype == np.uint8 and ds.rio.crs == cube.rio.crs
    assert list(ds.probabilities["class"].values) == [1, 2, 3, 4]
    assert ds.attrs["class_names"] == ["forest", "grass", "urban", "water"]


@pytest.mark.parametrize("kind", PROBABILISTIC)
def test_chunked_equals_whole_array(bundles, cube, kind):
    whole = predict_map(cube, bundles[kind], probabilities="float32").compute()
    assert predict_map(cube, bundles[kind]).classes.data.numblocks == (1, 1)
    chunked = predict_map(cube.chunk({"y": CHUNK, "x": CHUNK + 8}), bundles[kind],
                          probabilities="float32")
    assert chunked.classes.data.numblocks == (3, 2)
    xr.testing.assert_identical(chunked.compute(), whole)


def test_pixel_batches_inside_a_task_change_nothing(bundle, cube, monkeypatch):
    from hrlc.mapping import predict as module

    whole = predict_map(cube, bundle).compute()
    monkeypatch.setattr(module, "_PIXEL_BATCH", 100)
    xr.testing.assert_identical(predict_map(cube, bundle).compute(), whole)


def test_one_task_per_chunk_with_the_whole_feature_vector(bundle, cube):
    ds = predict_map(cube.chunk({"feature": 2, "y": CHUNK, "x": CHUNK}), bundle)
    graph = dict(ds.__dask_graph__())
    predict_keys = [k for k in graph if isinstance(k, tuple) and k[0].startswith("hrlc-predict")]
    assert len(predict_keys) == 9


def test_two_maps_never_share_a_key(bundle, cube):
    """Map stages on one scheduler (tiles side by side) must not collide on task keys."""
    def keys(ds):
        return {k[0] for k in dict(ds.__dask_graph__()) if isinstance(k, tuple)
                and k[0].startswith("hrlc-predict")}

    first, second = keys(predict_map(cube, bundle)), keys(predict_map(cube, bundle))
    assert len(first) == len(second) == 1 and first.isdisjoint(second)


def test_uint8_percent_layers(bundle, cube):
    exact = predict_map(cube, bundle, probabilities="float32").compute()
    percent = predict_map(cube, bundle).compute()
    np.testing.assert_array_equal(percent.probabilities.values,
                                  np.rint(exact.probabilities.values * 100).astype(np.uint8))
    position = np.searchsorted(exact["class"].values, exact.classes.values)
    mapped = np.take_along_axis(exact.probabilities.values, position[None], axis=0)[0]
    np.testing.assert_array_equal(exact.confidence.values, mapped)
    assert percent.confidence.dtype == np.uint8 and int(percent.confidence.max()) <= 100


def test_missing_features_and_mask_are_nodata_everywhere(bundle, cube):
    cube = cube.copy(data=cube.values.copy())
    used = bundle.input_features[2]
    cube.loc[dict(feature=used)][3, 4] = np.nan
    cube[:, 0, 0] = np.nan  # no feature at all
    unused = [f for f in cube["feature"].values if f not in bundle.input_features]
    cube.loc[dict(feature=unused[0])][5, 5] = np.nan  # a feature the model does not read
    mask = xr.ones_like(cube.isel(feature=0, drop=True), dtype=np.uint8)
    mask[10, :] = 0
    for probabilities, nodata in (("uint8", 255), ("float32", np.nan)):
        ds = predict_map(cube.chunk({"y": CHUNK, "x": CHUNK}), bundle, mask=mask,
                         probabilities=probabilities).compute()
        gone = np.zeros(cube.shape[1:], bool)
        gone[3, 4] = gone[0, 0] = True
        gone[10, :] = True
        assert (ds.classes.values[gone] == 0).all() and (ds.classes.values[~gone] > 0).all()
        for name in ("probabilities", "confidence", "margin"):
            np.testing.assert_array_equal(ds[name].values[..., gone],
                                          np.full_like(ds[name].values[..., gone], nodata))
        assert ds.classes.values[5, 5] > 0


def test_features_by_name_in_any_order(bundle, cube):
    shuffled = cube.isel(feature=np.random.default_rng(1).permutation(cube.sizes["feature"]))
    xr.testing.assert_identical(predict_map(shuffled, bundle).compute(),
                                predict_map(cube, bundle).compute())


def test_bad_inputs(bundle, cube):
    with pytest.raises(FeatureMismatchError, match=bundle.input_features[0]):
        predict_map(cube.drop_sel(feature=bundle.input_features[0]), bundle)
    other = cube.isel(feature=0, drop=True).rio.write_crs(32631)
    with pytest.raises(GridMismatchError, match="grid"):
        predict_map(cube, bundle, mask=other)
    shifted = cube.isel(feature=0, drop=True).assign_coords(x=cube.x + 10)
    with pytest.raises(GridMismatchError):
        predict_map(cube, bundle, mask=shifted)
    with pytest.raises(HrlcError, match="impute"):
        predict_map(cube, bundle, missing="impute")
    with pytest.raises(ConfigError, match="probabilities"):
        predict_map(cube, bundle, probabilities="uint16")


def test_blas_threads_pinned_while_predicting_and_restored(bundle, cube, monkeypatch):
    from threadpoolctl import threadpool_info

    from hrlc.mapping import predictor as module

    seen = []
    original = module.BundlePredictor.predict

    def spy(self, features, **options):
        seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
        return original(self, features, **options)

    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    monkeypatch.setattr(module.BundlePredictor, "predict", spy)
    predict_map(cube.chunk({"y": CHUNK, "x": CHUNK}), bundle).compute(scheduler="threads")
    assert seen and all(s == {1} for s in seen)
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before


def test_local_cluster_gives_the_same_map(bundle, cube):
    import pickle

    from distributed import Client, LocalCluster

    lazy = predict_map(cube.chunk({"y": 24, "x": 24}), bundle)
    expected = lazy.compute(scheduler="threads")
    # what a process-based cluster ships to its workers must survive pickling
    restored = pickle.loads(pickle.dumps(BundlePredictor(bundle)))
    X = cube.sel(feature=bundle.input_features).values.reshape(len(bundle.input_features), -1).T
    np.testing.assert_array_equal(restored.predict(X).classes, bundle.predict(X))
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster, Client(cluster):
        xr.testing.assert_identical(lazy.compute(), expected)
