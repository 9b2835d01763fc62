"""Cloud restoration of monthly composites: temporal gap filling and topographic correction.

``fill_gaps(composites, *, reach=1)`` fills missing pixel-months from the adjacent
months and flags how; ``correct_topography(composites, slope, aspect, c)`` removes the
illumination effect of terrain (C-correction fitted per month and band with
``fit_c_factors``) and flags terrain in shadow.
"""

from hrlc.restore.dem import check_coverage
from hrlc.restore.interpolate import (
    BOTH_SIDES,
    FLAG_NAMES,
    MISSING,
    OBSERVED,
    ONE_SIDE,
    fill_gaps,
    gap_fractions,
)
from hrlc.restore.topographic import correct_topography, fit_c_factors, illumination

__all__ = [
    "BOTH_SIDES",
    "FLAG_NAMES",
    "MISSING",
    "OBSERVED",
    "ONE_SIDE",
    "check_coverage",
    "correct_topography",
    "fill_gaps",
    "fit_c_factors",
    "gap_fractions",
    "illumination",
]
