"""A small real run (the bundled Aberystwyth scene: features, dataset, train, map) and
the outputs of one uninterrupted run, to compare interrupted and repaired runs with."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml

from hrlc.config.run import RunConfig
from hrlc.io import read_zarr
from hrlc.pipeline import run_chain
from hrlc.pipeline.child import stage_name
from hrlc.testing import bundled, bundled_aber
from tests.mapping.conftest import (  # noqa: F401  (fixtures of both modules: a bundle, its cube)
    bundle,
    bundle_file,
    bundles,
    cube,
    feature_names,
    table,
)


#: A 600 x 600 px window of the Aberystwyth scene (British National Grid) that holds at
#: least 3 training polygons of each of its 4 classes (the water ones in one group of
#: spatial blocks: its runs take polygons as cross-validation groups): for tests that run
#: many chains.
ABER_WINDOW = {"bbox": [257_070.6, 278_228.7, 263_070.6, 284_228.7], "crs": "EPSG:27700"}


def aber_run(out, *, stages=("features", "dataset", "train", "map"), aoi=None) -> dict:
    """The cheapest whole run on real data: no textures, one SVM with one calibration
    (sigmoid) and no class-weight choice, 300 training samples; only the area ``aoi``
    (e.g. :data:`ABER_WINDOW`) if given. The tests that use it check how runs resume,
    share and compare, not how a model is chosen: ``calibration: auto`` and
    ``class_weight: auto`` (about 1 CPU-s more per train stage) are the model tests'."""
    layers = {f"cls_{name}_smpls": name for name in ("forest", "grass", "urban", "water")}
    return {**({"read": {"aoi": aoi}} if aoi else {}),
        "output": str(out), "sources": [str(bundled_aber())], "chunks": 256,
        "stages": list(stages), "classes": str(bundled("aber", "classes.yaml")),
        "polygons": {"path": str(bundled("aber", "training_polygons_aber.gpkg")),
                     "layers": layers},
        "features": {"glcm_textures": [], "index_months": []},
        "train": {"C": [10], "gamma_factors": [1.0], "compare": [], "cv_folds": 2,
                  "max_train_samples": 300, "n_jobs": 1, "selection": "none",
                  "calibration": "sigmoid", "class_weight": "none",
                  **({"cv_groups": "polygon"} if aoi else {})},
    }


def stages_of(run_pid: int, name: str | None = None) -> list:
    """The stage processes (psutil) of the ``hrlc run`` with pid ``run_pid``, or only
    stage ``name``: forked by the run's launcher (process name "hrlc NAME") or started as
    ``python -m hrlc NAME``."""
    import psutil

    found = []
    for process in psutil.Process(run_pid).children(recursive=True):
        try:
            title, argv = process.name(), process.cmdline()
        except psutil.NoSuchProcess:
            continue
        stage = stage_name(title, argv)
        if stage is None:
            continue
        if name is None or stage == name:
            found.append(process)
    return found


def hrlc_code(*args) -> int:
    """``hrlc ARGS`` in this process: its exit code. The stages of a run are forked by this
    worker's stage launcher and write to file descriptors 1 and 2: read them with ``capfd``."""
    from hrlc.cli import main

    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return 0 if exc.code is None else exc.code
    return 0


def write_run_yaml(path, data: dict):
    path.write_text(yaml.safe_dump(data))
    return path


def outputs_of(out) -> dict:
    """The values of a run's outputs that exist (features, samples, map layers)."""
    found = {}
    if (out / "features.zarr").exists():
        found["features"] = read_zarr(out / "features.zarr").values
    if (out / "dataset" / "samples.parquet").exists():
        found["samples"] = pd.read_parquet(out / "dataset" / "samples.parquet")
    for name in ("classes", "probabilities"):
        if (out / "map" / f"{name}.tif").exists():
            with rasterio.open(out / "map" / f"{name}.tif") as src:
                found[name] = src.read()
    return found


def assert_same_outputs(got: dict, expected: dict) -> None:
    assert set(got) <= set(expected) and got
    for key, value in got.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(value, expected[key])
        else:
            np.testing.assert_array_equal(value, expected[key], err_msg=key)


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory):
    """One uninterrupted run: (run folder, its config dict, its output values)."""
    out = tmp_path_factory.mktemp("clean") / "run"
    data = aber_run(out)
    run_chain(RunConfig.model_validate(data), echo=lambda _: None)
    return out, data, outputs_of(out)
