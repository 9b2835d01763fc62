"""Cloud restoration of monthly composites: gap filling, topographic and shadow correction.

``fill_gaps(composites, *, reach=1)`` fills missing pixel-months from the adjacent
months and flags how; ``correct_topography(composites, slope, aspect, c)`` removes the
illumination effect of terrain (C-correction fitted per month and band with
``fit_c_factors``); ``terrain_shadow(dem, slope, aspect, ...)`` finds self and cast
terrain shadow per month, and ``correct_terrain_shadow`` gives shadowed pixels the
statistics of lit ones (``fit_shadow_correction``). ``restore_composites`` chains them
in either order (``fit_restoration`` fits them on the whole tile first).
"""

from hrlc.restore.chain import (
    ORDERS,
    SHADOW_CORRECTIONS,
    RestorationFit,
    fit_restoration,
    restore_composites,
)
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
from hrlc.restore.shadow import (
    CAST_SHADOW,
    LIT,
    SELF_SHADOW,
    SHADOW_NAMES,
    cast_shadow,
    dem_relief,
    shadow_reach,
    terrain_shadow,
)
from hrlc.restore.shadow_correction import correct_terrain_shadow, fit_shadow_correction
from hrlc.restore.topographic import correct_topography, fit_c_factors, illumination

__all__ = [
    "BOTH_SIDES",
    "CAST_SHADOW",
    "FLAG_NAMES",
    "LIT",
    "MISSING",
    "OBSERVED",
    "ONE_SIDE",
    "ORDERS",
    "SELF_SHADOW",
    "SHADOW_CORRECTIONS",
    "SHADOW_NAMES",
    "RestorationFit",
    "cast_shadow",
    "check_coverage",
    "correct_terrain_shadow",
    "correct_topography",
    "dem_relief",
    "fill_gaps",
    "fit_c_factors",
    "fit_restoration",
    "fit_shadow_correction",
    "gap_fractions",
    "illumination",
    "restore_composites",
    "shadow_reach",
    "terrain_shadow",
]
