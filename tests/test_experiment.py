"""``hrlc experiment``: a grid of variants, its table, the cache, shared work, the maps."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pandas as pd
import pytest
import rioxarray

from hrlc.cli import main
from hrlc.config import validate_config
from hrlc.config.experiment import ExperimentConfig
from hrlc.errors import ConfigError, FolderOwnershipError, HrlcError, InputError
from hrlc.io import write_zarr
from hrlc.io.vectors import read_samples, write_samples
from hrlc.mapping import class_distribution, compare_maps, predict_map
from hrlc.model import load_bundle, train_model
from hrlc.pipeline.experiment import run_experiment, variant_scores
from hrlc.pipeline.experiment_files import mapping_cost
from tests.mapping.conftest import CHUNK, CLASS_TABLE, cube, feature_names, table  # noqa: F401

#: A one-point grid on 2 folds: each variant trains in well under a second.
TRAIN = {"C": [10.0], "gamma_factors": [1.0], "cv_folds": 2, "n_jobs": 1, "seed": 0}


def _quiet(_text: str) -> None:
    pass


@pytest.fixture(scope="module")
def sample_file(table, feature_names, tmp_path_factory):  # noqa: F811
    """The first 600 rows of the mapping tests' table, written as ``hrlc dataset`` does."""
    meta = {"features": feature_names,
            "classes": [{"code": c, **v} for c, v in CLASS_TABLE.items()]}
    path = tmp_path_factory.mktemp("samples") / "samples.parquet"
    write_samples(table.iloc[:600], meta, path, formats=["parquet"])
    return path


