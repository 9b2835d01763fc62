"""hrlc run: stages in order, resolved configs, manifest, resume, failure, LocalCluster."""

import json

import numpy as np
import pytest
import rasterio
import yaml

from hrlc.cli import main
from hrlc.compute import RunCluster
from hrlc.config.run import RunConfig
from hrlc.errors import HrlcError
from hrlc.io import read_zarr
from hrlc.io.safe_writer import write_series
from hrlc.pipeline import content_checksum, run_chain
from hrlc.simulate import simulate_series


@pytest.fixture(scope="module")
def season(tmp_path_factory):
    folder = tmp_path_factory.mktemp("season")
    series = simulate_series(size=126, dates=4, seed=3, start="2019-04-01", chunks=126)
    write_series(series, folder, format="geotiff")
    return folder


def _config(season, out, **extra):
    data = {"output": str(out), "sources": [str(season)], "chunks": 64,
            "dem": str(season / "truth" / "dem.tif"),
            "stages": ["masks", "composite", "restore", "features"],
            "features": {"glcm_textures": ["contrast"], "index_months": []}}
    data.update(extra)
    return RunConfig.model_validate(data)


#: The compute block of the threaded run: every stage must take it from its config.
THREADS = {"scheduler": "threads", "memory_limit": "3GB", "threads_per_worker": 2}


def _rasters(folder) -> dict:
    """{relative path: values} of every GeoTIFF below ``folder``."""
    found = {}
    for path in sorted(folder.rglob("*.tif")):
        with rasterio.open(path) as src:
            found[str(path.relative_to(folder))] = src.read()
    return found


@pytest.fixture(scope="module")
def threaded_run(season, tmp_path_factory):
    """The four stages on threads, run once for this module: (run folder, the run's
    lines, its manifest, {"masks": mask rasters, "composites": values}). The folder is
    test_run_writes_outputs_configs_and_manifest_then_resumes's, which resumes and changes
    it; other tests take only the values read here, before any test ran in it."""
    out = tmp_path_factory.mktemp("threads") / "run"
    lines = []
    manifest = run_chain(_config(season, out, compute=THREADS), echo=lines.append)
    values = {"masks": _rasters(out / "masks"),
              "composites": read_zarr(out / "composites.zarr", name="reflectance").values}
    return out, lines, manifest, values


@pytest.mark.slow
def test_run_writes_outputs_configs_and_manifest_then_resumes(season, threaded_run):
    out, lines, manifest, _ = threaded_run
    lines = list(lines)
    assert [line.split("]")[0][1:] for line in lines] == ["masks", "composite", "restore",
                                                          "features", "report"]
    for name in ("masks", "composite", "restore", "features"):  # every stage, from its config
        assert {k: manifest["stages"][name]["compute"][k] for k in THREADS} == THREADS
        assert "--scheduler" not in " ".join(lines)
    assert lines[-1] == f"[report] {out / 'report.html'}"
    page = (out / "report.html").read_text()
    assert "manifest" in page.lower() and f"{manifest['config_hash']}" in page
    for name in ("masks", "composite", "restore", "features"):
        record = manifest["stages"][name]
        assert record["status"] == "done" and record["seconds"] > 0
        assert record["peak_rss_mb"] > 50  # a child process of its own, measured
        assert (out / "configs" / f"{name}.yaml").exists()
    features = read_zarr(out / "features.zarr")
    assert "glcm_contrast_B08" in features.feature.values and features.sizes["y"] == 126
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk["config_hash"] == manifest["config_hash"]
    assert {s["processing_baseline"] for s in on_disk["scenes"]} >= {"05.09"}
    assert on_disk["seeds"]["masks"] == 0 and on_disk["software"]["hrlc"]
    assert on_disk["stages"]["features"]["outputs"][0] == content_checksum(out / "features.zarr")

    lines.clear()
    run_chain(_config(season, out, compute=THREADS), echo=lines.append)
    assert lines[:-1] == [f"[{s}] up to date, skipped" for s in
                          ("masks", "composite", "restore", "features")]

    lines.clear()
    changed = _config(season, out, composite={"method": "quantile", "quantile": 0.4},
                      compute=THREADS)
    run_chain(changed, echo=lines.append)
    assert lines[0] == "[masks] up to date, skipped"
    assert [line.split("]")[0][1:] for line in lines[1:]] == ["composite", "restore", "features",
                                                              "report"]


