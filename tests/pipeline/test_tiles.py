"""hrlc run: --from/--until, and several tiles in one config sharing one model."""

import json

import numpy as np
import pytest
import rasterio
import yaml

from hrlc.cli import main
from hrlc.config.run import RunConfig
from hrlc.errors import ConfigError, InputError
from hrlc.pipeline import content_checksum, run_chain
from hrlc.testing import bundled_aber
from tests.reliability.conftest import ABER_WINDOW, aber_run


def _tiles(out, **extra) -> dict:
    """The Aberystwyth scene as two tiles: 'north' (with labels) provides the model,
    'south' (without labels) is mapped with it; both are a window of the scene."""
    data = aber_run(out, aoi=ABER_WINDOW)
    data.update(tiles={"north": {}, "south": {"sources": [str(bundled_aber())],
                                              "polygons": None}},
                model_from="north", **extra)
    return data


def _ran(lines) -> list[str]:
    return [line.split(" hrlc ")[0] for line in lines if " hrlc " in line]


def _classes(path):
    with rasterio.open(path / "map" / "classes.tif") as src:
        return src.read(1)


def _probabilities(path):
    with rasterio.open(path / "map" / "probabilities.tif") as src:
        return src.read()


@pytest.fixture(scope="module")
def window_run(tmp_path_factory):
    """A run of :data:`ABER_WINDOW` without tiles, made once for this module stage by
    stage with --from and --until: (run folder, one record per step: its lines, its
    manifest, and which of dataset/ and map/ existed after it).

    test_from_until_run_only_the_selected_stages checks the steps; the other tests only
    read the finished folder: the map that a tile of the window must give, whether it
    runs alone or beside another tile. A tile's stage configurations are this run's but
    for the output folder, and the same configuration gives the same map in any folder
    and whether its stages ran in one go or not (fixed seeds; checked when this replaced
    a second run of the tiles one after another: east and west run with parallel_tiles 1
    gave classes, probabilities and confidence byte-identical to those of a run in one go,
    and so did this run)."""
    out = tmp_path_factory.mktemp("window") / "run"
    run = RunConfig.model_validate(aber_run(out, aoi=ABER_WINDOW))
    steps = []
    for options in ({"until_stage": "features"}, {"from_stage": "dataset", "until_stage": "train"},
                    {"from_stage": "map", "restart": True}, {"from_stage": "train"}):
        lines = []
        manifest = run_chain(run, echo=lines.append, **options)
        steps.append({"lines": lines, "manifest": manifest, "dataset": (out / "dataset").exists(),
                      "map": (out / "map").exists()})
    return out, steps


def test_tile_inherits_the_run_and_drops_training_when_sharing(tmp_path):
    run = RunConfig.model_validate(_tiles(tmp_path / "out", dem="dem.tif"))
    south, north = run.tile("south"), run.tile("north")
    assert south.output == f"{tmp_path / 'out'}/south" and south.polygons is None
    assert south.stages == ["features", "map"] and south.dem == "dem.tif"
    assert north.stages == ["features", "dataset", "train", "map"]
    assert north.polygons.path == run.polygons.path and north.tiles is None


