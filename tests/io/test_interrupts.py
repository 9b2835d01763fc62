"""A process told to stop publishes no output, even if its KeyboardInterrupt was lost."""

import signal

import pytest

from hrlc import interrupts
from hrlc.io.atomic import atomic_output


def test_nothing_is_published_once_told_to_stop(tmp_path, monkeypatch):
    monkeypatch.setattr(interrupts, "_received", None)
    with atomic_output(tmp_path / "before.txt") as tmp:
        tmp.write_text("x")
    assert (tmp_path / "before.txt").read_text() == "x"
    interrupts.note(signal.SIGTERM)
    interrupts.note(signal.SIGINT)  # the first signal counts
    assert interrupts.received() == signal.SIGTERM
    # a stage that ran to its end although told to stop (its interrupt swallowed)
    with pytest.raises(interrupts.Interrupted) as raised, \
            atomic_output(tmp_path / "masks") as tmp:
        tmp.mkdir()
        (tmp / "mask.tif").write_bytes(b"complete")
    assert raised.value.signum == signal.SIGTERM
    assert isinstance(raised.value, KeyboardInterrupt)  # the CLI's Ctrl-C path: exit 143
    assert sorted(p.name for p in tmp_path.iterdir()) == ["before.txt"]
    # the record of the interrupted run is written all the same
    with atomic_output(tmp_path / "manifest.json", after_interrupt=True) as tmp:
        tmp.write_text("{}")
    assert (tmp_path / "manifest.json").exists()
    # a Python session that goes on after the interrupted command publishes again
    interrupts.forget()
    assert interrupts.received() is None
    with atomic_output(tmp_path / "after.txt") as tmp:
        tmp.write_text("y")
    assert (tmp_path / "after.txt").read_text() == "y"
