"""A real run folder (the demo's run of the whole chain on its simulated season) and a
reader of the report's tables, shared by the report tests."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """``hrlc demo`` at its smallest (180 px, 3 scenes), once: (its output folder, what it
    printed). Only tests/report/test_run_report.py uses it (one file: one worker of
    ``make test`` builds it): the demo's test, and the report tests on its simulated run."""
    import contextlib
    import io

    from hrlc.cli import main

    out = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as exit_info:
        main(["demo", "--out", str(out), "--size", "180", "--dates", "3"])
        raise SystemExit(0)
    assert exit_info.value.code in (0, None), printed.getvalue()
    return out, printed.getvalue()


@pytest.fixture(scope="session")
def run_folder(demo):
    """A real run folder: the demo's run of every stage on its simulated season."""
    return demo[0] / "simulated" / "run"


class _Tables(HTMLParser):
    """Cells of every table with an id: (text, data-value or None) per cell, per row."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {}
        self.images: list[dict] = []
        self._table = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "id" in attrs:
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = ["", attrs.get("data-value")]
        elif tag == "img":
            self.images.append(attrs)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._table[-1].append((self._cell[0].strip(), self._cell[1]))
            self._cell = None
        elif tag == "table":
            self._table = None


def parse_report(html: str) -> _Tables:
    """The tables (by id, header row first) and the ``<img>`` attributes of a report."""
    parser = _Tables()
    parser.feed(html)
    return parser


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """``hrlc ARGS`` in this process: (exit code, stdout, stderr)."""
    from hrlc.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
        raise SystemExit(0)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def values(row: list[tuple[str, str | None]]) -> list:
    """A table row as values: the exact number of a cell when it has one, else its text."""
    return [float(v) if v is not None else text for text, v in row]
