"""``hrlc demo``, and the run report of its simulated run: the report's numbers are those
of the files it shows, and headless Chromium renders it with no console message and paints
the map (those two tests are skipped where no Chromium is installed; .ci/run installs it).
One module, so that the demo runs once (``make test`` hands a file to one worker)."""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import rasterio

from hrlc.pipeline.report import read_run_products, write_run_report
from hrlc.report import build_report_html

from tests.report.conftest import parse_report, run_cli, values

pytestmark = pytest.mark.slow  # the demo runs once (about 30 s) for this module


def test_demo_runs_the_whole_chain_on_real_and_simulated_data(demo):
    # the simulated season at 180 px and 3 scenes instead of 360 px and 6: every stage and
    # output of the demo is still there (the real Aberystwyth half is the same), in less
    # time; the report tests below read its simulated run (fixture ``run_folder``)
    out_folder, out = demo
    assert "held-out scores" in out
    with rasterio.open(out_folder / "simulated" / "run" / "map" / "classes.tif") as src:
        assert src.shape == (180, 180)
    for folder, data in (("aberystwyth", "Aberystwyth (real)"),
                         ("simulated/run", "simulated season")):
        # the ranked table and the report's sentence on which classifier to map with
        report = json.loads((out_folder / folder / "model" / "report.json").read_text())
        assert set(report["ranking"]) == {"svm_multiclass", "random_forest"}
        # the last "<data>: " of the output starts the choice (the first may be a heading)
        assert report["choice"].split()[:6] == out.split(f"{data}: ")[-1].split()[:6]
    for folder, stages in (("aberystwyth", ["features", "dataset", "train", "map"]),
                           ("simulated/run", ["masks", "composite", "restore", "features",
                                              "dataset", "train", "map"])):
        manifest = json.loads((out_folder / folder / "manifest.json").read_text())
        assert list(manifest["stages"]) == stages
        assert all(s["status"] == "done" for s in manifest["stages"].values())
        with rasterio.open(out_folder / folder / "map" / "classes.tif") as src:
            classes = src.read(1, out_shape=(100, 100))
            assert src.colormap(1) and src.nodata == 0
        assert (out_folder / folder / "map" / "quicklook.png").stat().st_size > 10_000
        page = (out_folder / folder / "report.html").read_text()
        assert "data:image/png;base64," in page
    assert out.count("run report:") == 2
    report = json.loads((out_folder / "aberystwyth" / "model" / "report.json").read_text())
    assert report["variants"]["svm_multiclass"]["test"]["overall_accuracy"] > 0.9
    with rasterio.open(out_folder / "aberystwyth" / "map" / "classes.tif") as src:
        assert set(np.unique(src.read(1))) <= {0, 1, 2, 3, 4}
    assert set(np.unique(classes)) - {0}


@pytest.fixture(scope="module")
def report(run_folder):
    path = write_run_report(run_folder)
    html = path.read_text(encoding="utf-8")
    return path, html, parse_report(html)


def _csv_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_report_is_written_into_the_run_folder(run_folder, report):
    path, html, _ = report
    assert path == run_folder / "report.html"
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert not list(run_folder.glob(".report.html.partial-*"))


def test_class_areas_equal_the_distribution_table(run_folder, report):
    expected = _csv_rows(run_folder / "map" / "distribution.csv")
    header, *rows = report[2].tables["class-areas"]
    assert [h for h, _ in header][:5] == ["code", "class", "pixels", "area (ha)",
                                          "share of mapped area (%)"]
    *classes, total = rows
    assert len(classes) == len(expected) >= 3
    for row, want in zip(classes, expected):
        code, name, pixels, area, percent = values(row)
        assert code.strip() == want["code"] and name == want["name"]
        assert pixels == int(want["pixels"])
        assert area == float(want["area_ha"]) and percent == float(want["percent"])
    assert values(total)[2] == sum(int(r["pixels"]) for r in expected)
    assert values(total)[3] == pytest.approx(sum(float(r["area_ha"]) for r in expected))


def test_accuracy_tables_equal_the_train_metrics(run_folder, report):
    metrics = json.loads((run_folder / "model" / "report.json").read_text())
    tables = report[2].tables
    header, *rows = tables["accuracy-test"]
    assert [h for h, _ in header] == ["variant", "labels", "samples", "overall accuracy",
                                      "macro-F1", "ECE", "log loss"]
    assert [r[0][0] for r in rows] == list(metrics["variants"])
    for row in rows:
        name, _, n, oa, f1, ece, log_loss = values(row)
        test = metrics["variants"][name]["test"]
        assert (n, oa, f1, ece, log_loss) == (test["n"], test["overall_accuracy"],
                                              test["macro_f1"], test["ece"], test["log_loss"])
    main_test = metrics["variants"]["svm_multiclass"]["test"]
    per_class = [values(r) for r in tables["per-class"][1:]]
    assert per_class == [[p["code"], p["name"], p["precision"], p["recall"], p["f1"],
                          p["support"]] for p in main_test["per_class"]]
    confusion = [values(r)[1:-1] for r in tables["confusion"][1:]]
    assert confusion == main_test["confusion"]
    assert [values(r)[-1] for r in tables["confusion"][1:]] == [
        sum(r) for r in main_test["confusion"]]
    assert values(tables["calibration"][1])[1:] == [main_test["ece"], main_test["classwise_ece"],
                                                    main_test["log_loss"]]


