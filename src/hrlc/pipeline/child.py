"""A stage of ``hrlc run`` as a process of its own: measured, and stopped cleanly on Ctrl-C.

On Linux a stage is forked by the run's launcher (:mod:`hrlc.cli.launcher`), which
has imported hrlc's libraries once; elsewhere it is ``python -m hrlc STAGE``. Either way
it has a process group of its own, so that Ctrl-C reaches the run only, which passes it
on once (a second interrupt during the stage's clean-up would cut the clean-up short).
"""

from __future__ import annotations

import abc
import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

#: Seconds a stage gets to clean up after the run is interrupted, before it is killed.
STOP_GRACE = 60.0
#: Exit codes of a stage stopped by SIGINT, SIGTERM or SIGHUP (128 + the signal).
INTERRUPTED_CODES = {128 + s: s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
#: How stages start: "fork" (from the launcher) where Linux allows, else "spawn".
DEFAULT_LAUNCH = "fork" if sys.platform.startswith("linux") else "spawn"
#: ``ru_maxrss`` units per MiB (kilobytes on Linux, bytes on macOS).
_MAXRSS_PER_MIB = 1024 * 1024 if sys.platform == "darwin" else 1024
#: Environment variables that libraries set when imported (scikit-learn: OpenMP settings),
#: so that a run's environment changes once it has imported them; a launcher started
#: before still serves it (its stages get the run's environment with the request).
SET_BY_IMPORTS = frozenset({"KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK"})
#: Stages running now (several when tiles run side by side), for :func:`stop_all`.
_running: set = set()
_running_lock = threading.Lock()


class _Stage(abc.ABC):
    """A running stage: ``pid``, ``poll()``, ``wait(timeout)`` giving (exit code, peak RSS
    MiB) and ``send_signal(signum)``. Subclasses set ``result`` in ``_end(timeout)``, which
    says whether the stage has ended within ``timeout`` s (0: now, None: waits)."""

    pid: int
    result: tuple[int, float] | None = None

    @abc.abstractmethod
    def _end(self, timeout: float | None) -> bool:
        """Whether the stage has ended within ``timeout`` s; sets ``result`` when it has."""

    def poll(self) -> int | None:
        return self.result[0] if self._end(0.0) else None

    def wait(self, timeout: float | None = None) -> tuple[int, float]:
        """(exit code, peak RSS MiB) once the stage has ended; TimeoutExpired after
        ``timeout`` seconds."""
        if not self._end(timeout):
            raise subprocess.TimeoutExpired(f"stage {self.pid}", timeout)
        return self.result

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)


class _ForkedStage(_Stage):
    """A stage forked by a launcher: its pid, and its end read from the request's stream."""

    def __init__(self, stream: socket.socket, launcher: _Launcher):
        self.stream, self.buffer, self.launcher = stream, b"", launcher
        try:
            self.pid = self._message(None)["pid"]
        except EOFError:
            raise OSError("the stage launcher ended before it started the stage") from None

    def _message(self, timeout: float | None) -> dict | None:
        """The next JSON line, None if none came within ``timeout`` s; EOFError at the end."""
        self.stream.settimeout(timeout)
        while b"\n" not in self.buffer:
            try:
                chunk = self.stream.recv(4096)
            except (TimeoutError, BlockingIOError):
                return None
            if not chunk:
                raise EOFError
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def _end(self, timeout: float | None) -> bool:
        if self.result is None:
            try:
                message = self._message(timeout)
            except EOFError:  # the launcher died: its stages got SIGTERM, then maybe more
                message = {"code": -signal.SIGKILL, "maxrss_kib": 0}
            if message is None:
                return False
            self.result = (message["code"], message["maxrss_kib"] / _MAXRSS_PER_MIB)
            self.stream.close()
            with _launcher_lock:
                self.launcher.stages.discard(self)
        return True


