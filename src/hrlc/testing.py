"""Helpers shared by the test suite, the notebooks and the demo."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def bundled(*parts: str) -> Path:
    """Path of a file shipped in ``hrlc/data`` (real data with its SOURCE.md)."""
    return Path(str(files("hrlc").joinpath("data", *parts)))


def bundled_aber() -> Path:
    """The real 10-band Sentinel-2 scene of Aberystwyth (2021-05-27, EPSG:27700)."""
    return bundled("aber", "sen2_20210527_aber_10band.tif")