def test_restart_redoes_a_finished_run_in_its_own_folder(season, tmp_path):
    out = tmp_path / "run"
    config = _config(season, out, stages=["masks"])
    first = run_chain(config, echo=lambda _: None)
    lines = []
    again = run_chain(config, restart=True, echo=lines.append)
    assert lines[0].startswith("[masks] hrlc masks")  # recomputed, not skipped
    assert again["stages"]["masks"]["status"] == "done"
    assert again["stages"]["masks"]["outputs"] == first["stages"]["masks"]["outputs"]
    assert set(first["owned"]) <= set(again["owned"])


def test_failed_stage_is_recorded_and_reported(season, tmp_path):
    out = tmp_path / "run"
    config = _config(season, out, stages=["masks", "composite"], bands=["B02", "B99"])
    with pytest.raises(HrlcError, match="stage 'composite' failed.*rerun"):
        run_chain(config, echo=lambda _: None)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"]["masks"]["status"] == "done"
    assert manifest["stages"]["composite"]["status"] == "failed"
    assert not (out / "composites.zarr").exists()
    assert "failed (exit code" in (out / "report.html").read_text()  # the report says so


@pytest.mark.slow
def test_local_cluster_run_matches_threads(season, threaded_run, tmp_path, monkeypatch):
    # masks and composite on a LocalCluster of 2 worker processes, against the same two
    # stages of the threaded run (the same stage configs but compute; restore and features
    # come after them there and change neither)
    threads = threaded_run[3]
    config = _config(season, tmp_path / "local", stages=["masks", "composite"],
                     compute={"scheduler": "local", "n_workers": 2, "memory_limit": "1GB"})
    # the tasks the run's cluster had run before each stage started, and at its close: both
    # stages ran theirs on it (a stage that started a cluster of its own would add none)
    tasks_done = []
    for method in ("environment", "close"):
        original = getattr(RunCluster, method)

        def spy(self, original=original):
            if self.cluster is not None:
                tasks_done.append(self.cluster.scheduler.transition_counter)
            return original(self)

        monkeypatch.setattr(RunCluster, method, spy)
    manifest = run_chain(config, echo=lambda _: None)
    assert len(tasks_done) == 2 and 0 < tasks_done[0] < tasks_done[1]  # masks, composite
    assert manifest["stages"]["composite"]["compute"]["scheduler"] == "local"
    local = read_zarr(tmp_path / "local" / "composites.zarr", name="reflectance").values
    np.testing.assert_array_equal(threads["composites"], local)
    masks = _rasters(tmp_path / "local" / "masks")
    assert masks.keys() == threads["masks"].keys() and masks
    for name, values in masks.items():
        np.testing.assert_array_equal(values, threads["masks"][name], err_msg=name)


def test_cli_run_and_info_on_the_run_folder(season, tmp_path, capsys):
    config = _config(season, tmp_path / "run", stages=["masks"])
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(path)])
        raise SystemExit(0)
    assert exit_info.value.code == 0
    assert "masks" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["info", str(tmp_path / "run"), "--json"])
        raise SystemExit(0)
    out = capsys.readouterr().out
    manifest = json.loads(out)
    assert manifest["stages"]["masks"]["status"] == "done"


def test_unknown_key_in_a_stage_section_is_refused(tmp_path):
    from hrlc.config import load_config
    from hrlc.errors import ConfigError

    path = tmp_path / "run.yaml"
    path.write_text("sources: [x]\nmasks:\n  quantil: 0.2\n")
    with pytest.raises(ConfigError, match="unknown key 'masks.quantil'.*quantile"):
        load_config(path, RunConfig)


def test_features_read_what_the_configuration_says_not_a_stale_store(season, tmp_path):
    """Dropping restore from the stages with an old restored.zarr on disk: features read
    the composites, as configured, not the stale store."""
    from hrlc.pipeline import plan

    out = tmp_path / "run"
    (out / "restored.zarr").mkdir(parents=True)
    steps = {s.name: s for s in plan(_config(season, out, stages=[
        "masks", "composite", "features"]), out)}
    assert steps["features"].config["composites"] == [str(out / "composites.zarr")]
    assert out / "restored.zarr" not in steps["features"].inputs
    steps = {s.name: s for s in plan(_config(season, out, stages=["features"]), out)}
    assert steps["features"].config["composites"] == [str(season)]

