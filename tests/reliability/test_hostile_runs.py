"""``hrlc run`` and the stages against a hostile user: a folder holding someone's files,
two runs on one folder, a full disk, odd outputs, a damaged manifest, an unreachable
scheduler, signals, empty input. Each case: the exit code, one line, and no file that was
there before changed (a checksum of the folder before and after).

Most cases call ``hrlc`` in-process (:func:`hrlc_code`, ``cli_error``): they reuse this
worker's imported libraries and its stage launcher, where a child ``python -m hrlc run``
pays about 6 CPU-s of imports in the run and its launcher before any work. A stage under a
file size limit is forked by that launcher (as ``hrlc run`` starts its stages), the limit
set on the launcher for that fork only. SIGTERM is sent to an in-process run (its thread);
a child ``python -m hrlc run`` is kept where the case kills the run."""

from __future__ import annotations

import hashlib
import json
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
from hrlc.pipeline.child import start_stage
from hrlc.simulate import simulate_series
from tests.conftest import cli_error

from .conftest import freeze, hrlc_code, run_signalled_mid_stage, stages_of

pytestmark = pytest.mark.slow  # most tests run hrlc, a whole run or a stage of one


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


def _stage_launcher() -> psutil.Process:
    """This worker's stage launcher (the process that forks the stages of ``hrlc run``).
    A stage that only prints hrlc's help first makes sure that it serves this environment
    (started if none was, replaced if the environment changed: a launcher runs alone)."""
    start_stage(["--help"]).wait(timeout=120)
    (launcher,) = [p for p in psutil.Process().children() if p.name() == "hrlc launcher"]
    return launcher


def _limited_stage_code(*args, limit_bytes) -> int:
    """``hrlc ARGS`` as a stage forked by this worker's stage launcher while the files of
    the launcher's forks may grow to ``limit_bytes`` (as ``ulimit -S -f``): its exit code;
    it writes to file descriptors 1 and 2 (read them with ``capfd``). A fork takes over
    the launcher's limit, which is lifted again once the stage has ended: only the soft
    one is lowered, as a process cannot raise its hard limit again. No new interpreter
    imports the libraries (about 3 CPU-s for ``python -m hrlc masks``)."""
    launcher = _stage_launcher()
    unlimited = launcher.rlimit(psutil.RLIMIT_FSIZE)
    launcher.rlimit(psutil.RLIMIT_FSIZE, (limit_bytes, unlimited[1]))
    try:
        code, _ = start_stage([str(a) for a in args]).wait(timeout=120)
    finally:
        launcher.rlimit(psutil.RLIMIT_FSIZE, unlimited)
    return code


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("hrlc:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _run_yaml(path, products, out, **extra):
    path.write_text(yaml.safe_dump({"output": str(out), "sources": [str(products)],
                                    "chunks": 64, "stages": ["masks"],
                                    "masks": {"min_clear": 2}, **extra}))
    return path


def test_a_folder_holding_a_users_files_is_refused_and_left_byte_identical(products, tmp_path,
                                                                           capsys):
    project = tmp_path / "proj"
    (project / "masks").mkdir(parents=True)
    (project / "masks" / "field_notes.txt").write_text("notes")
    (project / "plan.txt").write_text("my plan")
    before = _tree(project)
    config = _run_yaml(tmp_path / "run.yaml", products, project)
    line = cli_error(["run", config], capsys)
    assert "is not a run folder of hrlc" in line and "--force" in line
    assert _tree(project) == before
    line = cli_error(["run", config, "--force"], capsys)
    assert f"{project / 'masks'} exists and was not written by this run" in line
    assert _tree(project) == before
    (project / "masks" / "field_notes.txt").rename(project / "field_notes.txt")
    (project / "masks").rmdir()
    before = _tree(project)
    assert hrlc_code("run", config, "--force") == 0
    assert all(_tree(project)[name] == digest for name, digest in before.items())
    assert any(project.glob("masks/*_mask.tif"))


def test_a_second_run_stops_at_once_and_a_stale_lock_is_taken_over(products, tmp_path,
                                                                    capsys):
    out = tmp_path / "run"
    config = _run_yaml(tmp_path / "run.yaml", products, out)
    out.mkdir()
    holder = subprocess.Popen(["sleep", "60"])
    try:
        (out / LOCK_NAME).write_text(json.dumps({
            "pid": holder.pid, "host": socket.gethostname(), "started": time.time(),
            "command": "hrlc run"}))
        start = time.monotonic()
        line = cli_error(["run", config], capsys)
        assert time.monotonic() - start < 30
        assert f"{out} is in use by hrlc run (PID {holder.pid} on" in line
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]
    finally:
        holder.kill()
        holder.wait()
    assert hrlc_code("run", config) == 0  # its holder is gone: a stale lock
    out_text = capsys.readouterr().out  # the run's own messages, printed in-process
    assert f"took over the lock of hrlc run (PID {holder.pid}" in " ".join(out_text.split())
    assert not (out / LOCK_NAME).exists()


