"""File names of band files: which band, date and tile a file holds.

Band folders come from many tools, each with its own naming. The default recognises
a band id at the end of the stem (``T30UVD_20210527T110621_B02_10m``, ``S2_..._B8A``)
and a date ``YYYYMMDD[THHMMSS]`` anywhere before it. Other layouts are described by a
``filename_pattern`` with placeholders:

``{band}``  a band id (``B02``, ``B2``, ``B8A``, ``SCL``), required
``{date}``  ``YYYYMMDD``, ``YYYY-MM-DD``, optionally followed by a time
            (``T110621``, ``T11:06:21``, ``Z``)
``{tile}``  an MGRS tile, with or without its ``T`` (``T20LLQ``, ``20LLQ``)
``*``       any text

Presets name the patterns of known tools: ``sits`` (the R package sits, and
``SENTINEL-2_MSI_{tile}_{band}_{date}``). FORCE writes multi-band ``BOA`` files (one
file for all bands: read them as multi-band rasters with ``band_names``), and Earth
Engine exports take whatever name the user gives, so neither has a preset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from hrlc.io.bands import BAND_FILE_PATTERN, canonical_band

PRESETS: dict[str, str] = {
    "sits": "SENTINEL-2_MSI_{tile}_{band}_{date}",
}

_PLACEHOLDERS = {
    "band": r"(?P<band>B0?[1-9]|B1[0-2]|B8A|B08A|SCL)",
    "date": r"(?P<date>\d{4}-?\d{2}-?\d{2}(?:T\d{2}:?\d{2}:?\d{2}(?:\.\d+)?Z?)?)",
    "tile": r"T?(?P<tile>\d{2}[A-Z]{3})",
}
_TOKEN = re.compile(r"\{(\w*)\}|\*")
_DATE = re.compile(r"(?<!\d)(\d{8})(?:T(\d{6}))?(?!\d)")
_TILE = re.compile(r"(?:^|_)T(\d{2}[A-Z]{3})(?:_|$)")


@dataclass(frozen=True)
class NamedFile:
    """What a band file's name tells: its band, the scene it belongs to (the name
    without the band), and the date and tile text if the name holds them."""

    band: str
    scene: str
    date: str | None
    tile: str | None


def check_pattern(text: str) -> str:
    """Validate a ``filename_pattern`` (or preset name); return the pattern.

    Raises
    ------
    ValueError
        No ``{band}``, an unknown placeholder, or a placeholder used twice.
    """
    pattern = PRESETS.get(text, text)
    names = [m.group(1) for m in _TOKEN.finditer(pattern) if m.group(0) != "*"]
    unknown = sorted({n for n in names if n not in _PLACEHOLDERS})
    if unknown:
        raise ValueError(f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)} "
                         f"in {text!r}; use {{band}}, {{date}}, {{tile}} and *")
    if "band" not in names:
        raise ValueError(f"{text!r} has no {{band}}: the band of each file must come from "
                         "its name (e.g. 'SENTINEL-2_MSI_{tile}_{band}_{date}'), or use a "
                         f"preset: {', '.join(PRESETS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"{text!r} uses a placeholder twice")
    return pattern


def _compile(pattern: str) -> re.Pattern:
    parts, last = [], 0
    for match in _TOKEN.finditer(pattern):
        parts.append(re.escape(pattern[last:match.start()]))
        parts.append(".*?" if match.group(0) == "*" else _PLACEHOLDERS[match.group(1)])
        last = match.end()
    parts.append(re.escape(pattern[last:]))
    return re.compile("".join(parts), re.IGNORECASE)


def name_parser(filename_pattern: str | None):
    """A function from a file stem to its :class:`NamedFile`, or None if it does not
    match (``filename_pattern`` None: the default naming, band id last)."""
    if filename_pattern is None:
        return _default_name
    regex = _compile(check_pattern(filename_pattern))

    def parse(stem: str) -> NamedFile | None:
        match = regex.fullmatch(stem)
        if match is None:
            return None
        groups = match.groupdict()
        start, end = match.span("band")
        before, after = stem[:start].rstrip("_-. "), stem[end:]
        scene = (before + after if before else after.lstrip("_-. ")) or stem
        tile = groups.get("tile")
        return NamedFile(canonical_band(groups["band"]), scene, groups.get("date"),
                         tile.upper() if tile else None)

    return parse


def date_and_tile(name: str) -> tuple[str | None, str | None]:
    """The first ``YYYYMMDD[THHMMSS]`` and ``_T30UVD_`` tile in a name, or None."""
    date, tile = _DATE.search(name), _TILE.search(name)
    return date.group(0) if date else None, tile.group(1) if tile else None


def _default_name(stem: str) -> NamedFile | None:
    match = BAND_FILE_PATTERN.match(stem)
    if match is None:
        return None
    prefix = match.group("prefix").rstrip("_-.") or stem
    return NamedFile(canonical_band(match.group("band")), prefix, *date_and_tile(prefix))


def parse_date(text: str) -> np.datetime64:
    """``YYYYMMDD``, ``YYYY-MM-DD`` with an optional ``THHMMSS``/``THH:MM:SS`` as datetime64.

    Raises
    ------
    ValueError
        Not a calendar date and time (e.g. month 13).
    """
    digits = re.sub(r"\D", "", text.split(".")[0])
    if len(digits) not in (8, 14):
        raise ValueError(f"{text!r} is not a date YYYYMMDD or YYYY-MM-DD[THH:MM:SS]")
    clock = digits[8:] or "000000"
    iso = f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}T{clock[:2]}:{clock[2:4]}:{clock[4:]}"
    return np.datetime64(iso, "ns")
