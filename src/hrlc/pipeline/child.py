"""A stage of ``hrlc run`` as a child process: measured, and stopped cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

#: Seconds a stage gets to clean up after the run is interrupted, before it is killed.
STOP_GRACE = 60.0
#: Exit codes of a stage stopped by SIGINT, SIGTERM or SIGHUP (128 + the signal).
INTERRUPTED_CODES = {128 + s: s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
#: Stages running now (several when tiles run side by side), for :func:`stop_all`.
_running: set[subprocess.Popen] = set()
_running_lock = threading.Lock()


def stop(process: subprocess.Popen) -> None:
    """Pass an interrupt on to a stage and wait for it to remove its temporary outputs."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_all() -> None:
    """Interrupt every stage running now and wait for each to clean up (tiles that run
    side by side are all stopped on Ctrl-C, which only the main thread receives)."""
    with _running_lock:
        processes = list(_running)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        stop(process)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to send the stage SIGTERM when the run that started it dies (even by
    SIGKILL), so that nothing writes into the folder after its run is gone; the stage
    handles SIGTERM like Ctrl-C and removes its temporary outputs."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run_child(argv: list[str]) -> tuple[int, float, float]:
    """Run ``hrlc ARGV`` in a child process: (exit code, seconds, peak RSS MiB).

    The child has a process group of its own, so that Ctrl-C reaches this process only,
    which passes it on once (a second interrupt during the child's clean-up would cut the
    clean-up short).
    """
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "hrlc", *argv], process_group=0,
                               preexec_fn=_die_with_parent)
    with _running_lock:
        _running.add(process)
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except BaseException:
        stop(process)
        raise
    finally:
        with _running_lock:
            _running.discard(process)
    process.returncode = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return process.returncode, time.perf_counter() - start, peak