@pytest.mark.parametrize(("change", "message"), [
    ({"tiles": {"a/b": {}}}, r"tiles: 'a/b' is not a safe folder name"),
    ({"tiles": {"..": {}}}, r"tiles: '..' is not a safe folder name"),
    ({"model_from": "east"}, r"model_from: 'east' is not a tile; choose one of: north, south"),
    ({"tiles": {"north": {"polygons": None}, "south": {}}},
     r"tiles.north: no labels to train with; give 'polygons' or 'lc_maps'"),
    ({"model_from": None}, r"tiles.south: no labels.*or share a model with model_from"),
])
def test_tile_config_errors_name_the_key(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.model_validate({**_tiles(tmp_path), **change})


def test_model_from_needs_tiles_and_sources_are_required(tmp_path):
    with pytest.raises(ConfigError, match="model_from: 'north' needs 'tiles'"):
        RunConfig.model_validate({**aber_run(tmp_path), "model_from": "north"})
    with pytest.raises(ConfigError, match="missing required key 'sources'"):
        RunConfig.model_validate({"output": str(tmp_path)})


@pytest.mark.parametrize(("options", "message"), [
    ({"from_stage": "mask"}, r"--from 'mask' is not a stage of this run; choose one of: "
                             r"features, dataset, train, map"),
    ({"until_stage": "restore"}, r"--until 'restore' is not a stage"),
    ({"from_stage": "train", "until_stage": "dataset"},
     r"--from 'train' comes after --until 'dataset'.*features, dataset, train, map"),
])
def test_from_until_usage_errors_list_the_stages(tmp_path, options, message):
    with pytest.raises(ConfigError, match=message):
        run_chain(RunConfig.model_validate(aber_run(tmp_path / "out")), **options)
    assert not (tmp_path / "out").exists()


def test_from_needs_the_outputs_of_earlier_stages(tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(InputError, match=rf"stage 'dataset' needs {out / 'features.zarr'}, "
                                         r"which stage 'features' makes.*--from features"):
        run_chain(RunConfig.model_validate(aber_run(out)), from_stage="dataset")
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(_tiles(out)))
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(path), "--from", "bogus"])
    assert exit_info.value.code == 2
    assert "--from 'bogus' is not a stage" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # every tile is checked before any runs
        main(["run", str(path), "--from", "map"])
    assert exit_info.value.code == 2
    assert f"needs {out / 'north' / 'model' / 'model.npz'}, which stage 'train'" in \
        capsys.readouterr().err


@pytest.mark.slow
def test_from_until_run_only_the_selected_stages(window_run):
    out, (until_features, dataset_to_train, map_again, from_train) = window_run
    assert _ran(until_features["lines"]) == ["[features]"] and not until_features["dataset"]
    manifest = dataset_to_train["manifest"]
    assert _ran(dataset_to_train["lines"]) == ["[dataset]", "[train]"]
    assert not dataset_to_train["map"]
    assert set(manifest["stages"]) == {"features", "dataset", "train"}
    features = manifest["stages"]["features"]
    assert _ran(map_again["lines"]) == ["[map]"]
    assert map_again["manifest"]["stages"]["features"] == features  # kept, not redone
    assert from_train["lines"][:2] == ["[train] up to date, skipped",
                                       "[map] up to date, skipped"]
    assert np.isin(np.unique(_classes(out)), [1, 2, 3, 4]).all()