def test_output_inside_a_source_folder_is_refused(products, tmp_path, capsys):
    before = _tree(products)
    config = _run_yaml(tmp_path / "run.yaml", products, products / "run")
    assert "is inside the source folder" in cli_error(["run", config], capsys)
    assert _tree(products) == before


@pytest.mark.parametrize("shape", ['{"format": "hrlc-run", "stages": {"masks": 5}}',
                                   '{"format": "hrlc-run", "stages": {"ma'])
def test_a_damaged_manifest_is_recomputed_by_run_and_an_error_for_info(products, tmp_path,
                                                                       shape, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "manifest.json").write_text(shape)
    assert "manifest.json is damaged" in cli_error(["info", out], capsys)
    assert "manifest.json is damaged" in cli_error(["report", out], capsys)
    assert hrlc_code("run", _run_yaml(tmp_path / "run.yaml", products, out)) == 0
    text = " ".join(capsys.readouterr().out.split())  # the run's console wraps long lines
    assert "manifest.json is damaged" in text and "recomputing" in text
    assert json.loads((out / "manifest.json").read_text())["stages"]["masks"]["status"] == "done"


@pytest.mark.parametrize("stage", ["masks", "features"])
def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(products, tmp_path, stage,
                                                                 capfd):
    out = tmp_path / stage
    config = tmp_path / f"{stage}.yaml"
    if stage == "masks":
        config.write_text(yaml.safe_dump({"sources": [str(products)], "output": str(out),
                                          "chunks": 64, "masks": {"min_clear": 2}}))
    else:
        config.write_text(yaml.safe_dump({"composites": [str(products / next(
            p.name for p in products.iterdir() if p.suffix == ".SAFE"))], "output": str(out),
            "features": {"glcm_textures": [], "index_months": []}}))
    code = _limited_stage_code(stage, config, limit_bytes=8 * 1024)  # as `ulimit -S -f 8`
    line = _one_line(capfd.readouterr().err)
    assert code == 2 and "File too large (EFBIG)" in line and "ulimit -f" in line
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize("output", [".", ".."])
def test_the_current_folder_or_its_parent_as_output_is_refused(products, tmp_path, output,
                                                               capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("keep")
    config = work / "masks.yaml"
    config.write_text(yaml.safe_dump({"sources": [str(products)], "output": output,
                                      "chunks": 64, "masks": {"min_clear": 2}}))
    before = _tree(tmp_path)
    monkeypatch.chdir(work)
    line = cli_error(["masks", "masks.yaml", "--overwrite"], capsys)
    assert "is the current folder or one of its parents" in line
    assert _tree(tmp_path) == before


def test_an_unreachable_scheduler_fails_fast_in_one_line(products, tmp_path, capsys):
    config = tmp_path / "masks.yaml"
    config.write_text(yaml.safe_dump({
        "sources": [str(products)], "output": str(tmp_path / "masks"), "chunks": 64,
        "compute": {"scheduler": "tcp://127.0.0.1:1", "connect_timeout": 0.2}}))
    start = time.monotonic()
    line = cli_error(["masks", config], capsys)
    assert time.monotonic() - start < 30
    assert "cannot reach the dask scheduler tcp://127.0.0.1:1 within 0.2 s" in line
    assert not (tmp_path / "masks").exists()


def _mid_stage(out, name: str):
    """Whether stage ``name`` of the run in ``out`` is writing its output: its temporary
    folder exists, its final one not yet."""
    return lambda: any(out.glob(f".{name}.partial-*")) and not (out / name).exists()


def _start_run(config, folder) -> subprocess.Popen:
    """``python -m hrlc run CONFIG``, its messages in ``folder`` (stdout.txt, stderr.txt)."""
    return subprocess.Popen([sys.executable, "-m", "hrlc", "run", str(config)],
                            stdout=open(folder / "stdout.txt", "w"),
                            stderr=open(folder / "stderr.txt", "w"))


def _stage_of(process, out, name: str, timeout: float = 120.0) -> psutil.Process:
    """The stage ``name`` of a run, frozen once it has started writing its output (its
    temporary folder exists), so that a signal reaches it mid-stage."""
    deadline = time.monotonic() + timeout
    while not any(out.glob(f".{name}.partial-*")):
        assert process.poll() is None, "the run ended before its stage wrote"
        assert time.monotonic() < deadline, f"stage {name} did not start writing"
        time.sleep(0.01)
    (stage,) = stages_of(process.pid, name)
    freeze(stage)
    return stage


def _run_frozen_mid_stage(products, tmp_path, name: str):
    """A run in a child process whose stage ``name`` is frozen while its temporary output
    exists: (run folder, process, stage). On a loaded machine the stage can finish between
    the moment its output is seen and the freeze: then again, 3 times."""
    for attempt in range(3):
        folder = tmp_path / f"attempt{attempt}"
        folder.mkdir()
        out = folder / "run"
        process = _start_run(_run_yaml(folder / "run.yaml", products, out), folder)
        stage = _stage_of(process, out, name)
        if _mid_stage(out, name)():
            return out, process, stage
        stage.resume()
        process.wait(timeout=120)
    pytest.fail(f"stage {name} ended before it could be frozen, 3 times")


def test_sigterm_stops_the_run_like_ctrl_c(products, tmp_path, capfd):
    def start(attempt):
        folder = tmp_path / f"attempt{attempt}"
        folder.mkdir()
        capfd.readouterr()
        return _run_yaml(folder / "run.yaml", products, folder / "run"), \
            _mid_stage(folder / "run", "masks")

    code, attempt = run_signalled_mid_stage(start, "masks", signal.SIGTERM)
    out = tmp_path / f"attempt{attempt}" / "run"
    assert code == 143
    text, err = capfd.readouterr()
    assert "[masks] interrupted; finished stages are kept" in " ".join(text.split())
    assert "Traceback" not in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"]["masks"]["status"] == "interrupted"
    assert not (out / "masks").exists() and not list(out.glob(".*partial*"))
    assert not (out / LOCK_NAME).exists()


def test_a_killed_run_takes_its_stage_with_it(products, tmp_path):
    out, process, stage = _run_frozen_mid_stage(products, tmp_path, "masks")
    config = out.parent / "run.yaml"
    process.kill()
    process.wait()
    stage.resume()
    stage.wait(timeout=60)  # SIGTERM from Linux when its parent died: it stops and ends
    assert not (out / "masks").exists()  # nothing under a final name
    # a temporary name may remain if a worker thread was mid-write: the next run sweeps it
    assert hrlc_code("run", config) == 0
    assert (out / "masks").is_dir() and not list(out.glob(".*partial*"))


def test_all_zero_input_stops_at_the_first_stage_in_one_line(products, tmp_path, capfd):
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
    code = hrlc_code("run", config)
    text, err = capfd.readouterr()  # "is no data" comes from the stage, a process of its own
    assert code == 2 and "is no data" in err and "stage 'masks' failed" in err
    assert "[composite]" not in text
