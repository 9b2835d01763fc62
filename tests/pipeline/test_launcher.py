"""Stages forked by the launcher behave as stages started as ``python -m hrlc``: exit
codes, output, working folder, environment, interrupts and the launcher's death."""

import contextlib
import os
import signal
import time

import psutil
import pytest
import rasterio

from hrlc.pipeline import child

pytestmark = pytest.mark.slow  # every test starts stage processes, most a launcher too

LAUNCHES = ["fork", "spawn"]
#: The value of HRLC_TEST_VARIABLE (which no library reads) that makes the environment
#: test_one_launcher_per_environment ends in, and test_a_replaced_launcher_ends_once_its_
#: stages_have_ended starts in: the launcher the one leaves serves the other's first stage.
ANOTHER_ENVIRONMENT = "1"


def _simulate(out, size=66):
    return ["simulate", "--out", str(out), "--size", str(size), "--dates", "2", "--seed", "3"]


@pytest.mark.parametrize("launch", LAUNCHES)
def test_exit_codes_and_messages_reach_the_runs_streams(launch, tmp_path, capfd):
    code, seconds, peak = child.run_child(["info", str(tmp_path / "missing.zip")],
                                          launch=launch)
    err = capfd.readouterr().err
    assert code == 2 and f"{tmp_path / 'missing.zip'}" in err and "Traceback" not in err
    assert seconds > 0 and 50 < peak < 4000  # MiB: a Python process with hrlc imported
    code, _, _ = child.run_child(["--version"], launch=launch)
    assert code == 0 and capfd.readouterr().out.startswith("hrlc ")


def test_relative_paths_are_the_runs_and_outputs_equal(tmp_path, monkeypatch):
    values = {}
    for launch in LAUNCHES:
        (tmp_path / launch).mkdir()
        monkeypatch.chdir(tmp_path / launch)
        assert child.run_child(_simulate("products"), launch=launch)[0] == 0
        (scl,) = sorted((tmp_path / launch / "products").rglob("*SCL*"))[:1]
        with rasterio.open(scl) as src:
            values[launch] = src.read()
    assert (values["fork"] == values["spawn"]).all()  # the same stage however it started


def test_one_launcher_per_environment(tmp_path, monkeypatch):
    assert child.run_child(["--version"])[0] == 0
    first = child._launcher
    assert child.run_child(["--version"])[0] == 0
    assert child._launcher is first  # started once, reused
    # read at import time by some library?
    monkeypatch.setenv("HRLC_TEST_VARIABLE", ANOTHER_ENVIRONMENT)
    assert child.run_child(["--version"])[0] == 0
    assert child._launcher is not first
    assert first.process.poll() == 0  # it ran no stage any more: closed, ended on its own


def test_a_replaced_launcher_ends_once_its_stages_have_ended(tmp_path, monkeypatch):
    monkeypatch.setenv("HRLC_TEST_VARIABLE", ANOTHER_ENVIRONMENT)  # see there
    stage = _writing(tmp_path / "p")
    first = child._launcher
    with _paused(stage):  # while the next launcher starts
        monkeypatch.setenv("HRLC_TEST_VARIABLE", "2")
        assert child.run_child(["--version"])[0] == 0
        assert first in child._replaced and first.process.poll() is None  # its stage runs on
        assert stage.poll() is None
    child.stop(stage)
    assert stage.wait()[0] == 130
    # another change: back to the environment without the variable, whose launcher then
    # serves the next tests of this file (one launcher fewer to start)
    monkeypatch.delenv("HRLC_TEST_VARIABLE")
    assert child.run_child(["--version"])[0] == 0
    assert first not in child._replaced
    assert first.process.poll() == 0  # closed: it ended on its own, not killed


def _writing(out, launch: str = child.DEFAULT_LAUNCH):
    """A 1,500 px simulation, once it has started writing ``out``."""
    stage = child.start_stage(_simulate(out, size=1500 - 1500 % 6), launch=launch)
    deadline = time.monotonic() + 60
    while not any(out.parent.glob(f".{out.name}*")) and not out.exists():
        assert stage.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    return stage


@contextlib.contextmanager
def _paused(stage):
    """The stage stopped (SIGSTOP) within the block: still running, and unable to end
    before it is asked to, but no longer spending a core on a simulation that nothing
    reads (about 3 CPU-s while a launcher starts); continued (SIGCONT) on the way out,
    even when the block fails (a stopped stage would outlive its launcher's SIGTERM)."""
    os.kill(stage.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(stage.pid, signal.SIGCONT)


@pytest.mark.parametrize("launch", LAUNCHES)
def test_stop_interrupts_a_stage(launch, tmp_path):
    stage = _writing(tmp_path / "products", launch)
    child.stop(stage)
    assert stage.poll() == 130  # 128 + SIGINT: the CLI's clean interrupt
    assert stage.wait()[0] == 130


def test_a_stage_takes_the_interrupt_even_if_the_run_ignores_sigint(tmp_path):
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a run under nohup
    try:
        stage = _writing(tmp_path / "p", "spawn")
        child.stop(stage)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert stage.wait()[0] == 130


def test_a_dead_launcher_takes_its_stages_with_it(tmp_path):
    stage = _writing(tmp_path / "p")
    launcher = child._launcher
    assert psutil.Process(stage.pid).ppid() == launcher.process.pid
    assert psutil.Process(stage.pid).name() == "hrlc simulate"
    launcher.process.kill()
    launcher.process.wait()
    code, _ = stage.wait(60)
    assert code == -signal.SIGKILL  # its end was not reported: counted as killed
    deadline = time.monotonic() + 60
    while psutil.pid_exists(stage.pid) and psutil.Process(stage.pid).status() != "zombie":
        assert time.monotonic() < deadline, "the stage outlived its launcher"
        time.sleep(0.05)
    assert child.run_child(["--version"])[0] == 0  # a new launcher serves the next stage
    assert child._launcher is not launcher


def test_a_stage_ends_with_its_code_after_its_atexit_functions_and_buffered_output(tmp_path):
    """end_stage skips the interpreter's teardown, not what a stage leaves to its end: the
    atexit functions run (last registered first), buffered output is flushed, and the
    process exits with the stage's code."""
    from hrlc.cli.launcher import end_stage

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the "stage"
        try:
            os.close(read)
            os.dup2(write, 1)
            import atexit
            import sys

            atexit._clear()  # not the test process's own (inherited by the fork)
            atexit.register(lambda: (tmp_path / "order").write_text(
                (tmp_path / "order").read_text() + "first registered\n"))
            atexit.register(lambda: (tmp_path / "order").write_text("last registered\n"))
            sys.stdout = open(1, "w", buffering=1 << 16, closefd=False)  # noqa: SIM115
            sys.stdout.write("buffered, not yet written")
            end_stage(7)
        finally:
            os._exit(99)  # only if end_stage did not end the process
    os.close(write)
    with os.fdopen(read) as pipe:
        output = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7
    assert output == "buffered, not yet written"
    assert (tmp_path / "order").read_text() == "last registered\nfirst registered\n"