@pytest.mark.slow
def test_tiles_share_the_model_of_one_tile(tmp_path, window_run):
    window = window_run[0]
    out, lines = tmp_path / "out", []
    manifest = run_chain(RunConfig.model_validate(_tiles(out)), echo=lines.append)
    assert _ran(lines) == ["north [features]", "north [dataset]", "north [train]",
                           "north [map]", "south [features]", "south [map]"]
    bundle = out / "north" / "model" / "model.npz"
    assert list(manifest["tiles"]) == ["north", "south"]
    assert {t["status"] for t in manifest["tiles"].values()} == {"done"}
    assert manifest["tiles"]["south"]["model"] == str(bundle)
    assert json.loads((out / "manifest.json").read_text())["format"] == "hrlc-run-tiles"
    south = json.loads((out / "south" / "manifest.json").read_text())
    assert set(south["stages"]) == {"features", "map"} and south["tile"] == "south"
    assert south["stages"]["map"]["shared_inputs"] == [content_checksum(bundle)]
    assert yaml.safe_load((out / "south" / "configs" / "map.yaml").read_text())["bundle"] == \
        str(bundle)
    assert not (out / "south" / "model").exists() and (out / "south" / "report.html").exists()
    # the same scene and the same model: the same map, in two folders, and the map of the
    # same window run without tiles
    np.testing.assert_array_equal(_classes(out / "south"), _classes(out / "north"))
    np.testing.assert_array_equal(_classes(out / "north"), _classes(window))
    from rich.console import Console

    from hrlc.cli.info import print_manifest
    from hrlc.errors import InputError
    from hrlc.pipeline.report import write_run_report

    console = Console(record=True, width=200)
    print_manifest(json.loads((out / "manifest.json").read_text()), console)
    text = console.export_text()
    assert "tile north: done" in text and "tile south: done" in text and "map" in text
    with pytest.raises(InputError, match="run with tiles.*south/report.html"):
        write_run_report(out)

    lines.clear()
    run_chain(RunConfig.model_validate(_tiles(out)), echo=lines.append)
    assert _ran(lines) == [] and sum("up to date, skipped" in line for line in lines) == 6

    lines.clear()
    retrain = _tiles(out)
    retrain["train"] = {**retrain["train"], "C": [100]}
    run_chain(RunConfig.model_validate(retrain), echo=lines.append)
    assert _ran(lines) == ["north [train]", "north [map]", "south [map]"]
    south = json.loads((out / "south" / "manifest.json").read_text())
    assert south["stages"]["map"]["shared_inputs"] == [content_checksum(bundle)]


def test_tiles_run_side_by_side_and_give_the_maps_of_one_after_another(tmp_path, window_run):
    """Two tiles with models of their own, parallel_tiles: 2: their stages overlap in time
    and each map equals the one of a run of that tile alone."""
    window = window_run[0]
    data = _tiles(tmp_path / "side", parallel_tiles=2)
    data.update(model_from=None, tiles={"east": {}, "west": {}})
    lines = []
    manifest = run_chain(RunConfig.model_validate(data), echo=lines.append)
    assert {t["status"] for t in manifest["tiles"].values()} == {"done"}
    spans = {}
    for name in ("east", "west"):
        stages = json.loads((tmp_path / "side" / name / "manifest.json").read_text())["stages"]
        assert list(stages) == ["features", "dataset", "train", "map"]
        spans[name] = (min(s["started"] for s in stages.values()),
                       max(s["started"] + s["seconds"] for s in stages.values()))
    (a0, a1), (b0, b1) = spans.values()
    assert a0 < b1 and b0 < a1, f"the tiles ran one after another: {spans}"
    # each tile's stages still ran in order
    for name in ("east", "west"):
        assert [line.split(" hrlc ")[0] for line in lines if line.startswith(name)
                and " hrlc " in line] == [f"{name} [{s}]" for s in
                                          ("features", "dataset", "train", "map")]
    # a run of that tile alone: both tiles are the window in the configuration of
    # window_run, which gives the map of those tiles run one after another (see there)
    for name in ("east", "west"):
        np.testing.assert_array_equal(_classes(tmp_path / "side" / name), _classes(window))
        np.testing.assert_array_equal(_probabilities(tmp_path / "side" / name),
                                      _probabilities(window))


def test_a_failing_tile_fails_the_run_and_is_recorded(tmp_path):
    # the bad tile fails at once, before any stage (its output is inside its source
    # folder), as the good one starts: two stages are enough to see the good one go on to
    # its next stage and finish instead of stopping with the run (train and map, two more
    # stages after it, add nothing to that)
    data = _tiles(tmp_path / "out", parallel_tiles=2, stages=["features", "dataset"])
    data.update(model_from=None, tiles={"good": {}, "bad": {"sources": [str(tmp_path)]}})
    with pytest.raises(Exception, match="bad|features"):
        run_chain(RunConfig.model_validate(data), echo=lambda _: None)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["tiles"]["bad"]["status"] == "failed"
    assert manifest["tiles"]["good"]["status"] == "done"  # it ran beside the bad one
    assert manifest["tiles"]["good"]["stages"] == {"features": "done", "dataset": "done"}
