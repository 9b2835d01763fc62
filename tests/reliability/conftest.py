"""A small real run (the bundled Aberystwyth scene: features, dataset, train, map) and
the outputs of one uninterrupted run, to compare interrupted and repaired runs with."""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import rasterio
import yaml

from hrlc import interrupts
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


def _thread_states(pid: int) -> list[str]:
    """The state letter (/proc/PID/task/TID/stat) of every thread of process ``pid``."""
    try:
        return [(task / "stat").read_text().rsplit(")", 1)[1].split()[0]
                for task in (Path("/proc") / str(pid) / "task").iterdir()]
    except FileNotFoundError:  # the process (or a thread of it) ended
        if not psutil.pid_exists(pid):
            raise psutil.NoSuchProcess(pid) from None
        return _thread_states(pid)


def freeze(process) -> None:
    """SIGSTOP the process ``process`` (psutil) and wait until every thread of it has
    stopped. A signal sent to it from then on stays pending until it is resumed (see
    :func:`wait_for_pending`); before, it could still be taken on the way to the stop
    (Linux delivers a lower-numbered signal such as SIGINT before SIGSTOP)."""
    process.suspend()
    deadline = time.monotonic() + 60.0
    while any(state not in "TtZX" for state in _thread_states(process.pid)):
        assert time.monotonic() < deadline, f"process {process.pid} did not stop"
        time.sleep(0.001)


def wait_for_pending(stage, signum: int, timeout: float = 60.0) -> None:
    """Wait until the process ``stage``, frozen by :func:`freeze`, holds ``signum``
    pending: a run has passed an interrupt on to it, which it takes once resumed. Linux
    lists a stopped process's pending signals in /proc/PID/status (ShdPnd: sent to the
    process, SigPnd: to its main thread), so this returns as soon as the signal is sent,
    not after a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        status = (Path("/proc") / str(stage.pid) / "status").read_text()
        pending = 0
        for line in status.splitlines():
            if line.startswith(("SigPnd:", "ShdPnd:")):
                pending |= int(line.split()[1], 16)
        if pending & 1 << (signum - 1):
            return
        assert time.monotonic() < deadline, f"no signal {signum} reached stage {stage.pid}"
        time.sleep(0.005)


def until(condition, run_over: threading.Event, timeout: float = 180.0) -> bool:
    """Wait until ``condition()``; False if the run ended (or ``timeout`` s passed) first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if run_over.is_set() or time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def run_beside(config, action) -> int:
    """``hrlc run CONFIG`` in this process (no child ``python -m hrlc run`` and its own
    launcher, about 6 CPU-s of imports, are needed), with ``action(run_over)`` in a thread
    beside it (``run_over``: an Event set once the run has ended): the run's exit code.
    An assertion that fails in ``action`` fails the test once the run has ended."""
    run_over, failed = threading.Event(), []

    def act():
        try:
            action(run_over)
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            failed.append(exc)

    beside = threading.Thread(target=act, daemon=True)
    beside.start()
    try:
        code = hrlc_code("run", config)
    finally:
        run_over.set()
        beside.join(timeout=30)
    if failed:
        raise failed[0]
    return code


@contextmanager
def _signalled_like_a_process_of_its_own():
    """Ctrl-C, SIGTERM reach an in-process ``hrlc run`` as they reach ``hrlc run``, and
    are forgotten after it as at the end of that process: SIGINT raises KeyboardInterrupt
    (a test run started in the background, ``nohup ... &``, has it ignored, and hrlc then
    keeps it ignored); the interrupt hrlc notes (after which this process would publish
    no output, see :mod:`hrlc.interrupts`) and its SIGINT handler are undone."""
    assert interrupts.received() is None
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        interrupts.forget()


def run_signalled_mid_stage(start, name: str, signum: int) -> tuple[int, int]:
    """``hrlc run`` in this process, sent ``signum`` (Ctrl-C: SIGINT) while its stage
    ``name`` runs: (the run's exit code, attempt). ``start(attempt)`` gives the run's
    config and a test that says when the stage has reached the point to interrupt; the
    stage is then frozen (so that the signal reaches it there however loaded the machine
    is), the signal goes to the run, and the stage is resumed once the run has passed the
    interrupt on to it. The run cannot end while it waits for the frozen stage, so the
    signal reaches the run, not the test. A stage that was over before it was frozen: the
    run ends, and again, 3 times."""
    main_thread, signalled = threading.main_thread().ident, []

    def signal_mid_stage(reached, run_over):
        if not until(reached, run_over):
            return
        stage = stages_of(os.getpid(), name)
        try:
            for child in stage:
                freeze(child)
        except psutil.NoSuchProcess:
            stage = [child for child in stage if child.is_running()]
        if not stage or not reached():  # over before it was frozen
            for child in stage:
                child.resume()
            return
        # to the thread that runs ``hrlc run`` (the main one, which alone takes signals in
        # Python): its wait for the stage is interrupted at once
        signal.pthread_kill(main_thread, signum)
        signalled.append(stage[0].pid)
        try:
            wait_for_pending(stage[0], signal.SIGINT)  # the run passes it on to the stage
        finally:
            for child in stage:
                child.resume()

    with _signalled_like_a_process_of_its_own():
        for attempt in range(3):
            config, reached = start(attempt)
            code = run_beside(config, partial(signal_mid_stage, reached))
            if signalled:
                return code, attempt
    pytest.fail(f"stage {name} ended before it could be interrupted, 3 times")


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
    """One uninterrupted run of :data:`ABER_WINDOW`: (run folder, its config dict, its
    output values). The tests that compare with it interrupt, damage and rerun runs of that
    same area: how a run resumes does not depend on its size, and the stages of the window
    (606 x 606 px of the scene's 947 x 930) cost about a third less than the scene's."""
    out = tmp_path_factory.mktemp("clean") / "run"
    data = aber_run(out, aoi=ABER_WINDOW)
    run_chain(RunConfig.model_validate(data), echo=lambda _: None)
    return out, data, outputs_of(out)
