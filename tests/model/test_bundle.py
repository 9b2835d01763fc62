"""The model bundle: identical predictions after a round trip, arrays for a fast predictor,
feature checks, safe loading."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hrlc.errors import CorruptFileError, OutputExistsError
from hrlc.model import FeatureMismatchError, load_bundle, train_model
from tests.model.conftest import SMALL_GRID, rewrite_bundle

CONFIGS = {
    "multiclass-isotonic-standard": dict(classifier="multiclass", calibration="isotonic"),
    "ova-sigmoid-quantile-pca-impute": dict(classifier="ova", calibration="sigmoid",
                                            scaler="quantile", pca="average",
                                            nan_policy="impute"),
    "ova-softmax-minmax-none": dict(classifier="ova", aggregation="softmax", scaler="minmax",
                                    selection="none", pca="elbow"),
    "ova-score_softmax": dict(classifier="ova", aggregation="score_softmax", temperature=0.5),
}


@pytest.fixture(scope="module", params=list(CONFIGS))
def saved(request, samples, tmp_path_factory):
    table = samples.copy()
    if CONFIGS[request.param].get("nan_policy") == "impute":
        table.loc[table.index[:20], "f2"] = np.nan
    result = train_model(table, compare=[], **SMALL_GRID, **CONFIGS[request.param])
    path = result.bundle.save(tmp_path_factory.mktemp("bundle") / "model.npz")
    return result.bundle, path, table


def test_round_trip_gives_identical_predictions(saved):
    bundle, path, table = saved
    loaded = load_bundle(path)
    rows = table[bundle.input_features]
    np.testing.assert_array_equal(loaded.transform(rows), bundle.transform(rows))
    np.testing.assert_array_equal(loaded.decision_scores(rows), bundle.decision_scores(rows))
    np.testing.assert_array_equal(loaded.predict_proba(rows), bundle.predict_proba(rows))
    np.testing.assert_array_equal(loaded.predict(table), bundle.predict(table))
    assert loaded.input_features == bundle.input_features
    assert loaded.class_table == bundle.class_table and loaded.class_names[1] == "forest"
    assert loaded.probability_rule() == bundle.probability_rule()
    assert loaded.metadata["format"] == "hrlc-model" and loaded.metadata["version"] == 2
    assert len(loaded.training["data_sha256"]) == 64


def _rbf(Z, arrays):
    sq = ((Z[:, None, :] - arrays.support_vectors[None]) ** 2).sum(-1)
    return np.exp(-arrays.gamma * sq)


def _pairwise(Z, arrays):
    """libsvm pair decision values from the raw arrays (the mapping stage's contract)."""
    kernel = _rbf(Z, arrays)
    start = np.r_[0, np.cumsum(arrays.n_support)]
    n = len(arrays.n_support)
    out = []
    for p, (i, j) in enumerate((i, j) for i in range(n) for j in range(i + 1, n)):
        si, sj = slice(start[i], start[i + 1]), slice(start[j], start[j + 1])
        out.append(kernel[:, si] @ arrays.dual_coef[j - 1, si]
                   + kernel[:, sj] @ arrays.dual_coef[i, sj] + arrays.intercept[p])
    return np.column_stack(out)


def _sklearn_decision(Z, arrays):
    d = _pairwise(Z, arrays)
    n = len(arrays.n_support)
    if n == 2:
        return -d[:, 0]
    votes, conf = np.zeros((len(Z), n)), np.zeros((len(Z), n))
    for p, (i, j) in enumerate((i, j) for i in range(n) for j in range(i + 1, n)):
        conf[:, i] += d[:, p]
        conf[:, j] -= d[:, p]
        votes[:, i] += d[:, p] >= 0
        votes[:, j] += d[:, p] < 0
    return votes + conf / (3 * (np.abs(conf) + 1))


def test_raw_arrays_reproduce_the_predictions(saved):
    """Decision values, calibration and aggregation from the exposed arrays alone."""
    bundle, path, table = saved
    loaded = load_bundle(path)
    rows = table[bundle.input_features].to_numpy(np.float64)[:40]
    Z = loaded.transform(rows)
    svms = loaded.svm_arrays()
    if loaded.kind == "ova":
        assert len(svms) == len(loaded.classes)
        scores = np.column_stack([_sklearn_decision(Z, s) for s in svms])
    else:
        assert len(svms) == 1 and svms[0].classes.tolist() == loaded.classes.tolist()
        scores = _sklearn_decision(Z, svms[0])
    np.testing.assert_allclose(scores, loaded.decision_scores(rows), atol=1e-10)
    rule = loaded.probability_rule()
    p = np.column_stack([c.predict(scores[:, k]) for k, c in enumerate(loaded.calibrators)])
    if rule["aggregation"] == "normalise":
        expected = p / p.sum(1, keepdims=True)
    else:  # softmax of the calibrated outputs, or of the raw scores
        z = np.exp((p if rule["aggregation"] == "softmax" else scores) / rule["temperature"])
        expected = z / z.sum(1, keepdims=True)
    np.testing.assert_allclose(loaded.predict_proba(rows), expected, atol=1e-12)
    prep = loaded.preprocessing_arrays()
    scaler = prep["scaler"]
    by_hand = {"standard": lambda A: (A - scaler["mean"]) / scaler["scale"],
               "minmax": lambda A: A * scaler["scale"] + scaler["offset"],
               "quantile": loaded.scaler.transform}[scaler["kind"]]
    if prep["impute_values"] is not None:
        rows = np.where(np.isnan(rows), prep["impute_values"], rows)
    scaled = by_hand(rows)
    if prep["pca_components"] is not None:
        assert prep["pca_components"].shape == (Z.shape[1], len(loaded.input_features))
        scaled = (scaled - prep["pca_mean"]) @ prep["pca_components"].T
    np.testing.assert_allclose(scaled, Z, atol=1e-12)


def test_feature_check_lists_missing_and_extra(saved):
    import xarray as xr

    bundle, path, table = saved
    loaded = load_bundle(path)
    wrong = table.drop(columns=[bundle.input_features[0]]).assign(NDVI_m07=0.5)
    with pytest.raises(FeatureMismatchError, match=rf"missing 1: {bundle.input_features[0]}"
                                                   r".*extra.*NDVI_m07"):
        loaded.predict(wrong)
    names = ["slope", *reversed(bundle.input_features)]
    cube = xr.DataArray(np.zeros((len(names), 2, 2), np.float32), dims=("feature", "y", "x"),
                        coords={"feature": names})
    positions = loaded.check_cube(cube)
    assert [names[p] for p in positions] == bundle.input_features
    with pytest.raises(FeatureMismatchError, match="the cube's features do not match"):
        loaded.check_cube(cube.isel(feature=slice(0, 2)))


def test_untrusted_tampered_or_foreign_files_are_refused(saved, tmp_path):
    _, path, _ = saved

    def untrusted(meta, arrays):
        meta["classifier"]["svms"][0]["class"] = "os.system"

    def tampered(meta, arrays):
        arrays["probe/scores"] = arrays["probe/scores"] + 1e-3

    def newer(meta, arrays):
        meta["version"] = 99

    # resealed: a file consistent with its checksum (the checksum is no signature)
    for edit, reseal, message in (
            (untrusted, True, "not one of the trusted types"),
            (untrusted, False, r"modified since it was written \(metadata entry classifier "
                               r"changed\)"),
            (tampered, False, "modified since it was written .*array probe/scores"),
            (tampered, True, "does not reproduce the decision values recorded at training "
                             "with the same scikit-learn"),
            (newer, False, "newer than this hrlc reads")):
        target = tmp_path / f"{edit.__name__}_{reseal}.npz"
        with pytest.raises(CorruptFileError, match=message):
            load_bundle(rewrite_bundle(path, target, edit, reseal=reseal))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CorruptFileError, match="not an hrlc model bundle"):
        load_bundle(tmp_path / "junk.npz")


