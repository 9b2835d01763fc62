"""Sentinel-2 band identities: names, native resolutions and canonical order."""

from __future__ import annotations

import re

#: Surface-reflectance bands of an L2A product in canonical order (B10 is not in L2A).
L2A_BANDS: tuple[str, ...] = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12",
)

#: Native ground sampling distance of each band, in metres.
NATIVE_RESOLUTION: dict[str, int] = {
    "B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20,
    "B08": 10, "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20, "SCL": 20,
}

_ALIASES = {f"B{i}": f"B{i:02d}" for i in range(1, 13)} | {"B8A": "B8A", "B08A": "B8A"}

# A band id at the end of a file stem, optionally followed by the resolution suffix
# used inside SAFE products (``T32TQM_20190212T101021_B02_10m``).
BAND_FILE_PATTERN = re.compile(
    r"^(?P<prefix>.*?)[_\-.]?(?P<band>B0?[1-9]|B1[0-2]|B8A|B08A|SCL)(?:_(?P<res>10|20|60)m)?$",
    re.IGNORECASE,
)


def canonical_band(name: str) -> str:
    """Return the canonical band id (``"B2"`` -> ``"B02"``, ``"b8a"`` -> ``"B8A"``).

    Raises
    ------
    ValueError
        If ``name`` is not a Sentinel-2 band id.
    """
    key = name.strip().upper()
    if key in NATIVE_RESOLUTION:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    raise ValueError(
        f"{name!r} is not a Sentinel-2 band id; expected one of {', '.join(L2A_BANDS)}"
    )


def sort_bands(bands: list[str] | tuple[str, ...]) -> list[str]:
    """Sort band ids in canonical Sentinel-2 order (B01 ... B08, B8A, B09 ... B12)."""
    order = {b: i for i, b in enumerate(L2A_BANDS)}
    return sorted(bands, key=lambda b: order.get(b, len(order)))