@pytest.fixture(scope="module")
def cube_zarr(cube, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("cube") / "features.zarr"
    return write_zarr(cube.chunk({"feature": -1, "y": CHUNK, "x": CHUNK}), path)


def _yaml(tmp_path, text: str):
    path = tmp_path / "experiment.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def _direct(sample_file, **options):
    """train_model on the sample table, as a user would run it for one variant."""
    samples, meta = read_samples(sample_file)
    return train_model(samples, class_table=CLASS_TABLE, features=meta["features"],
                       **{**TRAIN, **options})


def _classes(path):
    return rioxarray.open_rasterio(path, chunks={"x": 1024, "y": 1024}).squeeze("band",
                                                                               drop=True)


def test_two_variants_write_the_table_and_the_map_comparison(tmp_path, sample_file, cube_zarr,
                                                             cube, capsys):  # noqa: F811
    out = tmp_path / "exp"
    config = _yaml(tmp_path, f"""\
        samples: {sample_file}
        output: {out}
        train: {json.dumps(TRAIN)}
        grid: {{classifier: [multiclass, ova]}}
        maps: true
        features: {cube_zarr}
        """)
    main(["experiment", str(config)])
    err = capsys.readouterr().err
    assert "training 2 variant(s) in 2 call(s)" in err and "mapped ova" in err

    table = pd.read_csv(out / "table.csv")
    assert table["variant"].tolist() == ["multiclass", "ova"]
    assert table["status"].tolist() == ["trained", "trained"]
    samples, meta = read_samples(sample_file)
    test = samples[samples["split"] == "test"]
    for row in table.itertuples():
        direct = _direct(sample_file, classifier=row.variant, compare=[])
        scores = direct.variants[f"svm_{row.variant}"]
        assert row.OA == pytest.approx(scores["test"]["overall_accuracy"], abs=1e-12)
        assert row.macro_F1 == pytest.approx(scores["test"]["macro_f1"], abs=1e-12)
        assert row.ECE == pytest.approx(scores["test"]["ece"], abs=1e-12)
        assert row.support_vectors == scores["n_support_vectors"]
        assert row.features == len(direct.bundle.input_features) == row.dims
        # OA by hand: the bundle's labels of the test rows against their classes
        predicted = direct.bundle.predict(test[direct.bundle.input_features].to_numpy())
        assert row.OA == pytest.approx(np.mean(predicted == test["class"].to_numpy()))
        cost = mapping_cost(row.support_vectors, row.dims)
        assert row.kernel_MACs_per_px == row.support_vectors * row.dims
        assert row.kernel_us_per_px == pytest.approx(cost["kernel_us_per_px"])
        # the variant's map is the map of its bundle
        record = json.loads((out / "experiment.json").read_text())["records"][row.variant]
        bundle = load_bundle(out / "cache" / record["bundle"])
        expected = predict_map(cube, bundle).classes.values
        np.testing.assert_array_equal(_classes(out / "maps" / row.variant / "classes.tif"),
                                      expected)

    markdown = (out / "table.md").read_text()
    assert "| multiclass | " in markdown and "| ova | " in markdown
    page = (out / "table.html").read_text()
    assert "<script>" in page and "http" not in page.replace("http-equiv", "")
    assert page.count('<tr><td>multiclass</td>') == 2  # the variants and the agreement table
    oa = float(table.loc[0, "OA"])
    assert f'data-value="{oa!r}"' in page

    # the map comparison: agreement matrix, compare-maps of ova against multiclass
    a, b = (_classes(out / "maps" / name / "classes.tif") for name in ("multiclass", "ova"))
    agreement = pd.read_csv(out / "agreement.csv", index_col="variant")
    np.testing.assert_array_equal(np.diag(agreement.to_numpy()), [1.0, 1.0])
    found = compare_maps(a, b, class_table=CLASS_TABLE).overall_agreement
    assert agreement.loc["multiclass", "ova"] == agreement.loc["ova", "multiclass"] == found
    summary = json.loads((out / "compare" / "multiclass__ova" / "summary.json").read_text())
    assert summary["overall_agreement"] == found and 0.5 < found < 1.0
    assert table.loc[1, "agreement"] == pytest.approx(found)
    distribution = pd.read_csv(out / "distribution.csv")
    for name, layer in (("multiclass", a), ("ova", b)):
        shares = class_distribution(layer, class_table=CLASS_TABLE)["percent"].to_numpy()
        np.testing.assert_allclose(distribution[name].to_numpy(), shares)
    assert (out / "distribution.png").stat().st_size > 0
    assert (out / "compare" / "multiclass__ova" / "disagreement.png").is_file()

    # a rerun trains and maps nothing; a lost record retrains that variant alone
    stamp = (out / "maps" / "ova" / "classes.tif").stat().st_mtime_ns
    main(["experiment", str(config)])
    err = capsys.readouterr().err
    assert "2 variant(s) up to date in the cache, skipped" in err
    assert "trained" not in err.replace("0 trained", "") and "mapped" not in err
    assert pd.read_csv(out / "table.csv")["status"].tolist() == ["cached", "cached"]
    assert (out / "maps" / "ova" / "classes.tif").stat().st_mtime_ns == stamp
    record = json.loads((out / "experiment.json").read_text())["records"]["ova"]
    (out / "cache" / f"{record['key']}.json").unlink()
    main(["experiment", str(config)])
    err = capsys.readouterr().err
    assert "training 1 variant(s)" in err and "trained ova" in err
    assert pd.read_csv(out / "table.csv")["OA"].tolist() == table["OA"].tolist()


def test_shared_selection_and_calls_give_the_models_of_separate_runs(tmp_path, sample_file):
    """PCA variants share one feature selection; the forest rides along with the SVM of
    the same call: every figure equals a train_model run of the variant alone."""
    config = validate_config({
        "samples": str(sample_file), "output": str(tmp_path / "exp"),
        "train": {**TRAIN, "selection": "multicollinearity", "rf_trees": 20},
        "grid": {"pca": ["none", "variance"], "classifier": ["multiclass", "random_forest"]},
    }, ExperimentConfig)
    lines = []
    result = run_experiment(config, echo=lines.append)
    assert "training 4 variant(s) in 2 call(s), 1 on a shared feature selection" in lines[1]
    records = result.records
    assert records["pca_variance-multiclass"]["selection_from"] == "no_pca-multiclass"
    assert records["no_pca-multiclass"]["trained_with"] == ["no_pca-random_forest"]
    table = result.table.set_index("variant")
    for pca in ("none", "variance"):
        direct = _direct(sample_file, selection="multicollinearity", rf_trees=20, pca=pca,
                         compare=["random_forest"])
        label = "no_pca" if pca == "none" else "pca_variance"
        svm, forest = table.loc[f"{label}-multiclass"], table.loc[f"{label}-random_forest"]
        assert records[f"{label}-multiclass"]["selected"] == direct.bundle.input_features
        assert svm["OA"] == direct.variants["svm_multiclass"]["test"]["overall_accuracy"]
        assert svm["support_vectors"] == direct.variants["svm_multiclass"]["n_support_vectors"]
        assert svm["dims"] == (direct.pca["n_components"] if direct.pca else svm["features"])
        assert forest["tree_nodes"] == direct.variants["random_forest"]["n_nodes"]
        assert forest["OA"] == direct.variants["random_forest"]["test"]["overall_accuracy"]
        assert np.isnan(forest["kernel_us_per_px"])


def test_variants_run_on_a_dask_distributed_cluster(tmp_path, sample_file):
    from distributed import Client, LocalCluster

    config = validate_config({"samples": str(sample_file), "output": str(tmp_path / "exp"),
                              "train": TRAIN, "grid": {"calibration": ["isotonic", "sigmoid"]}},
                             ExperimentConfig)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        result = run_experiment(config, client=client, echo=_quiet)
    assert result.trained == ["calibration_isotonic", "calibration_sigmoid"]
    direct = _direct(sample_file, calibration="sigmoid", compare=[])
    assert result.table.loc[1, "ECE"] == direct.variants["svm_multiclass"]["test"]["ece"]


def test_variant_scores_reads_old_and_new_result_keys():
    block = {"test": {"overall_accuracy": 0.9, "macro_f1": 0.8, "ece": None},
             "n_support_vectors": 12, "fit_seconds": None}
    assert variant_scores({"svm_multiclass_uncalibrated": block},
                          "multiclass_uncalibrated")["n_support_vectors"] == 12
    assert variant_scores({"multiclass": block}, "multiclass")["overall_accuracy"] == 0.9
    forest = variant_scores({"random_forest": {"test": {"overall_accuracy": 1.0},
                                               "n_nodes": 77}}, "random_forest")
    assert forest["n_nodes"] == 77 and forest["n_support_vectors"] is None
    with pytest.raises(HrlcError, match="no block for classifier 'ova'.*svm_multiclass"):
        variant_scores({"svm_multiclass": block}, "ova")


def test_mapping_cost_formula():
    cost = mapping_cost(2945, 102)
    assert cost["kernel_MACs_per_px"] == 2945 * 102
    # 3.2 ns per kernel value at 102 dims (docs/map.md): 9.4 µs per pixel
    assert cost["kernel_us_per_px"] == pytest.approx(2945 * (1.23 + 0.0194 * 102) / 1000)
    assert cost["tile_cpu_min"] == pytest.approx(cost["kernel_us_per_px"] * 10980**2 / 6e7)
    assert mapping_cost(None, 10)["kernel_us_per_px"] is None


def test_grid_names_and_validation():
    base = {"samples": "s.parquet", "output": "out"}
    config = validate_config({**base, "grid": {"selection": ["none", "rfecv"], "pca": [
        "variance"], "classifier": ["ova", "random_forest"]}}, ExperimentConfig)
    variants = config.variants()
    assert [v.name for v in variants] == ["no_selection-ova", "no_selection-random_forest",
                                          "selection_rfecv-ova", "selection_rfecv-random_forest"]
    # the RandomForest can be a bundle's classifier too (its trees as arrays)
    assert [v.role for v in variants] == ["bundle", "bundle"] * 2
    assert variants[2].options["selection"] == "rfecv" and variants[2].options["pca"] == "variance"
    assert validate_config(base, ExperimentConfig).variants()[0].name == "base"
    bad = [({"grid": {"kernel": ["rbf"]}}, "grid.kernel: not a training option"),
           ({"grid": {"features": [["a"]]}}, "use grid.preset"),
           ({"grid": {"pca": ["none", "bogus"]}}, "grid combination pca='bogus'"),
           ({"grid": {"classifier": ["svm"]}}, "unknown classifier 'svm'"),
           ({"grid": {"pca": []}}, "grid.pca is empty"),
           ({"grid": {"preset": ["spectral"]}}, "unknown preset(s) ['spectral']"),
           ({"train": {"compare": ["ova"]}}, "list the classifiers in grid.classifier"),
           ({"features": "a.zarr", "composites": ["b.tif"]}, "not both")]
    for extra, message in bad:
        with pytest.raises(ConfigError) as error:
            validate_config({**base, **extra}, ExperimentConfig, source="x.yaml")
        assert message in str(error.value)


def test_presets_select_columns_of_the_table(tmp_path, sample_file, capsys):
    config = {"samples": str(sample_file), "output": str(tmp_path / "exp"), "train": TRAIN,
              "feature_sets": {"informative": ["f[0-4]"], "none_such": ["ndvi_*"]}}
    run = validate_config({**config, "grid": {"preset": ["extended", "informative"]}},
                          ExperimentConfig)
    result = run_experiment(run, echo=_quiet)
    assert result.records["informative"]["options"]["features"] == [f"f{i}" for i in range(5)]
    assert len(result.records["extended"]["options"]["features"]) == 13
    for preset, error, message in (
            ("reference", InputError, "lacks 167 of the reference preset's 167 features"),
            ("none_such", ConfigError, "feature_sets.none_such: ['ndvi_*'] match no feature")):
        run = validate_config({**config, "grid": {"preset": [preset]}}, ExperimentConfig)
        with pytest.raises(error, match=message.replace("[", r"\[").replace("*", r"\*")):
            run_experiment(run, echo=_quiet)


def test_cli_errors_are_one_line(tmp_path, sample_file, capsys):
    config = _yaml(tmp_path, f"""\
        samples: {sample_file}
        output: {tmp_path / 'exp'}
        grid: {{pca: [none, elbows]}}
        """)
    with pytest.raises(SystemExit) as stopped:
        main(["experiment", str(config)])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and err.count("\n") == 1
    assert "grid combination pca='elbows'" in err and "'pca'" in err

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep")
    run = validate_config({"samples": str(sample_file), "output": str(tmp_path / "notes"),
                           "train": TRAIN}, ExperimentConfig)
    with pytest.raises(FolderOwnershipError, match="not an experiment's"):
        run_experiment(run, echo=_quiet)
    assert (tmp_path / "notes" / "mine.txt").read_text() == "keep"


def test_a_failed_variant_is_marked_and_named(tmp_path, sample_file):
    run = validate_config({"samples": str(sample_file), "output": str(tmp_path / "exp"),
                           "train": TRAIN, "grid": {"cv_folds": [2, 400]}}, ExperimentConfig)
    with pytest.raises(HrlcError, match="1 of 2 variants failed.*cv_folds_400: "
                                        "TrainingDataError"):
        run_experiment(run, echo=_quiet)
    table = pd.read_csv(tmp_path / "exp" / "table.csv")
    assert table["status"].iloc[0] == "trained"
    assert table["status"].iloc[1].startswith("failed: TrainingDataError")
    assert np.isnan(table["OA"].iloc[1])


def test_example_config_is_valid():
    from pathlib import Path

    from hrlc.config import load_config

    config = load_config(Path(__file__).parents[1] / "configs" / "experiment.yaml",
                         ExperimentConfig)
    variants = config.variants()
    assert len(variants) == 16 and config.maps and config.train.n_jobs == 1
    assert variants[0].name == "extended-no_selection-no_pca-multiclass"
    assert variants[-1].name == "bands-selection_multicollinearity-pca_variance-ova"


_DOM = """
const cell = (t) => ({textContent: t.text, dataset: t.value === undefined ? {} : {value: t.value}});
const body = {rows: ROWS.map((r) => ({cells: r.map(cell)})),
              appendChild(r) { this.rows = this.rows.filter((x) => x !== r).concat([r]); }};
const ths = ROWS[0].map((_, i) => ({cellIndex: i, dataset: {}, closest: () => ({tBodies: [body]}),
  addEventListener(_, f) { this.click = f; }}));
global.document = {querySelectorAll: () => ths};
SCRIPT
const order = [];
for (const i of CLICKS) {
  ths[i].click();
  order.push(body.rows.map((r) => r.cells[0].textContent));
}
console.log(JSON.stringify(order));
"""


@pytest.mark.skipif(__import__("shutil").which("node") is None, reason="node.js not installed")
def test_html_table_sorts_by_a_clicked_column():
    """The page's script, run by node.js on the cells the page holds: numbers by their
    exact value (missing last), then reversed, text alphabetically."""
    import re
    import subprocess

    from hrlc.pipeline.experiment_files import _SORT_JS, _html_rows
    from hrlc.report.html import table as html_table

    frame = pd.DataFrame({"variant": ["b", "a", "c", "d"], "OA": [0.9, np.nan, 0.95, 0.1]})
    page = html_table(list(frame.columns), _html_rows(frame), id="t")
    cells = [{"text": text, **dict(re.findall(r'data-(value)="([^"]*)"', attributes))}
             for attributes, text in re.findall(r"<td([^>]*)>([^<]*)</td>", page)]
    rows = [cells[i:i + 2] for i in range(0, len(cells), 2)]
    script = (_DOM.replace("ROWS", json.dumps(rows)).replace("SCRIPT", _SORT_JS)
              .replace("CLICKS", "[1, 1, 0]"))
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [["d", "b", "c", "a"], ["a", "c", "b", "d"],
                                       ["a", "b", "c", "d"]]
