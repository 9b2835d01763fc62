"""The names the feature options accept: GLCM textures, statistics over the months,
feature presets and the options a preset fixes.

The feature stage computes what these name (:mod:`hrlc.features.glcm`,
:mod:`hrlc.features.temporal`, :mod:`hrlc.features.presets`, which re-export them); they
live in the config layer so that :class:`hrlc.config.features.FeaturesConfig` checks a
configuration without importing the stage (and numba). Spectral index names:
:mod:`hrlc.config.indices`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hrlc.errors import ConfigError

#: Every GLCM texture of :mod:`hrlc.features.glcm`, with its formula.
TEXTURES: dict[str, str] = {
    "contrast": "sum P(i,j) (i-j)^2",
    "dissimilarity": "sum P(i,j) |i-j|",
    "homogeneity": "sum P(i,j) / (1 + (i-j)^2)",
    "ASM": "angular second moment, sum P(i,j)^2",
    "energy": "sqrt(ASM)",
    "correlation": "sum P(i,j) (i-mu)(j-mu) / var (1 where var = 0)",
    "entropy": "-sum P(i,j) ln P(i,j)",
    "mean": "GLCM mean, sum P(i,j) i",
    "variance": "GLCM variance, sum P(i,j) (i-mu)^2",
    "std": "sqrt(GLCM variance)",
}
#: The six textures of the HRLC reference chain (default).
DEFAULT_TEXTURES: tuple[str, ...] = (
    "contrast", "dissimilarity", "homogeneity", "ASM", "correlation", "entropy",
)
#: Statistics over months that can be taken of each index
#: (:mod:`hrlc.features.temporal`).
STATISTICS: dict[str, str] = {
    "median": "median", "mean": "mean", "min": "minimum", "max": "maximum",
    "std": "standard deviation",
}
#: The presets of :func:`hrlc.features.build_features`.
PRESETS: tuple[str, ...] = ("reference", "extended")
#: Options of ``build_features`` that choose which features are built, with the value
#: that leaves the choice to the preset (``None``, or an empty mapping, means unset).
CHOOSING: dict[str, Any] = {
    "bands": None, "months": None, "indices": None, "custom_indices": None,
    "index_months": None, "index_statistics": (), "glcm_textures": DEFAULT_TEXTURES,
}


def _unset(value: Any, default: Any) -> bool:
    if default is None:
        return value is None or (isinstance(value, Mapping) and not value)
    return value is not None and tuple(value) == tuple(default)


def check_options(preset: str, options: Mapping[str, Any]) -> None:
    """Check that ``preset`` is known and that the options leave it its feature list.

    Parameters
    ----------
    preset : str
        One of :data:`PRESETS`.
    options : mapping
        The values of (some of) the :data:`CHOOSING` options of ``build_features``.

    Raises
    ------
    ConfigError
        Unknown preset, or ``reference`` with an option of :data:`CHOOSING` that is not
        its default (the message names them and their values).
    """
    if preset not in PRESETS:
        raise ConfigError(f"unknown feature preset {preset!r}; use one of {', '.join(PRESETS)}")
    if preset == "extended":
        return
    set_here = {k: v for k, v in options.items() if k in CHOOSING and not _unset(v, CHOOSING[k])}
    if set_here:
        given = ", ".join(f"{k}={v!r}" for k, v in set_here.items())
        raise ConfigError(
            f"preset 'reference' fixes the feature list, so {', '.join(set_here)} must be "
            f"left unset (got {given}); remove them, or use preset 'extended' to choose "
            "features")
