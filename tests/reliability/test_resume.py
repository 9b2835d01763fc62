"""``hrlc run`` resumes safely: a damaged intermediate is found by its checksum and
recomputed; Ctrl-C and a killed stage leave no partial file under a final name."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pandas as pd
import psutil
import pytest
import rasterio

from hrlc.config.run import RunConfig
from hrlc.io import read_zarr
from hrlc.pipeline import run_chain
from hrlc.pipeline.child import stage_name

from .conftest import (ABER_WINDOW, aber_run, assert_same_outputs, outputs_of, run_beside,
                       run_signalled_mid_stage, stages_of, until, write_run_yaml)

pytestmark = pytest.mark.slow


def _leftovers(out) -> list:
    """Names of the outermost temporary entries under ``out`` (a zarr store killed while
    writing may hold temporary files of zarr's own inside its temporary folder)."""
    found = {*out.rglob(".*.partial*"), *out.rglob(".*.old-*")}
    return sorted(p.name for p in found if not any(parent in found for parent in p.parents))


def _assert_final_files_open(out) -> None:
    """Every file or store under a final (not hidden) name is complete: it opens and reads."""
    for path in out.rglob("*"):
        if any(part.startswith(".") for part in path.relative_to(out).parts):
            continue
        if path.suffix == ".zarr":
            read_zarr(path).values
        elif path.suffix == ".tif":
            with rasterio.open(path) as src:
                src.read()
        elif path.suffix == ".parquet":
            pd.read_parquet(path)
        elif path.suffix == ".json" and path.is_file():
            json.loads(path.read_text())


def _first_two_stages(tmp_path):
    """A run of the first two stages (features, dataset) of ``clean_run``, on its area,
    in ``tmp_path``: (run folder, config dict, config file)."""
    out = tmp_path / "run"
    data = aber_run(out, stages=("features", "dataset"), aoi=ABER_WINDOW)
    return out, data, write_run_yaml(tmp_path / "run.yaml", data)


def _rerun(data) -> list[str]:
    """The stage lines of a rerun (the run report's line left out)."""
    lines = []
    run_chain(RunConfig.model_validate(data), echo=lines.append)
    return [line for line in lines if not line.startswith("[report]")]


def test_damaged_outputs_are_found_by_checksum_and_recomputed(clean_run):
    out, data, expected = clean_run
    bundle = out / "model" / "model.npz"
    # same size, same modification time: only the content tells
    stat = bundle.stat()
    with open(bundle, "r+b") as handle:
        handle.seek(stat.st_size // 2)
        handle.write(b"\0" * 64)
    os.utime(bundle, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    lines = _rerun(data)
    assert lines[:3] == ["[features] up to date, skipped", "[dataset] up to date, skipped",
                         f"[train] output {bundle} changed since it was written (checksum); "
                         "recomputing"]
    assert lines[3].startswith("[train] hrlc train ")
    assert_same_outputs(outputs_of(out), expected)

    samples = out / "dataset" / "samples.parquet"
    with open(samples, "r+b") as handle:
        handle.truncate(samples.stat().st_size // 2)
    lines = _rerun(data)
    # the table comes out byte-identical, so the stages after it stay valid
    assert lines == ["[features] up to date, skipped",
                     f"[dataset] output {samples} changed since it was written (checksum); "
                     "recomputing", lines[2], "[train] up to date, skipped",
                     "[map] up to date, skipped"]
    assert lines[2].startswith("[dataset] hrlc dataset ")
    assert_same_outputs(outputs_of(out), expected)

    sidecar = out / "dataset" / "samples.json"  # a sidecar is an output like the table
    sidecar.unlink()
    lines = _rerun(data)
    assert lines[1] == f"[dataset] output {sidecar} is missing; recomputing"
    assert lines[2].startswith("[dataset] hrlc dataset ") and sidecar.exists()
    assert lines[3:] == ["[train] up to date, skipped", "[map] up to date, skipped"]

    (out / "map" / "classes.tif").unlink()
    assert _rerun(data)[3] == f"[map] output {out / 'map'} changed since it was written " \
                              "(checksum); recomputing"
    assert_same_outputs(outputs_of(out), expected)


def test_ctrl_c_mid_stage_then_the_rerun_resumes(clean_run, tmp_path, capfd):
    _, _, expected = clean_run
    # the stages' messages go to file descriptor 2, captured by capfd in a file that this
    # process reads again by its descriptor
    captured_err = Path(f"/proc/{os.getpid()}/fd/2")
    runs = []  # (run folder, config dict, config file) of each attempt

    def start(attempt):
        (tmp_path / f"attempt{attempt}").mkdir()
        runs.append(_first_two_stages(tmp_path / f"attempt{attempt}"))
        capfd.readouterr()
        # the dataset stage has opened its inputs and is computing the samples
        return runs[-1][2], lambda: b"features on" in captured_err.read_bytes()

    code, attempt = run_signalled_mid_stage(start, "dataset", signal.SIGINT)
    out, data, _ = runs[attempt]
    assert code == 130
    text, err = capfd.readouterr()
    assert "Traceback" not in err
    # one line: the stage's own (the run adds its note on stdout)
    assert [line for line in err.splitlines() if line.startswith("hrlc:")] == [
        "hrlc: interrupted; outputs written so far are complete, rerun to resume"]
    assert "[dataset] interrupted; finished stages are kept" in " ".join(text.split())
    manifest = json.loads((out / "manifest.json").read_text())
    assert {k: v["status"] for k, v in manifest["stages"].items()} == {
        "features": "done", "dataset": "interrupted"}
    # the stage got the interrupt itself and removed its temporary files
    assert _leftovers(out) == [] and not (out / "dataset" / "samples.parquet").exists()
    _assert_final_files_open(out)

    lines = _rerun(data)
    assert lines[0] == "[features] up to date, skipped" and lines[1].startswith("[dataset] hrlc")
    assert_same_outputs(outputs_of(out), expected)


def test_killed_stage_leaves_only_temporary_names_cleaned_by_the_rerun(clean_run, tmp_path,
                                                                       capfd):
    _, _, expected = clean_run
    out, data, config = _first_two_stages(tmp_path)
    # a thread kills the features stage once it writes chunks (the signal goes to the
    # stage, not to the run: the run can be this process, see :func:`run_beside`); not as
    # soon as the temporary store appears: zarr then empties it (mode "w": the folder
    # removed and made again), and a stage killed between the two leaves nothing
    killed = []

    def kill_the_writing_stage(run_over):
        if not until(lambda: any(out.glob(".features.zarr.partial-*/features/[0-9]*")),
                     run_over):
            return
        for stage in stages_of(os.getpid()):
            try:
                killed.append(stage_name(stage.name(), stage.cmdline()))
                stage.kill()
            except psutil.NoSuchProcess:
                killed.append("a stage that ended first")

    code = run_beside(config, kill_the_writing_stage)
    assert killed == ["features"], "the features stage was not seen writing, alone"
    assert code == 2
    err = capfd.readouterr().err
    assert err.splitlines()[-1] == (
        "hrlc: error: stage 'features' was killed by SIGKILL (out of memory, or stopped by "
        "the system); rerun the same command to resume: finished stages are not redone")
    assert not (out / "features.zarr").exists()
    # the stage's own lines (before the run's) say whether it was still writing
    assert _leftovers(out) and all(name.startswith(".features.zarr.partial-")
                                   for name in _leftovers(out)), err
    _assert_final_files_open(out)

    lines = _rerun(data)
    assert [line.split(" ")[1] for line in lines] == ["hrlc", "hrlc"]  # both stages ran
    assert _leftovers(out) == []
    assert_same_outputs(outputs_of(out), expected)
