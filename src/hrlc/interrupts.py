"""Whether this process was asked to stop: Ctrl-C (SIGINT), SIGTERM or SIGHUP.

The command line's signal handlers note the signal here, then raise KeyboardInterrupt.
That exception can be lost on its way up (raised inside code that catches and drops it);
:func:`hrlc.io.atomic.atomic_output` therefore checks here before it publishes an output,
so that a stage that was told to stop never leaves an output under its final name, even
when it ran to its end.
"""

from __future__ import annotations

_received: int | None = None


class Interrupted(KeyboardInterrupt):
    """The process was told to stop by signal ``signum``; handled like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = int(signum)


def note(signum: int) -> None:
    """Record that signal ``signum`` asked this process to stop (the first one counts)."""
    global _received
    if _received is None:
        _received = int(signum)


def received() -> int | None:
    """The signal that asked this process to stop, or None."""
    return _received


def forget() -> None:
    """Forget the signal noted, for a Python session that goes on after the command it
    stopped (``hrlc.cli.main`` called in-process, by a notebook or a test): a command
    exits its process, and a noted signal stops every later output of this process."""
    global _received
    _received = None


def check() -> None:
    """Raise :class:`Interrupted` if this process was asked to stop."""
    if _received is not None:
        raise Interrupted(_received)


__all__ = ["Interrupted", "check", "forget", "note", "received"]
