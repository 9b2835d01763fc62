"""The manifest of a run folder (``manifest.json`` of ``hrlc run``): its shape, checked on
every read. One of the wrong shape (hand-edited, truncated, from another program) is
*damaged*: ``hrlc run`` recomputes, ``hrlc info`` and ``hrlc report`` say so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

MANIFEST = "manifest.json"


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class OutputRecord(_Record):
    path: str
    bytes: int | None = None


class StageRecord(_Record):
    status: Literal["done", "failed", "interrupted", "running"]
    fingerprint: str | None = None
    seconds: float | None = None
    outputs: list[OutputRecord] = []


class RunManifest(_Record):
    format: Literal["hrlc-run"]
    stages: dict[str, StageRecord] = {}
    owned: list[str] | None = None
    scenes: list[dict] = []


class TileRecord(_Record):
    output: str
    status: str


class TilesManifest(_Record):
    format: Literal["hrlc-run-tiles"]
    tiles: dict[str, TileRecord]


class ManifestError(ValueError):
    """A manifest of the wrong shape."""


def check_manifest(data) -> dict:
    """``data`` if it is a run or tiles manifest; else :class:`ManifestError` saying what
    is wrong (the first few problems)."""
    if not isinstance(data, dict):
        raise ManifestError(f"expected a JSON object, got {type(data).__name__}")
    model = TilesManifest if data.get("format") == "hrlc-run-tiles" else RunManifest
    try:
        model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'top level'}: {e['msg']}"
                             for e in exc.errors()[:3])
        raise ManifestError(problems) from None
    return data


def load_manifest(path: str | Path) -> dict:
    """The manifest in ``path``, checked (:func:`check_manifest`).

    Raises
    ------
    ManifestError
        Not readable, not JSON, or of the wrong shape.
    """
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(str(exc)) from None
    return check_manifest(data)
