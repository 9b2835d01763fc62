"""``hrlc run`` and the stages against a hostile user: a folder holding someone's files,
two runs on one folder, a full disk, odd outputs, a damaged manifest, an unreachable
scheduler, signals, empty input. Each case: the exit code, one line, and no file that was
there before changed (a checksum of the folder before and after)."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest
import yaml

from hrlc.io.lock import LOCK_NAME
from hrlc.io.safe_writer import write_series
from hrlc.simulate import simulate_series

from .conftest import stages_of

pytestmark = pytest.mark.slow  # each test runs hrlc in a child process, most a whole run


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    """Three small simulated GeoTIFF products of one tile."""
    folder = tmp_path_factory.mktemp("hostile") / "products"
    write_series(simulate_series(size=66, dates=3, seed=4, chunks=66), folder,
                 format="geotiff", clear_dates=0)
    return folder


def _tree(folder) -> dict:
    """{relative path: sha256} of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _hrlc(*args, cwd=None, limit_bytes=None, timeout=300):
    """``hrlc ARGS`` in a child process: (exit code, stdout, stderr)."""
    def limits():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    done = subprocess.run([sys.executable, "-m", "hrlc", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, preexec_fn=limits)
    return done.returncode, done.stdout, done.stderr


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("hrlc:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _run_yaml(path, products, out, **extra):
    path.write_text(yaml.safe_dump({"output": str(out), "sources": [str(products)],
                                    "chunks": 64, "stages": ["masks"],
                                    "masks": {"min_clear": 2}, **extra}))
    return path


def test_a_folder_holding_a_users_files_is_refused_and_left_byte_identical(products, tmp_path):
    project = tmp_path / "proj"
    (project / "masks").mkdir(parents=True)
    (project / "masks" / "field_notes.txt").write_text("notes")
    (project / "plan.txt").write_text("my plan")
    before = _tree(project)
    config = _run_yaml(tmp_path / "run.yaml", products, project)
    code, _, err = _hrlc("run", config)
    assert code == 2 and "is not a run folder of hrlc" in _one_line(err) and "--force" in err
    assert _tree(project) == before
    code, _, err = _hrlc("run", config, "--force")
    assert code == 2 and f"{project / 'masks'} exists and was not written by this run" in \
        _one_line(err)
    assert _tree(project) == before
    (project / "masks" / "field_notes.txt").rename(project / "field_notes.txt")
    (project / "masks").rmdir()
    before = _tree(project)
    code, _, err = _hrlc("run", config, "--force")
    assert code == 0, err
    assert all(_tree(project)[name] == digest for name, digest in before.items())
    assert any(project.glob("masks/*_mask.tif"))


def test_a_second_run_stops_at_once_and_a_stale_lock_is_taken_over(products, tmp_path):
    out = tmp_path / "run"
    config = _run_yaml(tmp_path / "run.yaml", products, out)
    out.mkdir()
    holder = subprocess.Popen(["sleep", "60"])
    try:
        (out / LOCK_NAME).write_text(json.dumps({
            "pid": holder.pid, "host": socket.gethostname(), "started": time.time(),
            "command": "hrlc run"}))
        start = time.monotonic()
        code, _, err = _hrlc("run", config)
        assert code == 2 and time.monotonic() - start < 30
        assert f"{out} is in use by hrlc run (PID {holder.pid} on" in _one_line(err)
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]
    finally:
        holder.kill()
        holder.wait()
    code, out_text, err = _hrlc("run", config)  # its holder is gone: a stale lock
    assert code == 0, err
    assert f"took over the lock of hrlc run (PID {holder.pid}" in " ".join(out_text.split())
    assert not (out / LOCK_NAME).exists()


def test_output_inside_a_source_folder_is_refused(products, tmp_path):
    before = _tree(products)
    code, _, err = _hrlc("run", _run_yaml(tmp_path / "run.yaml", products, products / "run"))
    assert code == 2 and "is inside the source folder" in _one_line(err)
    assert _tree(products) == before


@pytest.mark.parametrize("shape", ['{"format": "hrlc-run", "stages": {"masks": 5}}',
                                   '{"format": "hrlc-run", "stages": {"ma'])
def test_a_damaged_manifest_is_recomputed_by_run_and_an_error_for_info(products, tmp_path,
                                                                       shape):
    out = tmp_path / "run"
    out.mkdir()
    (out / "manifest.json").write_text(shape)
    code, _, err = _hrlc("info", out)
    assert code == 2 and "manifest.json is damaged" in _one_line(err)
    code, _, err = _hrlc("report", out)
    assert code == 2 and "manifest.json is damaged" in _one_line(err)
    code, text, err = _hrlc("run", _run_yaml(tmp_path / "run.yaml", products, out))
    assert code == 0, err
    text = " ".join(text.split())  # the run's console wraps long lines
    assert "manifest.json is damaged" in text and "recomputing" in text
    assert json.loads((out / "manifest.json").read_text())["stages"]["masks"]["status"] == "done"


@pytest.mark.parametrize("stage", ["masks", "features"])
def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(products, tmp_path, stage):
    out = tmp_path / stage
    config = tmp_path / f"{stage}.yaml"
    if stage == "masks":
        config.write_text(yaml.safe_dump({"sources": [str(products)], "output": str(out),
                                          "chunks": 64, "masks": {"min_clear": 2}}))
    else:
        config.write_text(yaml.safe_dump({"composites": [str(products / next(
            p.name for p in products.iterdir() if p.suffix == ".SAFE"))], "output": str(out),
            "features": {"glcm_textures": [], "index_months": []}}))
    code, _, err = _hrlc(stage, config, limit_bytes=8 * 1024)  # as `ulimit -f 8`
    line = _one_line(err)
    assert code == 2 and "File too large (EFBIG)" in line and "ulimit -f" in line
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize("output", [".", ".."])
def test_the_current_folder_or_its_parent_as_output_is_refused(products, tmp_path, output):
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("keep")
    config = work / "masks.yaml"
    config.write_text(yaml.safe_dump({"sources": [str(products)], "output": output,
                                      "chunks": 64, "masks": {"min_clear": 2}}))
    before = _tree(tmp_path)
    code, _, err = _hrlc("masks", "masks.yaml", "--overwrite", cwd=work)
    assert code == 2 and "is the current folder or one of its parents" in _one_line(err)
    assert _tree(tmp_path) == before


def test_an_unreachable_scheduler_fails_fast_in_one_line(products, tmp_path):
    config = tmp_path / "masks.yaml"
    config.write_text(yaml.safe_dump({
        "sources": [str(products)], "output": str(tmp_path / "masks"), "chunks": 64,
        "compute": {"scheduler": "tcp://127.0.0.1:1", "connect_timeout": 2}}))
    start = time.monotonic()
    code, _, err = _hrlc("masks", config)
    assert code == 2 and time.monotonic() - start < 30
    assert "cannot reach the dask scheduler tcp://127.0.0.1:1 within 2 s" in _one_line(err)
    assert not (tmp_path / "masks").exists()


def _start_run(config, tmp_path):
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    process = subprocess.Popen([sys.executable, "-m", "hrlc", "run", str(config)],
                               stdout=open(stdout, "w"), stderr=open(stderr, "w"))
    return process, stdout, stderr


def _stage_of(process, out, name: str, timeout: float = 120.0) -> psutil.Process:
    """The stage ``name`` of a run, frozen once it has started writing its output (its
    temporary folder exists), so that a signal reaches it mid-stage."""
    deadline = time.monotonic() + timeout
    while not any(out.glob(f".{name}.partial-*")):
        assert process.poll() is None, "the run ended before its stage wrote"
        assert time.monotonic() < deadline, f"stage {name} did not start writing"
        time.sleep(0.01)
    (stage,) = stages_of(process.pid, name)
    stage.suspend()
    return stage


def _run_frozen_mid_stage(products, tmp_path, name: str):
    """A run whose stage ``name`` is frozen while its temporary output exists: (run
    folder, process, stdout file, stderr file, stage). On a loaded machine the stage can
    finish between the moment its output is seen and the freeze: then again, 3 times."""
    for attempt in range(3):
        folder = tmp_path / f"attempt{attempt}"
        folder.mkdir()
        out = folder / "run"
        process, stdout, stderr = _start_run(_run_yaml(folder / "run.yaml", products, out),
                                             folder)
        stage = _stage_of(process, out, name)
        if any(out.glob(f".{name}.partial-*")) and not (out / name).exists():
            return out, process, stdout, stderr, stage
        stage.resume()
        process.wait(timeout=120)
    pytest.fail(f"stage {name} ended before it could be frozen, 3 times")


def test_sigterm_stops_the_run_like_ctrl_c(products, tmp_path):
    out, process, stdout, stderr, stage = _run_frozen_mid_stage(products, tmp_path, "masks")
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    stage.resume()
    assert process.wait(timeout=120) == 143
    assert "[masks] interrupted; finished stages are kept" in stdout.read_text()
    assert "Traceback" not in stderr.read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"]["masks"]["status"] == "interrupted"
    assert not (out / "masks").exists() and not list(out.glob(".*partial*"))
    assert not (out / LOCK_NAME).exists()


def test_a_killed_run_takes_its_stage_with_it(products, tmp_path):
    out, process, _, _, stage = _run_frozen_mid_stage(products, tmp_path, "masks")
    config = out.parent / "run.yaml"
    process.kill()
    process.wait()
    stage.resume()
    stage.wait(timeout=60)  # SIGTERM from Linux when its parent died: it stops and ends
    assert not (out / "masks").exists()  # nothing under a final name
    # a temporary name may remain if a worker thread was mid-write: the next run sweeps it
    code, _, err = _hrlc("run", config)
    assert code == 0, err
    assert (out / "masks").is_dir() and not list(out.glob(".*partial*"))


def test_all_zero_input_stops_at_the_first_stage_in_one_line(products, tmp_path):
    zeros = tmp_path / "zeros"
    zeros.mkdir()
    import rasterio

    for band in sorted(products.rglob("*_B0[2-8]_10m.tif"))[:4] + \
            sorted(products.rglob("*_B1[12]_20m.tif"))[:2] + \
            sorted(products.rglob("*_SCL_20m.tif"))[:1]:
        with rasterio.open(band) as src:
            profile = src.profile
        name = band.name.replace("_10m", "").replace("_20m", "")
        with rasterio.open(zeros / name, "w", **profile) as dst:
            dst.write(np.zeros((profile["height"], profile["width"]), profile["dtype"]), 1)
    config = _run_yaml(tmp_path / "run.yaml", zeros, tmp_path / "run",
                       stages=["masks", "composite", "restore", "features"])
    code, text, err = _hrlc("run", config)
    assert code == 2 and "is no data" in err and "stage 'masks' failed" in err
    assert "[composite]" not in text
