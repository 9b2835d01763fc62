"""The page built from already-read products: sections, notes for stages that did not
run, escaping, exact values; the CLI's one-line errors."""

from __future__ import annotations

import math

import pytest

from hrlc.report import SECTIONS, RunProducts, build_report_html
from hrlc.report.html import number

from tests.report.conftest import parse_report, run_cli, values

MANIFEST = {"format": "hrlc-run", "version": 1, "config_source": "run.yaml",
            "config_hash": "abc123", "software": {"hrlc": "0.1.0"}, "stages": {}}


def test_every_section_says_when_its_stage_did_not_run():
    html = build_report_html(RunProducts(name="out", manifest=MANIFEST))
    for anchor, _, _ in SECTIONS:
        assert f'<section id="{anchor}">' in html and f'href="#{anchor}"' in html
    for stage in ("map", "train", "dataset", "masks", "composite", "restore"):
        assert f"stage not run: &#x27;{stage}&#x27; is not among this run&#x27;s stages" in html
    assert "no stage has run yet" in html and "<img" not in html
    assert "stages done: none; hrlc 0.1.0" in html


def test_a_failed_stage_is_reported_with_its_exit_code_and_timing():
    manifest = {**MANIFEST, "stages": {
        "masks": {"status": "done", "seconds": 12.5, "peak_rss_mb": 480.2,
                  "outputs": [{"path": "masks", "bytes": 2_500_000, "hash": "x"}]},
        "composite": {"status": "failed", "exit_code": 2, "seconds": 3.25}}}
    html = build_report_html(RunProducts(name="out", manifest=manifest, mask_summary=[
        {"product": "S2A_X", "date": "2019-03-01T10:27:55", "cloud %": 0.25, "shadow %": 0.0}]))
    assert "stage &#x27;composite&#x27; failed (exit code 2)" in html
    tables = parse_report(html).tables
    assert [values(r) for r in tables["timings"][1:]] == [
        ["masks", "done", 12.5, "", 480.2, "", 2.5],
        ["composite", "failed", 3.25, "", "–", "", "–"],
        ["all stages", "", 15.75, "", 480.2, "", "–"]]
    header, row = tables["mask-stats"]
    assert [h for h, _ in header] == ["product", "date", "cloud (%)", "shadow (%)"]
    assert row == [("S2A_X", None), ("2019-03-01T10:27:55", None), ("25.0 %", "0.25"),
                   ("0.0 %", "0.0")]


def test_names_from_the_run_are_escaped():
    html = build_report_html(RunProducts(
        name="<run>", manifest=MANIFEST, class_table={1: {"name": "<b>x</b>", "colour": "red"}},
        distribution=[{"code": 1, "name": "<b>x</b>", "pixels": 4, "area_ha": 0.04,
                       "percent": 100.0}]))
    assert "<b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and "&lt;run&gt;" in html


@pytest.mark.parametrize(("value", "options", "text", "exact"), [
    (0.98765, {}, "0.988", "0.98765"),
    (0.25, {"percent": True, "digits": 1}, "25.0 %", "0.25"),
    (1932.88, {"digits": 2, "thousands": True}, "1,932.88", "1932.88"),
    (193288, {"thousands": True}, "193,288", "193288"),
    (math.nan, {}, "–", None),
    (None, {}, "–", None),
])
def test_number_cells_show_rounded_text_and_keep_the_exact_value(value, options, text, exact):
    cell = parse_report(f'<table id="t"><tr>{number(value, **options)}</tr></table>')
    assert cell.tables["t"] == [[(text, exact)]]


def test_cli_refuses_what_is_not_a_run_folder_in_one_line(tmp_path, capsys):
    code, _, err = run_cli(capsys, "report", str(tmp_path))
    assert code == 2 and err.count("\n") == 1
    assert f"{tmp_path} is not a run folder of hrlc run: it holds no manifest.json" in err
    code, _, err = run_cli(capsys, "report", str(tmp_path / "missing"))
    assert code == 2 and "missing: no such folder" in err
    (tmp_path / "manifest.json").write_text('{"stages": ')
    code, _, err = run_cli(capsys, "report", str(tmp_path))
    assert code == 2 and "manifest.json is damaged (" in err and "Traceback" not in err
    for shape in ('{"something": "else"}', '{"format": "hrlc-run", "stages": {"masks": 5}}'):
        (tmp_path / "manifest.json").write_text(shape)
        code, _, err = run_cli(capsys, "report", str(tmp_path))
        assert code == 2 and "manifest.json is damaged (" in err and err.count("\n") == 1
    assert not (tmp_path / "report.html").exists()


def test_help_has_an_example(capsys):
    code, out, _ = run_cli(capsys, "report", "--help")
    assert code == 0 and "Example" in out and "report.html" in out
