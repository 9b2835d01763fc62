"""The run report in a real browser: headless Chromium renders it with no console message
and paints the map. Skipped where no Chromium is installed (.ci/run installs it)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

CHROMIUM = (shutil.which("chromium") or shutil.which("chromium-browser")
            or shutil.which("google-chrome"))

pytestmark = pytest.mark.skipif(
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


def test_console_messages_of_a_broken_page_are_seen(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<!doctype html><p>x</p><script>throw new Error('boom')</script>")
    found = console_messages(_chromium(page, "--dump-dom", tmp_path).stderr)
    assert any("Uncaught Error: boom" in line for line in found)


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))


def test_report_renders_the_map_without_console_messages(run_folder, tmp_path):
    from PIL import Image

    from hrlc.pipeline.report import write_run_report
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