def test_mask_statistics_and_timings_equal_their_files(run_folder, report):
    tables = report[2].tables
    expected = _csv_rows(run_folder / "masks" / "summary.csv")
    rows = [values(r) for r in tables["mask-stats"][1:]]
    assert [r[0] for r in rows] == [e["product"] for e in expected]
    assert [r[2:] for r in rows] == [[float(v) for k, v in e.items() if k.endswith("%")]
                                     for e in expected]
    manifest = json.loads((run_folder / "manifest.json").read_text())
    timings = [values(r) for r in tables["timings"][1:]]
    assert [r[0] for r in timings[:-1]] == ["masks", "composite", "restore", "features",
                                            "dataset", "train", "map"]
    for row in timings[:-1]:
        record = manifest["stages"][row[0]]
        assert row[1] == "done" and row[2] == record["seconds"] and row[4] == record["peak_rss_mb"]
    assert timings[-1][2] == pytest.approx(sum(s["seconds"] for s in manifest["stages"].values()))
    composite = json.loads((run_folder / "composites_summary.json").read_text())
    assert [values(r)[0] for r in tables["composite-gaps"][1:]] == [m["month"] for m in composite]


def test_page_is_self_contained(run_folder, report):
    _, html, parsed = report
    assert "http:" not in html and "https:" not in html
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', html))
    assert parsed.images and all(i["src"].startswith("data:image/png;base64,")
                                 for i in parsed.images)
    (quicklook,) = [i for i in parsed.images if i.get("id") == "map-quicklook"]
    embedded = base64.b64decode(quicklook["src"].split(",", 1)[1])
    assert embedded == (run_folder / "map" / "quicklook.png").read_bytes()
    for section in ("map", "areas", "accuracy", "confusion", "calibration", "samples", "masks",
                    "gaps", "timings", "run"):
        assert f'<section id="{section}">' in html
    assert "stage not run" not in html and "no longer in the run folder" not in html


def test_missing_products_are_said_not_hidden(run_folder, tmp_path):
    partial = tmp_path / "run"
    partial.mkdir()
    shutil.copy(run_folder / "manifest.json", partial)
    shutil.copytree(run_folder / "masks", partial / "masks")
    html = build_report_html(read_run_products(partial))
    parsed = parse_report(html)
    assert "mask-stats" in parsed.tables and "class-areas" not in parsed.tables
    assert "stage &#x27;map&#x27; ran, but its outputs are no longer in the run folder" in html
    assert not parsed.images


def test_cli_writes_and_replaces_the_run_report(run_folder, tmp_path, capsys):
    code, out, _ = run_cli(capsys, "report", str(run_folder))
    assert code == 0 and f"wrote {run_folder / 'report.html'}" in out
    code, _, _ = run_cli(capsys, "report", str(run_folder))  # the run's own report is redone
    assert code == 0
    target = tmp_path / "elsewhere.html"
    assert run_cli(capsys, "report", str(run_folder), "--output", str(target))[0] == 0
    code, _, err = run_cli(capsys, "report", str(run_folder), "--output", str(target))
    assert code == 2 and "already exists" in err and err.count("\n") == 1
    assert run_cli(capsys, "report", str(run_folder), "-o", str(target), "--overwrite")[0] == 0
    assert target.read_text() == (run_folder / "report.html").read_text()


# --- in a real browser ------------------------------------------------------------------

CHROMIUM = (shutil.which("chromium") or shutil.which("chromium-browser")
            or shutil.which("google-chrome"))

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not found (chromium, chromium-browser or "
    "google-chrome on PATH): install the distribution's package, e.g. apt-get install chromium")

#: Window of the screenshots, px: the map comes first on the page and fills much of it.
WINDOW = (1200, 1400)


def _chromium(page, action: str, tmp_path) -> subprocess.CompletedProcess:
    """Run headless Chromium on a local page with one action (``--dump-dom`` or
    ``--screenshot=FILE``); console messages go to stderr."""
    return subprocess.run(
        [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
         "--disable-extensions", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={tmp_path / 'chromium-profile'}",
         f"--window-size={WINDOW[0]},{WINDOW[1]}", action, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True)


def console_messages(stderr: str) -> list[str]:
    """Lines of Chromium's log that come from the page's console or an uncaught error.

    Chromium logs every console message at INFO level whatever its level, so any such
    line counts: the report has no script, and the browser itself reports there what it
    refused to load or to run.
    """
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@needs_chromium
def test_console_messages_of_a_broken_page_are_seen(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<!doctype html><p>x</p><script>throw new Error('boom')</script>")
    found = console_messages(_chromium(page, "--dump-dom", tmp_path).stderr)
    assert any("Uncaught Error: boom" in line for line in found)


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))


@needs_chromium
def test_report_renders_the_map_without_console_messages(run_folder, tmp_path):
    from PIL import Image

    from hrlc.mapping import read_class_table

    page = write_run_report(run_folder, tmp_path / "report.html")
    dom = _chromium(page, "--dump-dom", tmp_path)
    assert console_messages(dom.stderr) == []
    assert 'id="map-quicklook"' in dom.stdout and '<section id="timings">' in dom.stdout

    shot = tmp_path / "report.png"
    screenshot = _chromium(page, f"--screenshot={shot}", tmp_path)
    assert console_messages(screenshot.stderr) == []
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    colours = [_hex_rgb(c["colour"])
               for c in read_class_table(run_folder / "map" / "classes.tif").values()]
    shares = [float(np.mean(np.all(np.abs(pixels - np.array(c)) <= 3, axis=-1)))
              for c in colours]
    # the legend swatches alone cover well under 1 % of the window: these shares are the
    # map's, so it was decoded and painted
    assert sum(shares) > 0.10, shares
    assert sum(share > 0.002 for share in shares) >= 3, shares
