"""The spectral index registry: each index defined once, as a band-math expression.

Bands are Sentinel-2 L2A surface reflectance (0-1) by name: B02 blue, B03 green, B04
red, B05/B06 red edge (705/740 nm), B08 NIR, B11 SWIR 1.6 um, B12 SWIR 2.2 um. Every
division is safe: NaN (never inf) where the denominator is 0.

====== =========================================================== ==============================
name   formula                                                     reference
====== =========================================================== ==============================
NDVI   (B08 - B04) / (B08 + B04)                                   Rouse et al. 1974
GNDVI  (B08 - B03) / (B08 + B03)                                   Gitelson et al. 1996
NDVI705 (B06 - B05) / (B06 + B05)                                  Gitelson & Merzlyak 1994
GLI    (2 B03 - B04 - B02) / (2 B03 + B04 + B02)                   Louhaichi et al. 2001
EVI2   2.5 (B08 - B04) / (B08 + 2.4 B04 + 1)                       Jiang et al. 2008
SAVI   1.5 (B08 - B04) / (B08 + B04 + 0.5)                         Huete 1988
NDYI   (B03 - B02) / (B03 + B02)                                   Sulik & Long 2016
NDLI   (log(1/B12) - log(1/B11)) / (log(1/B12) + log(1/B11))       Serrano et al. 2002 (*)
NDMI   (B08 - B11) / (B08 + B11)                                   Gao 1996
NDWI   (B03 - B08) / (B03 + B08)                                   McFeeters 1996
NDSI   (B03 - B11) / (B03 + B11)                                   Hall et al. 1995
NDBI   (B11 - B08) / (B11 + B08)                                   Zha et al. 2003
BSI    ((B11 + B04) - (B08 + B02)) / ((B11 + B04) + (B08 + B02))   Rikimaru et al. 2002
SOBEL  Sobel gradient magnitude of one band (default B08)          Sobel & Feldman 1968
====== =========================================================== ==============================

(*) NDLI is defined on narrow bands at 1754 and 1680 nm, which Sentinel-2 lacks; here the
two SWIR bands stand in for them (B12 for 1754 nm, B11 for 1680 nm), so it is a SWIR
normalised log-ratio, not a lignin estimate. Redefine it under ``custom_indices`` (with
another name) if your reference chain used other bands.

Users add indices as expressions (see :mod:`hrlc.config.expressions`): they are parsed
and checked, never passed to ``eval``. The registry sits in the config layer so that a
configuration is checked against it without importing the feature stage;
:func:`hrlc.features.compute_index` computes the indices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hrlc.config.expressions import Expression, parse_expression
from hrlc.errors import ConfigError


@dataclass(frozen=True)
class SpectralIndex:
    """One index: a name, a band-math expression, what it is and where it comes from."""

    name: str
    formula: str
    long_name: str
    reference: str

    @property
    def expression(self) -> Expression:
        """The checked expression (parsed on use; the registry holds text only)."""
        return parse_expression(self.formula)

    @property
    def bands(self) -> tuple[str, ...]:
        """Bands the index needs."""
        return self.expression.bands


def _index(name: str, formula: str, long_name: str, reference: str) -> SpectralIndex:
    return SpectralIndex(name, formula, long_name, reference)


#: Band-math indices, by name.
INDICES: dict[str, SpectralIndex] = {i.name: i for i in (
    _index("NDVI", "(B08 - B04) / (B08 + B04)", "Normalized Difference Vegetation Index",
           "Rouse, Haas, Schell & Deering (1974), NASA SP-351, 309-317"),
    _index("GNDVI", "(B08 - B03) / (B08 + B03)", "Green NDVI",
           "Gitelson, Kaufman & Merzlyak (1996), Remote Sens. Environ. 58, 289-298"),
    _index("NDVI705", "(B06 - B05) / (B06 + B05)", "Red-edge NDVI (750/705 nm)",
           "Gitelson & Merzlyak (1994), J. Plant Physiol. 143, 286-292"),
    _index("GLI", "(2 * B03 - B04 - B02) / (2 * B03 + B04 + B02)", "Green Leaf Index",
           "Louhaichi, Borman & Johnson (2001), Geocarto Int. 16(1), 65-70"),
    _index("EVI2", "2.5 * (B08 - B04) / (B08 + 2.4 * B04 + 1)",
           "Two-band Enhanced Vegetation Index",
           "Jiang, Huete, Didan & Miura (2008), Remote Sens. Environ. 112, 3833-3845"),
    _index("SAVI", "1.5 * (B08 - B04) / (B08 + B04 + 0.5)",
           "Soil-Adjusted Vegetation Index (L = 0.5)",
           "Huete (1988), Remote Sens. Environ. 25, 295-309"),
    _index("NDYI", "(B03 - B02) / (B03 + B02)", "Normalized Difference Yellowness Index",
           "Sulik & Long (2016), Remote Sens. Environ. 179, 168-179"),
    _index("NDLI", "(log(1 / B12) - log(1 / B11)) / (log(1 / B12) + log(1 / B11))",
           "Normalized Difference Lignin Index (B12, B11 for 1754, 1680 nm)",
           "Serrano, Penuelas & Ustin (2002), Remote Sens. Environ. 81, 355-364"),
    _index("NDMI", "(B08 - B11) / (B08 + B11)", "Normalized Difference Moisture Index",
           "Gao (1996), Remote Sens. Environ. 58, 257-266"),
    _index("NDWI", "(B03 - B08) / (B03 + B08)", "Normalized Difference Water Index",
           "McFeeters (1996), Int. J. Remote Sens. 17(7), 1425-1432"),
    _index("NDSI", "(B03 - B11) / (B03 + B11)", "Normalized Difference Snow Index",
           "Hall, Riggs & Salomonson (1995), Remote Sens. Environ. 54, 127-140"),
    _index("NDBI", "(B11 - B08) / (B11 + B08)", "Normalized Difference Built-up Index",
           "Zha, Gao & Ni (2003), Int. J. Remote Sens. 24(3), 583-594"),
    _index("BSI", "((B11 + B04) - (B08 + B02)) / ((B11 + B04) + (B08 + B02))",
           "Bare Soil Index",
           "Rikimaru, Roy & Miyatake (2002), Tropical Ecology 43(1), 39-47"),
)}
#: The spatial index: Sobel gradient magnitude of one band (see :mod:`hrlc.features.sobel`).
SOBEL = "SOBEL"
SOBEL_REFERENCE = "Sobel & Feldman (1968); as skimage.filters.sobel"
#: Every built-in index name, in the order features are built.
INDEX_NAMES: tuple[str, ...] = (*INDICES, SOBEL)


def resolve_indices(names: list[str], custom: Mapping[str, str] | None = None
                    ) -> dict[str, SpectralIndex | None]:
    """Map requested names to registry entries (``None`` for SOBEL), checking them.

    Parameters
    ----------
    names : list of str
        Built-in names (case-insensitive) or keys of ``custom``.
    custom : mapping name -> expression, optional
        User indices, e.g. ``{"NDRE": "(B8A - B05) / (B8A + B05)"}``.

    Raises
    ------
    ConfigError
        Unknown name (the message lists the known ones), a custom index that shadows a
        built-in one, or an invalid expression.
    """
    custom = dict(custom or {})
    clash = sorted(set(n.upper() for n in custom) & set(INDEX_NAMES))
    if clash:
        raise ConfigError(f"custom index name(s) {clash} are built-in indices; rename them")
    user = {name: SpectralIndex(name, parse_expression(text).text, "user expression",
                                "user defined") for name, text in custom.items()}
    known = {**INDICES, **user}
    resolved: dict[str, SpectralIndex | None] = {}
    for name in names:
        key = name if name in user else name.upper()
        if key == SOBEL:
            resolved[SOBEL] = None
        elif key in known:
            resolved[key] = known[key]
        else:
            raise ConfigError(
                f"unknown index {name!r}; known indices: {', '.join(INDEX_NAMES)}"
                + (f"; custom: {', '.join(user)}" if user else "")
                + ". Add it under custom_indices as a band-math expression")
    return resolved