def _reset_signals() -> None:  # pragma: no cover - runs in the child before exec
    """A stage takes the SIGINT its run passes on, even if the run ignores SIGINT (nohup)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class _SpawnedStage(_Stage):
    """A stage started as ``python -m hrlc ARGV`` (where fork is not used)."""

    def __init__(self, argv: list[str], environment: dict[str, str]):
        self.process = subprocess.Popen([sys.executable, "-m", "hrlc", *argv],
                                        env=environment, process_group=0,
                                        preexec_fn=_reset_signals)
        self.pid = self.process.pid

    def _reap(self, options: int) -> bool:
        if self.result is None:
            pid, status, usage = os.wait4(self.pid, options)
            if pid == 0:
                return False
            self.result = (os.waitstatus_to_exitcode(status), usage.ru_maxrss / _MAXRSS_PER_MIB)
            self.process.returncode = self.result[0]
        return True

    def _end(self, timeout: float | None) -> bool:
        if timeout is None:
            return self._reap(0)
        deadline = time.monotonic() + timeout
        while not self._reap(os.WNOHANG):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True


class _Launcher:
    """A launcher process and the control socket on which it takes requests."""

    def __init__(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hrlc.cli.launcher", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], process_group=0)
        theirs.close()
        self.control, self.started_with, self.is_ready = ours, dict(os.environ), False
        self.lock, self.stages = threading.Lock(), set()

    def ready(self) -> bool:
        """Wait for the launcher to have imported its libraries; False if it ended."""
        if not self.is_ready:
            self.is_ready = self.control.recv(64) == b"ready"
        return self.is_ready

    def serves(self, environment: dict) -> bool:
        """Whether this launcher runs, and was started with ``environment`` (its libraries
        read some variables when they were imported), apart from :data:`SET_BY_IMPORTS`."""
        def relevant(env: dict) -> dict:
            return {k: v for k, v in env.items() if k not in SET_BY_IMPORTS}

        return self.process.poll() is None and self.ready() and \
            relevant(environment) == relevant(self.started_with)

    def start(self, argv: list[str], environment: dict[str, str]) -> _ForkedStage:
        ours, theirs = socket.socketpair()
        stdio = [fd if _is_open(fd) else os.open(os.devnull, os.O_RDWR) for fd in (0, 1, 2)]
        try:
            message = json.dumps({"argv": list(argv), "cwd": os.getcwd(),
                                  "environment": environment}).encode()
            with self.lock:
                socket.send_fds(self.control, [message], [theirs.fileno(), *stdio])
        finally:
            theirs.close()
            for fd, std in zip(stdio, (0, 1, 2)):
                if fd != std:
                    os.close(fd)
        stage = _ForkedStage(ours, self)
        with _launcher_lock:
            self.stages.add(stage)
        return stage

    def close(self) -> None:
        """End the launcher, and with it any stage it still runs, and wait for it."""
        self.control.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


_launcher: _Launcher | None = None
#: Launchers replaced while a stage of theirs may still run: closed once they run none
#: (closing one ends its stages), at the latest at exit.
_replaced: list[_Launcher] = []
_launcher_lock = threading.Lock()


def _forked(argv: list[str], extra: dict[str, str]) -> _ForkedStage:
    """Fork ``hrlc ARGV`` from the launcher of this environment, started on first use
    (and again if it died, or if the environment changed: its libraries read the
    environment when they were imported); the stage gets this environment and ``extra``."""
    global _launcher
    with _launcher_lock:
        if _launcher is None or not _launcher.serves(dict(os.environ)):
            if _launcher is not None:
                _replaced.append(_launcher)
            for idle in [old for old in _replaced if not old.stages]:
                _replaced.remove(idle)
                idle.close()
            _launcher = _Launcher()
            if not _launcher.ready():
                raise OSError("the stage launcher (python -m hrlc.cli.launcher) ended "
                              "before it was ready; its message is above")
        launcher = _launcher
    return launcher.start(argv, {**os.environ, **extra})


@atexit.register
def _close_launchers() -> None:
    for launcher in [*_replaced, *([_launcher] if _launcher else [])]:
        launcher.close()


def stage_name(title: str, argv: list[str]) -> str | None:
    """The stage a process runs, from its process name and command line: "hrlc STAGE"
    when forked by a launcher, ``python -m hrlc STAGE ...`` when spawned; else None."""
    if title.startswith("hrlc ") and title != "hrlc launcher":
        return title.removeprefix("hrlc ")
    hits = [k for k in range(len(argv) - 2) if argv[k:k + 2] == ["-m", "hrlc"]]
    return argv[hits[0] + 2] if hits else None


def start_stage(argv: list[str], *, launch: str = DEFAULT_LAUNCH,
                environment: dict[str, str] | None = None):
    """Start ``hrlc ARGV`` as a process of its own: "fork" from the launcher or "spawn"
    a new interpreter, with this process's environment and the variables of
    ``environment`` (for this stage only, e.g. the run's LocalCluster). The handle has
    ``pid``, ``poll()``, ``wait(timeout)`` giving (exit code, peak RSS MiB) and
    ``send_signal(signum)``."""
    if launch not in ("fork", "spawn"):
        raise ValueError(f"launch must be 'fork' or 'spawn', not {launch!r}")
    extra = dict(environment or {})
    return _forked(argv, extra) if launch == "fork" else _SpawnedStage(argv,
                                                                       {**os.environ, **extra})


def stop(stage) -> None:
    """Pass an interrupt on to a stage and wait for it to remove its temporary outputs."""
    if stage.poll() is None:
        stage.send_signal(signal.SIGINT)
        try:
            stage.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            stage.send_signal(signal.SIGKILL)
            stage.wait()


def stop_all() -> None:
    """Interrupt every stage running now and wait for each to clean up (tiles that run
    side by side are all stopped on Ctrl-C, which only the main thread receives)."""
    with _running_lock:
        stages = list(_running)
    for stage in stages:
        stage.send_signal(signal.SIGINT)
    for stage in stages:
        stop(stage)


def run_child(argv: list[str], *, launch: str = DEFAULT_LAUNCH,
              environment: dict[str, str] | None = None) -> tuple[int, float, float]:
    """Run ``hrlc ARGV`` as a process of its own, with the variables of ``environment``
    added to this process's: (exit code, seconds, peak RSS MiB)."""
    start = time.perf_counter()
    stage = start_stage(argv, launch=launch, environment=environment)
    with _running_lock:
        _running.add(stage)
    try:
        code, peak = stage.wait()
    except BaseException:
        stop(stage)
        raise
    finally:
        with _running_lock:
            _running.discard(stage)
    return code, time.perf_counter() - start, peak
