"""The ``hrlc`` command line: one sub-command per stage.

Errors that hrlc raises on purpose (:class:`hrlc.errors.HrlcError`) are printed as one
line and exit with code 2; ``--debug`` shows the traceback instead. Ctrl-C prints one
line and exits with code 130.
"""

from __future__ import annotations

import sys

import click
import typer

import typer.exceptions

_EXIT = (click.exceptions.Exit, typer.Exit)
_ABORT = (click.exceptions.Abort, typer.Abort)
#: Usage errors: click's, and those of the click copy that typer >= 0.26 bundles (public
#: base class ``typer.exceptions.TyperException``).
_USAGE = (click.ClickException, getattr(typer.exceptions, "TyperException", click.ClickException))
#: Exit code on Ctrl-C (SIGINT), the shell convention 128 + 2: not an error (exit code 2),
#: the outputs written so far are complete and a rerun resumes.
_INTERRUPTED = 130

from hrlc.interrupts import Interrupted, note
from hrlc.errors import HrlcError

app = typer.Typer(
    name="hrlc",
    help="High-resolution land-cover maps from Sentinel-2 L2A time series.\n\n"
    "Example: [bold]hrlc info S2A_MSIL2A_20230821T221941_N0509_R029_T01KAB_20230822T021825.zip[/]",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from hrlc import __version__

        typer.echo(f"hrlc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """High-resolution land-cover maps from Sentinel-2 L2A time series."""


#: The sub-commands, in the order of the chain: (name, module in hrlc.cli, function).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("info", "info", "info"),
    ("search", "search", "search"),
    ("simulate", "simulate", "simulate"),
    ("masks", "masks", "masks"),
    ("evaluate-masks", "masks", "evaluate_masks_command"),
    ("composite", "composite", "composite"),
    ("restore", "restore", "restore"),
    ("features", "features", "features"),
    ("dataset", "dataset", "dataset"),
    ("train", "train", "train"),
    ("experiment", "experiment", "experiment"),
    ("map", "mapping", "map_"),
    ("compare-maps", "mapping", "compare_maps_"),
    ("run", "run", "run"),
    ("report", "report", "report"),
    ("demo", "demo", "demo"),
    ("bench", "bench", "bench"),
)


def register_commands() -> None:
    """Add every command of :data:`COMMANDS` to ``app`` (once).

    Heavy imports stay inside the command functions, so this is cheap.
    """
    import importlib

    if app.registered_commands:
        return
    for name, module, function in COMMANDS:
        command = getattr(importlib.import_module(f"hrlc.cli.{module}"), function)
        app.command(name)(command)


def _terminate(signum, _frame) -> None:
    """SIGTERM or SIGHUP, handled like Ctrl-C (temporary outputs removed) but exiting with
    128 + the signal's number."""
    note(signum)
    raise Interrupted(signum)


def _interrupt(signum, _frame) -> None:
    """Ctrl-C: noted (no output is published from now on), then KeyboardInterrupt."""
    note(signum)
    raise KeyboardInterrupt


def _handle_signals() -> None:
    """SIGTERM and SIGHUP interrupt like Ctrl-C, and every interrupt is noted in
    :mod:`hrlc.interrupts` (main thread only: signal handlers can only be set there;
    in-process calls from other threads keep the defaults). SIGINT keeps being ignored
    where it was (nohup)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _terminate)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _interrupt)


def _os_error(exc: OSError) -> str:
    """One line for an OSError: the path, the errno's meaning and what to do."""
    import errno

    fixes = {errno.ENOSPC: "free disk space or choose another output",
             errno.EFBIG: "the file is larger than this system or quota allows; free space, "
                          "raise the limit (ulimit -f) or choose another output",
             errno.EDQUOT: "the disk quota is exhausted; free space or choose another output",
             errno.EACCES: "fix the permissions or choose another output",
             errno.EPERM: "fix the permissions or choose another output",
             errno.EROFS: "the file system is read-only; choose another output",
             errno.EBUSY: "the path is in use by another process; wait or choose another path"}
    name = errno.errorcode.get(exc.errno or 0, "")
    where = f"{exc.filename}: " if exc.filename else ""
    reason = exc.strerror or str(exc)
    return (f"{where}{reason}" + (f" ({name})" if name else "")
            + f"; {fixes.get(exc.errno, 'check the path and the disk')}")


def main(argv: list[str] | None = None) -> None:
    """Console entry point (``hrlc``)."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]  # accepted anywhere on the line
    register_commands()
    _handle_signals()
    try:
        code = app(args=args, prog_name="hrlc", standalone_mode=False)
        # typer's bundled click turns Ctrl-C into Exit(130) and, outside standalone
        # mode, returns that code instead of raising
        if code == _INTERRUPTED:
            raise KeyboardInterrupt
        if isinstance(code, int) and code:
            sys.exit(code)
    except HrlcError as exc:
        if debug:
            raise
        sys.stderr.write(f"hrlc: error: {' '.join(str(exc).split())}\n")
        sys.exit(2)
    except OSError as exc:  # a full disk, a permission, a busy path: not a bug of hrlc
        if debug:
            raise
        sys.stderr.write(f"hrlc: error: {' '.join(_os_error(exc).split())}\n")
        sys.exit(2)
    except _EXIT as exc:
        sys.exit(exc.exit_code)
    except _ABORT:
        sys.stderr.write("hrlc: interrupted\n")
        sys.exit(_INTERRUPTED)
    except _USAGE as exc:
        if hasattr(exc, "show"):
            exc.show()
        else:  # pragma: no cover - a TyperException that is not a click error
            sys.stderr.write(f"hrlc: error: {exc.format_message()}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        import signal

        signum = getattr(exc, "signum", signal.SIGINT)
        what = ("interrupted" if signum == signal.SIGINT
                else f"stopped by {signal.Signals(signum).name}")
        sys.stderr.write(f"hrlc: {what}; outputs written so far are complete, rerun to "
                         "resume\n")
        sys.exit(128 + signum)
