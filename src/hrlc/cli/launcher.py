"""The launcher: a Python process that has imported hrlc once and forks each stage.

``python -m hrlc STAGE`` spends about 2 CPU-s importing dask, xarray, pandas, rasterio,
typer and hrlc before its first useful line; a run of seven stages pays that seven times,
a run of many tiles hundreds of times. ``hrlc run`` therefore starts one launcher
(``python -m hrlc.cli.launcher FD``), which imports those libraries, then waits on
the control socket FD and forks one stage per request. A stage still is a process of its
own: its memory goes back to the system when it ends, a crash takes only it down, it has
a process group of its own, and it gets SIGTERM when the launcher dies (the launcher ends
when its run closes the control socket or dies). Only its start is cheap.

Protocol (Unix sockets, JSON): once ready, the launcher sends ``ready`` on the control
socket. A request is one SEQPACKET message on the control socket, ``{"argv": [...],
"cwd": "...", "environment": {...}}``, carrying four descriptors: the request's own stream
socket, then the stage's stdin, stdout and stderr. On the stream socket the
launcher answers ``{"pid": N}`` when the stage has started and ``{"code": C,
"maxrss_kib": M}`` when it has ended (``C`` as :func:`os.waitstatus_to_exitcode`).
The launcher imports nothing of hrlc at module level: importing this module (as dask's
spawned workers do with a ``__main__`` module) has no side effect.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import selectors
import signal
import socket
import sys
from typing import NoReturn

#: What every stage imports before its first useful line; the launcher imports it once,
#: at its start (about 1 CPU-s). ``hrlc.io`` imports its parts on first use: they are
#: named here.
PRELOAD = ("hrlc.cli", "hrlc.io.l2a", "hrlc.io.writers", "hrlc.io.grid", "hrlc.io.folders",
           "hrlc.io.scene", "hrlc.config", "hrlc.compute", "zarr", "distributed",
           "rich.progress", "rich.table")
#: What a stage imports besides, at its start or while it runs (scikit-learn for the cloud
#: clusters, the SVM and calibration; matplotlib's object API, no pyplot, for the report
#: figures: about 1 CPU-s each, which three stages of a run would otherwise import one
#: after another). The launcher imports it before it forks the first stage of that name,
#: so that this stage and later ones find it imported. Importing these packages starts no
#: thread and reads no data.
STAGE_MODULES = {
    "masks": ("hrlc.masks", "sklearn.cluster"), "composite": ("hrlc.composite",),
    "restore": ("hrlc.restore", "sklearn.cluster"),
    # the feature cube's readers open composites and restored stores (scipy.ndimage)
    "features": ("hrlc.features", "hrlc.composite", "hrlc.restore", "scipy.ndimage"),
    "dataset": ("hrlc.dataset", "hrlc.dataset.report", "hrlc.features"),
    "train": ("hrlc.model", "hrlc.model.plots", "sklearn.svm", "sklearn.calibration"),
    "map": ("hrlc.mapping", "hrlc.mapping.plots", "matplotlib.figure", "hrlc.model",
            "hrlc.features", "sklearn.svm"),
}
#: Descriptors a request carries: its stream socket, then stdin, stdout and stderr.
REQUEST_FDS = 4
#: Largest request message (bytes): an argv of config paths and the environment.
MAX_REQUEST = 1 << 20


def _set_name(name: str) -> None:
    """The process name that ``ps`` and psutil's ``name()`` show (Linux, 15 bytes)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this process when its parent dies (even by SIGKILL),
    so that nothing writes into a run folder after its run is gone; a stage handles
    SIGTERM like Ctrl-C and removes its temporary outputs."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def _exit_code(exc: SystemExit) -> int:
    """The process exit code that ``sys.exit(exc.code)`` gives."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    sys.stderr.write(f"{exc.code}\n")
    return 1


def run_stage(argv: list[str], cwd: str, environment: dict, stdio: list[int],
              parent: int) -> int:
    """In the forked process: become ``hrlc ARGV`` in ``cwd`` with ``environment`` (the
    run's: the launcher only serves runs whose environment is the one it started with,
    but libraries may have set variables since) and run it; its exit code.

    ``parent`` is the launcher's pid: if the launcher died between the fork and
    PR_SET_PDEATHSIG, the stage stops at once.
    """
    os.setpgid(0, 0)
    _die_with_parent()
    if os.getppid() != parent:
        return 128 + signal.SIGTERM
    # the run passes Ctrl-C on as SIGINT: take it even if the run was started with
    # SIGINT ignored (nohup, a background job of a script)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(environment)
    sys.argv = ["hrlc", *argv]
    _set_name(f"hrlc {argv[0] if argv else ''}")
    from hrlc.cli import main

    try:
        main(argv)
    except SystemExit as exc:
        return _exit_code(exc)
    return 0


class _Launcher:
    """The launcher's state: its control socket, the selector and the running stages."""

    def __init__(self, control: socket.socket):
        self.control = control
        self.running: dict[int, socket.socket] = {}
        self.wakeup_read, self.wakeup_write = os.pipe()
        os.set_blocking(self.wakeup_read, False)
        os.set_blocking(self.wakeup_write, False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ)
        self.selector.register(self.wakeup_read, selectors.EVENT_READ)

    def serve(self) -> int | None:
        """Fork a stage per request and report its end, until the control socket closes.
        In a forked stage, returns its exit code; in the launcher, None at the end."""
        signal.set_wakeup_fd(self.wakeup_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.control:
                    message, fds, _, _ = socket.recv_fds(self.control, MAX_REQUEST,
                                                         REQUEST_FDS)
                    if not message:  # the run closed the socket, or died
                        self._stop_all()
                        return None
                    code = self._start(json.loads(message), fds)
                    if code is not None:  # this is the forked stage, which has ended
                        return code
                else:
                    _drain(self.wakeup_read)
                self._reap()

    def _start(self, request: dict, fds: list[int]) -> int | None:
        """Fork the stage of ``request``: in the stage, its exit code once it has run; in
        the launcher, None once its pid is sent."""
        stream = socket.socket(fileno=fds[0])
        for module in STAGE_MODULES.get(request["argv"][0] if request["argv"] else "", ()):
            try:
                importlib.import_module(module)
            except Exception:  # noqa: BLE001 - the stage imports it again and says why
                pass
        launcher = os.getpid()
        # what is imported by now lives as long as the stage: its garbage collector need
        # not go through it, even at exit (about 1 CPU-s of a stage's end otherwise)
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            self.selector.close()
            for fd in (self.wakeup_read, self.wakeup_write):
                os.close(fd)
            for other in (self.control, stream, *self.running.values()):
                other.close()
            return run_stage(request["argv"], request["cwd"], request["environment"], fds[1:],
                             launcher)
        for fd in fds[1:]:
            os.close(fd)
        self.running[pid] = stream
        _send(stream, {"pid": pid})
        return None

    def _stop_all(self) -> None:
        """SIGTERM to the stages still running: their run is gone, so they stop now
        rather than when the launcher has ended (SIGTERM from PR_SET_PDEATHSIG comes only
        once this process is gone, a second or more later)."""
        for pid in self.running:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def _reap(self) -> None:
        """Report every stage that has ended to its run."""
        while self.running:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:  # none left to wait for
                return
            if pid == 0:
                return
            stream = self.running.pop(pid, None)
            if stream is not None:
                _send(stream, {"code": os.waitstatus_to_exitcode(status),
                               "maxrss_kib": usage.ru_maxrss})
                stream.close()


def _drain(fd: int) -> None:
    """Empty the signal wake-up pipe."""
    try:
        while len(os.read(fd, 512)) == 512:
            pass
    except BlockingIOError:
        pass


def _send(stream: socket.socket, message: dict) -> None:
    """One JSON line; a run that is gone (broken pipe) needs no answer."""
    try:
        stream.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass


def _set_up_numba() -> None:
    """Set up numba's CPU target once, for every stage to inherit. Numba does it the first
    time a process compiles a function or loads one from its cache (about 0.4 CPU-s, in
    every stage: all use numba kernels); a forked stage then loads its cached kernels in
    milliseconds. It starts no thread."""
    from numba.core.registry import cpu_target

    cpu_target.target_context.refresh()


def main(control_fd: int) -> int:
    """Import :data:`PRELOAD` and set up numba, then serve requests on ``control_fd``; the
    exit code."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run passes Ctrl-C on to the stages
    _set_name("hrlc launcher")
    for module in PRELOAD:
        importlib.import_module(module)
    _set_up_numba()
    from hrlc.cli import register_commands

    register_commands()
    control = socket.socket(fileno=control_fd)
    control.sendall(b"ready")
    code = _Launcher(control).serve()
    if code is None:  # the launcher: its stages end with it (SIGTERM, PR_SET_PDEATHSIG)
        return 0
    end_stage(code)


def end_stage(code: int) -> NoReturn:
    """End a forked stage with exit code ``code``: run the ``atexit`` functions (dask's
    and distributed's clean-up, ``weakref.finalize`` and temporary directories, logging),
    flush its streams and exit without tearing the interpreter down. Taking apart every
    module and object that the launcher imported cost a stage about 0.13 s after its work
    was done; a forked process has nothing else to release (multiprocessing ends its
    forked workers the same way)."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing left to say
            pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
