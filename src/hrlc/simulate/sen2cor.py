"""A Sen2Cor-like scene classification (SCL) made from the truth, with its typical errors.

The SCL is made at 20 m, like Sen2Cor's: each 20 m pixel takes the truth of its top-left
10 m pixel and is then labelled the way Sen2Cor tends to label it:

========================  ==================================================  ===========
truth                     SCL                                                  error rate
========================  ==================================================  ===========
thick cloud               9 (high probability; 8 below opacity 0.8)
                          missed: surface class                               ``missed_thick_cloud``
thin cloud, cloud edges   8 (medium probability) or 10 (where cirrus dominates)
                          missed: surface class                               ``missed_thin_cloud``
cloud shadow              3
                          missed: 2 (dark area) or surface class, half each   ``missed_shadow``
clear, built-up or bare   surface class; called cloud (8)                     ``bright_as_cloud``
                          a fixed set: cloud (8) on most dates                (see below)
clear, dark surface       surface class; called dark area (2)                 ``dark_area``
no data                   0
========================  ==================================================  ===========

Surface classes: 6 water (water land cover), 4 vegetation (NDVI > 0.4), 5 not
vegetated. "Dark" means NIR reflectance below 0.12 off water: shaded slopes, dense
needleleaf forest, asphalt. Errors come in patches of about 80 m (Voronoi cells with one
uniform number each), as Sen2Cor misses whole cloud fringes rather than single pixels;
each rate is therefore the expected fraction of affected 20 m pixels.

``bright_as_cloud`` draws its patches anew for every date. ``persistent_bright_as_cloud``
is Sen2Cor's other habit: the same bright surfaces (roofs, sand, surf) called cloud on
most dates. Its patches are drawn once per seed, from cells and numbers that do not
depend on the acquisition index, so that fraction of the built-up and bare pixels is a
fixed set; each date then calls a patch of the set cloud with probability
``PERSISTENT_DATE_PROBABILITY`` (0.9), drawn per patch and date. With the default rate 0
no number is drawn and the SCL is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrlc.masks.scl import CLEAR, NODATA, SHADOW, THICK_CLOUD, THIN_CLOUD
from hrlc.simulate import landcover as lc
from hrlc.simulate.noise import cell_uniform, cells, derive_seed

NO_DATA, DARK_AREA, CLOUD_SHADOW, VEGETATION, NOT_VEGETATED, WATER = 0, 2, 3, 4, 5, 6
CLOUD_MEDIUM, CLOUD_HIGH, THIN_CIRRUS = 8, 9, 10
ERROR_PATCH = 4.0  # 20 m pixels between error patch seeds (~80 m)
DARK_NIR = 0.12
VEGETATION_NDVI = 0.4
#: Probability that a patch of the persistent error set is called cloud on a given date.
PERSISTENT_DATE_PROBABILITY = 0.9


@dataclass(frozen=True)
class SclErrors:
    """Error rates of the simulated Sen2Cor classification (fractions 0-1; see module)."""

    missed_thin_cloud: float
    missed_thick_cloud: float
    missed_shadow: float
    bright_as_cloud: float
    dark_area: float
    persistent_bright_as_cloud: float = 0.0


def sen2cor_scl(*, truth: np.ndarray, opacity: np.ndarray, cirrus: np.ndarray,
                landcover: np.ndarray, red: np.ndarray, nir: np.ndarray,
                cell_window: tuple[int, int, int, int], errors: SclErrors, seed: int,
                index: int) -> np.ndarray:
    """SCL codes of 20 m pixels.

    Parameters
    ----------
    truth : ndarray (rows, cols), uint8
        CloudSEN12 truth of each 20 m pixel (0 clear, 1 thick, 2 thin, 3 shadow, 255).
    opacity, cirrus : ndarray, float32
        Low-cloud and cirrus opacity (0-1).
    landcover : ndarray, uint8
        Class codes.
    red, nir : ndarray, float32
        Cloud-free reflectance in B04 and B08 (0-1), with terrain illumination.
    cell_window : (row0, col0, rows, cols)
        The pixels' position on the 20 m grid of the tile.
    errors : SclErrors
    seed, index : int
        Simulation seed and acquisition index.

    Returns
    -------
    ndarray (rows, cols), uint8, Sen2Cor codes 0-11
    """
    ids, _, _, _ = cells(cell_window, spacing=ERROR_PATCH, seed=derive_seed(seed, "scl", index))
    draw = {name: cell_uniform(ids, salt) for salt, name in enumerate(
        ("thick", "thin", "shadow", "bright", "dark", "dark_or_surface"), start=1)}

    ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
    water = landcover == lc.WATER
    scl = np.where(water, WATER, np.where(ndvi > VEGETATION_NDVI, VEGETATION, NOT_VEGETATED))
    scl = scl.astype(np.uint8)

    clear = truth == CLEAR
    bright = clear & np.isin(landcover, (lc.BUILT, lc.BARE))
    scl[bright & (draw["bright"] < errors.bright_as_cloud)] = CLOUD_MEDIUM
    if errors.persistent_bright_as_cloud > 0:
        scl[bright & persistent_cloud(cell_window, rate=errors.persistent_bright_as_cloud,
                                      seed=seed, index=index)] = CLOUD_MEDIUM
    dark = clear & ~water & (nir < DARK_NIR) & (scl != CLOUD_MEDIUM)
    scl[dark & (draw["dark"] < errors.dark_area)] = DARK_AREA

    shadow = truth == SHADOW
    missed = draw["shadow"] < errors.missed_shadow
    scl[shadow & ~missed] = CLOUD_SHADOW
    scl[shadow & missed & (draw["dark_or_surface"] < 0.5)] = DARK_AREA

    thin = (truth == THIN_CLOUD) & (draw["thin"] >= errors.missed_thin_cloud)
    scl[thin] = np.where(cirrus > opacity, THIN_CIRRUS, CLOUD_MEDIUM)[thin]
    thick = (truth == THICK_CLOUD) & (draw["thick"] >= errors.missed_thick_cloud)
    scl[thick] = np.where(opacity >= 0.8, CLOUD_HIGH, CLOUD_MEDIUM)[thick]

    scl[truth == NODATA] = NO_DATA
    return scl


def persistent_cloud(cell_window: tuple[int, int, int, int], *, rate: float, seed: int,
                     index: int) -> np.ndarray:
    """Pixels of the persistent bright-as-cloud error called cloud on one date.

    Parameters
    ----------
    cell_window : (row0, col0, rows, cols)
        Pixels on the 20 m grid of the tile.
    rate : float
        Fraction (0-1) of the pixels in the fixed error set (before the land cover is
        applied: only its built-up and bare pixels are affected).
    seed, index : int
        Simulation seed and acquisition index.

    Returns
    -------
    ndarray (rows, cols), bool
        The fixed set (the same for every ``index``), less the patches spared on this
        date (each with probability ``1 - PERSISTENT_DATE_PROBABILITY``).
    """
    # no index in the seed or the salt: the patches and their membership are fixed
    ids, _, _, _ = cells(cell_window, spacing=ERROR_PATCH, seed=derive_seed(seed, "scl-fixed"))
    member = cell_uniform(ids, 1) < rate
    today = cell_uniform(ids, derive_seed(seed, "scl-fixed-date", index)) < \
        PERSISTENT_DATE_PROBABILITY
    return member & today