def test_checksum_covers_every_array_and_the_metadata(saved, tmp_path):
    _, path, _ = saved
    with np.load(path, allow_pickle=False) as archive:
        names = set(archive.files) - {"__meta__"}
        meta = json.loads(bytes(archive["__meta__"]).decode())
    record = meta["integrity"]
    assert record["algorithm"] == "sha256" and set(record["arrays"]) == names
    assert set(record["metadata"]) == set(meta) - {"integrity"}
    assert {len(d) for d in [*record["metadata"].values(), *record["arrays"].values()]} == {64}
    assert load_bundle(path).metadata["integrity"] == "verified"

    def added(meta, arrays):
        arrays["svm/0/extra"] = np.zeros(3)

    def removed(meta, arrays):
        del arrays["probe/X"]

    def retyped(meta, arrays):  # same values, another dtype
        arrays["fitted/classes_"] = arrays["fitted/classes_"].astype(np.int32)

    def noted(meta, arrays):
        meta["note"] = "edited by hand"
        meta["created"] = "2020-01-01"

    for edit, message in ((added, "array svm/0/extra was added"),
                          (removed, "array probe/X was removed"),
                          (retyped, "array fitted/classes_ changed"),
                          (noted, r"\(metadata entry created changed, metadata entry note was "
                                  r"added\)")):
        with pytest.raises(CorruptFileError, match=message):
            load_bundle(rewrite_bundle(path, tmp_path / f"{edit.__name__}.npz", edit))


def test_save_refuses_to_overwrite(saved):
    bundle, path, _ = saved
    with pytest.raises(OutputExistsError, match="already exists"):
        bundle.save(path)
    bundle.save(path, overwrite=True)


def _as_format_1(meta, arrays):
    """A bundle as hrlc wrote it before format 2: the score softmax was called softmax."""
    meta["version"] = 1
    params = meta["classifier"]["params"]
    if params.get("aggregation") == "score_softmax":
        params["aggregation"] = "softmax"


def test_format_1_softmax_is_read_as_the_score_softmax(saved, tmp_path):
    """Format 1 knew one softmax, of the raw decision values: such a bundle predicts what
    it did (with a checksum, or without one, as before checksums)."""
    bundle, path, table = saved
    if bundle.probability_rule()["aggregation"] == "softmax":
        pytest.skip("format 1 had no softmax of calibrated outputs")
    rows = table[bundle.input_features]
    old = load_bundle(rewrite_bundle(path, tmp_path / "v1.npz", _as_format_1, reseal=True))
    assert old.metadata["version"] == 1
    assert old.probability_rule() == bundle.probability_rule()
    np.testing.assert_array_equal(old.predict_proba(rows), bundle.predict_proba(rows))

    def unsealed(meta, arrays):
        _as_format_1(meta, arrays)
        del meta["integrity"]

    with pytest.warns(UserWarning, match="before model bundles carried a checksum"):
        older = load_bundle(rewrite_bundle(path, tmp_path / "v1-unsealed.npz", unsealed))
    np.testing.assert_array_equal(older.predict_proba(rows), bundle.predict_proba(rows))
    # saved again, it is a format 2 bundle with the new name
    again = load_bundle(older.save(tmp_path / "v2.npz"))
    assert again.metadata["version"] == 2
    assert again.probability_rule()["aggregation"] == bundle.probability_rule()["aggregation"]
