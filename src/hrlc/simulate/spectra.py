"""Surface reflectance of each land-cover class through the year (12 L2A bands).

Every pixel is a linear mixture of a few endmember spectra (green canopy, dry canopy,
soil, leaf-off branches, water...) whose fractions follow the phenology of its surface
kind on the day of year: crops green up, turn to straw, are harvested and ploughed
(winter cereals, rapeseed with its yellow flowering, maize, spring crops); meadows are
mown; deciduous forest leafs out, colours in autumn and drops its leaves; needleleaf
forest stays green; water is dark in NIR/SWIR and more turbid in spring.

Patches differ as real ones do: fields shift their calendar by up to +-18 days (stands
+-8), canopy vigour varies by patch (0.7-1.05) and by pixel (+-12 %, 30 m texture),
stands are mixed (conifers among broadleaves and back), blocks have gardens, pastures
worn patches; brightness varies by +-12 % per patch and +-4 % per pixel.

Endmember values are typical surface reflectances (0-1) at the Sentinel-2 band centres
(B01 443 nm ... B12 2202 nm), in the order of :data:`hrlc.io.bands.L2A_BANDS`.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from hrlc.simulate import landcover as lc

#: Endmember spectra, bands B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B11 B12.
ENDMEMBERS: dict[str, tuple[float, ...]] = {
    "green_crop": (.030, .035, .075, .035, .110, .320, .410, .440, .450, .430, .230, .110),
    "straw": (.070, .090, .140, .190, .220, .260, .290, .310, .320, .320, .380, .290),
    "soil": (.060, .080, .110, .150, .175, .200, .220, .240, .250, .255, .330, .280),
    "rapeseed_flower": (.040, .050, .160, .110, .170, .320, .390, .420, .430, .410, .240, .120),
    "green_grass": (.030, .040, .080, .050, .120, .270, .340, .370, .380, .360, .250, .130),
    "dry_grass": (.060, .075, .110, .140, .180, .220, .250, .270, .280, .280, .330, .240),
    "leaf_on": (.022, .030, .058, .032, .090, .250, .320, .345, .355, .340, .170, .075),
    "leaf_off": (.040, .050, .070, .080, .105, .140, .160, .175, .185, .185, .230, .160),
    "autumn_leaves": (.035, .045, .080, .090, .140, .210, .250, .270, .280, .270, .210, .120),
    "needleleaf": (.015, .020, .040, .022, .060, .150, .190, .205, .215, .205, .110, .050),
    "shrub": (.035, .045, .070, .070, .110, .180, .220, .235, .245, .240, .250, .160),
    "rock": (.110, .130, .160, .190, .210, .225, .235, .245, .250, .250, .280, .240),
    "asphalt": (.070, .075, .080, .085, .090, .095, .100, .105, .108, .110, .120, .115),
    "concrete": (.200, .220, .250, .270, .280, .290, .295, .300, .305, .300, .330, .300),
    "tile_roof": (.070, .080, .100, .200, .240, .260, .270, .280, .285, .285, .330, .290),
    "clear_water": (.045, .045, .040, .025, .020, .012, .010, .008, .007, .005, .003, .002),
    "turbid_water": (.060, .065, .085, .070, .060, .030, .022, .018, .015, .010, .004, .003),
}
_NAMES = tuple(ENDMEMBERS)
_INDEX = {name: i for i, name in enumerate(_NAMES)}
ENDMEMBER_TABLE = np.array([ENDMEMBERS[n] for n in _NAMES], dtype=np.float32)  # (n, 12)

#: Fraction of the irradiance that is diffuse sky light, per band (blue scatters most):
#: the part of the light that terrain orientation and cloud shadows do not change.
DIFFUSE_FRACTION = np.array(
    [.45, .38, .28, .22, .19, .17, .15, .14, .13, .13, .08, .06], dtype=np.float32)

CALENDAR_JITTER = 18.0  # days, per field: sowing and mowing dates differ
FOREST_JITTER = 8.0  # days, per stand
MAX_PARTS = 5  # endmembers per pixel


def _rise(day: np.ndarray, centre: float | np.ndarray, width: float) -> np.ndarray:
    """Logistic step from 0 to 1 around ``centre`` (days), ``width`` days wide."""
    return 1.0 / (1.0 + np.exp(-(day - centre) / width))


def _bump(day: np.ndarray, centre: float | np.ndarray, width: float) -> np.ndarray:
    return np.exp(-(((day - centre) / width) ** 2))


# Crop calendars (day of year): green-up, senescence, harvest, ploughing, autumn sowing
# (None: spring sown), peak green cover.
_CROPS = {
    lc.WINTER_CEREAL: (80, 165, 200, 240, 285, 0.92),
    lc.RAPESEED: (60, 160, 190, 225, 240, 0.9),
    lc.MAIZE: (160, 255, 285, 300, None, 0.95),
    lc.SPRING_CROP: (135, 210, 235, 260, None, 0.85),
}


def _crop(kind: int, day: np.ndarray, vigour: np.ndarray) -> dict[str, np.ndarray]:
    greenup, senescence, harvest, plough, sowing, peak = _CROPS[kind]
    green = peak * vigour * _rise(day, greenup, 8) * (1 - _rise(day, senescence, 7))
    if sowing is not None:  # sown in autumn: sparse green cover through the winter
        cover = (0.3 if kind == lc.RAPESEED else 0.2) * vigour
        green = green + cover * ((1 - _rise(day, greenup, 8)) + _rise(day, sowing + 30, 10))
    straw = 0.9 * vigour * _rise(day, senescence, 7) * (1 - _rise(day, harvest, 2))
    straw = straw + 0.35 * _rise(day, harvest, 2) * (1 - _rise(day, plough, 3))
    parts = {"green_crop": green, "straw": straw}
    if kind == lc.RAPESEED:
        flower = 0.75 * _bump(day, 115, 12)
        parts = {"green_crop": green * (1 - flower), "rapeseed_flower": green * flower,
                 "straw": straw}
    return parts


def _grass(kind: int, day: np.ndarray, vigour: np.ndarray,
           mix: np.ndarray) -> dict[str, np.ndarray]:
    bare = 0.3 * np.clip(0.4 - mix, 0, None)  # worn, grazed or rocky patches
    if kind == lc.ALPINE_MEADOW:
        green = vigour * (0.1 + 0.75 * _rise(day, 150, 10) * (1 - _rise(day, 260, 10)))
        return {"green_grass": green, "dry_grass": 0.7 * (1 - green), "rock": 2 * bare}
    season = _rise(day, 85, 12) * (1 - _rise(day, 290, 15))
    green = vigour * (0.45 + 0.45 * season)
    if kind == lc.MEADOW:  # mown twice, regrows in about three weeks
        for mowing in (155, 215):
            after = np.clip(day - mowing, 0, None)
            green = green * (1 - 0.6 * np.where(day >= mowing, np.exp(-after / 20), 0))
    elif kind == lc.PASTURE:
        green = green - 0.15 * _bump(day, 210, 25)
    return {"green_grass": green, "dry_grass": 0.9 * (1 - green), "soil": bare}


def _deciduous(day: np.ndarray, vigour: np.ndarray, mix: np.ndarray) -> dict[str, np.ndarray]:
    conifers = 0.4 * mix * mix  # mixed stands
    leaves = vigour * _rise(day, 115, 7) * (1 - _rise(day, 295, 8))
    autumn = 0.8 * _bump(day, 285, 14)
    on = leaves * (1 - autumn)
    return {"leaf_on": on * (1 - conifers), "autumn_leaves": autumn * leaves * (1 - conifers),
            "leaf_off": (1 - leaves) * (1 - conifers), "needleleaf": conifers + 0 * day}


def _needleleaf(day: np.ndarray, vigour: np.ndarray, mix: np.ndarray) -> dict[str, np.ndarray]:
    broadleaves = 0.35 * mix * mix  # mixed stands
    leaves = _rise(day, 115, 7) * (1 - _rise(day, 295, 8))
    understory = 0.12 * _rise(day, 110, 12) * (1 - _rise(day, 290, 12))
    crowns = 0.88 * vigour * (1 - broadleaves)
    return {"needleleaf": crowns, "leaf_on": broadleaves * leaves,
            "leaf_off": broadleaves * (1 - leaves), "green_grass": understory,
            "dry_grass": 1 - crowns - broadleaves - understory}


def _shrub(day: np.ndarray, vigour: np.ndarray, mix: np.ndarray) -> dict[str, np.ndarray]:
    shrubs = 0.35 + 0.35 * mix
    green = 0.3 * vigour * _rise(day, 120, 12) * (1 - _rise(day, 280, 12))
    return {"shrub": shrubs + 0 * day, "green_grass": green * (1 - shrubs),
            "rock": (1 - shrubs) * (1 - green)}


def _built(kind: int, day: np.ndarray, mix: np.ndarray) -> dict[str, np.ndarray]:
    material = {lc.ASPHALT: "asphalt", lc.CONCRETE: "concrete", lc.TILE_ROOF: "tile_roof"}[kind]
    sealed = 0.95 - 0.35 * mix * mix  # gardens and street trees in the rest
    leaves = _rise(day, 115, 7) * (1 - _rise(day, 295, 8))
    green = (1 - sealed) * 0.6
    return {material: sealed + 0 * day, "leaf_on": green * leaves,
            "leaf_off": green * (1 - leaves), "green_grass": (1 - sealed) * 0.4}


def _bare(kind: int, day: np.ndarray, mix: np.ndarray) -> dict[str, np.ndarray]:
    sparse = 0.15 * mix * _rise(day, 110, 12) * (1 - _rise(day, 280, 12))
    return {"rock" if kind == lc.ROCK else "soil": 1 - sparse, "green_grass": sparse}


def _water(kind: int, day: np.ndarray, mix: np.ndarray) -> dict[str, np.ndarray]:
    turbid = (0.1 if kind == lc.LAKE else 0.3) + 0.3 * mix + 0.3 * _bump(day, 100, 30)
    return {"turbid_water": turbid, "clear_water": 1 - turbid}


def fractions(code: int, kind: int, day: np.ndarray, vigour: np.ndarray,
              mix: np.ndarray) -> dict[str, np.ndarray]:
    """Endmember fractions of one surface kind on ``day`` (day of year, per pixel).

    ``vigour`` (about 0.6-1.1) scales green canopy cover; ``mix`` (0-1) sets the
    per-patch mixture (conifers in a broadleaf stand, gardens in a block...). Fractions
    that do not add up to 1 are completed with bare soil (crops) or scaled (others).
    """
    if code == lc.CROP:
        parts = _crop(kind, day, vigour)
    elif code == lc.GRASS:
        parts = _grass(kind, day, vigour, mix)
    elif code == lc.DECIDUOUS:
        parts = _deciduous(day, vigour, mix)
    elif code == lc.CONIFER:
        parts = _needleleaf(day, vigour, mix)
    elif code == lc.SHRUB:
        parts = _shrub(day, vigour, mix)
    elif code == lc.BUILT:
        parts = _built(kind, day, mix)
    elif code == lc.WATER:
        parts = _water(kind, day, mix)
    else:
        parts = _bare(kind, day, mix)
    parts = {k: np.clip(v, 0, None) for k, v in parts.items()}
    total = sum(parts.values())
    if code == lc.CROP:
        parts["soil"] = np.clip(1 - total, 0, None)
        total = np.maximum(total, 1.0)
    return {k: v / total for k, v in parts.items()}


def surface_reflectance(surface: lc.Surface, texture: np.ndarray, vigour_noise: np.ndarray, *,
                        day_of_year: float) -> np.ndarray:
    """Reflectance of a window of land cover on one day, before illumination.

    Parameters
    ----------
    surface : Surface of the window (class codes, kinds, patch ids)
    texture, vigour_noise : ndarray (rows, cols), float32
        Fine-scale noise (about -1 to 1) for per-pixel brightness and canopy vigour.
    day_of_year : float
        Acquisition day (1 = 1 January).

    Returns
    -------
    ndarray (12, rows, cols), float32, 0-1
        Bands in :data:`hrlc.io.bands.L2A_BANDS` order.
    """
    shape = surface.code.shape
    index = np.zeros((MAX_PARTS, *shape), np.int8)
    weight = np.zeros((MAX_PARTS, *shape), np.float32)
    calendar = surface.patch_uniform(3).astype(np.float64) - 0.5
    vigour = (0.7 + 0.35 * surface.patch_uniform(5)) * (1 + 0.12 * vigour_noise)
    mix = surface.patch_uniform(6)
    groups = np.unique(surface.code.astype(np.int32) * 256 + surface.kind)
    for group in groups:
        code, kind = divmod(int(group), 256)
        where = (surface.code == code) & (surface.kind == kind)
        jitter = FOREST_JITTER if code in (lc.CONIFER, lc.DECIDUOUS) else CALENDAR_JITTER
        day = day_of_year - 2 * jitter * calendar[where]
        parts = fractions(code, kind, day, vigour[where], mix[where])
        for k, (name, value) in enumerate(parts.items()):
            index[k][where] = _INDEX[name]
            weight[k][where] = value
    brightness = (0.88 + 0.24 * surface.patch_uniform(4)) * (1 + 0.04 * texture)
    return _mix(index, weight, brightness.astype(np.float32), ENDMEMBER_TABLE)


@nb.njit(cache=True, nogil=True)
def _mix(index, weight, brightness, table):
    parts, rows, cols = index.shape
    bands = table.shape[1]
    out = np.zeros((bands, rows, cols), np.float32)
    for r in range(rows):
        for c in range(cols):
            for k in range(parts):
                w = weight[k, r, c] * brightness[r, c]
                if w != 0.0:
                    e = index[k, r, c]
                    for b in range(bands):
                        out[b, r, c] += w * table[e, b]
    return out
