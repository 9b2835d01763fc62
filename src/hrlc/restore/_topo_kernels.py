"""NumPy kernels of the topographic correction, one spatial block (all months) at a time.

Every function gets a block of composites (time, band, y, x), the block's slope and
aspect (y, x, degrees) and the per-month sun angles, and works within the block, so a
task never needs data of another block and memory stays at a few block-sized arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rules:
    """Where the correction applies (see :func:`hrlc.restore.correct_topography`)."""

    zenith: np.ndarray  # (time,) degrees
    azimuth: np.ndarray  # (time,) degrees
    min_slope: float
    shadow_cos_i: float
    water_ndwi: float | None
    green: int | None  # band index
    nir: int | None


def cos_incidence(slope, aspect, zenith, azimuth) -> np.ndarray:
    """``cos z cos s + sin z sin s cos(phi - a)``, element-wise; degrees, NaN aspect as 0."""
    z, phi = np.deg2rad(zenith), np.deg2rad(azimuth)
    s, a = np.deg2rad(slope), np.deg2rad(np.nan_to_num(aspect, nan=0.0))
    return (np.cos(z) * np.cos(s) + np.sin(z) * np.sin(s) * np.cos(phi - a)).astype(np.float32)


def _cos_i(slope: np.ndarray, aspect: np.ndarray, rules: Rules) -> np.ndarray:
    """(time, y, x) cos i of a block for each month's sun."""
    return cos_incidence(slope, aspect, rules.zenith[:, None, None],
                         rules.azimuth[:, None, None])


def shadow_block(slope: np.ndarray, aspect: np.ndarray, *, rules: Rules) -> np.ndarray:
    """(time, y, x) bool: a slope whose ``cos i`` is at most the shadow threshold."""
    with np.errstate(invalid="ignore"):
        on_slope = slope >= rules.min_slope
        return on_slope & (_cos_i(slope, aspect, rules) <= rules.shadow_cos_i)


def _usable(block: np.ndarray, slope: np.ndarray, cos_i: np.ndarray, rules: Rules,
            shadow: np.ndarray | None = None) -> np.ndarray:
    """(time, y, x) bool: sloped, lit (and not in ``shadow`` if given), not water."""
    with np.errstate(invalid="ignore", divide="ignore"):
        usable = (slope >= rules.min_slope) & (cos_i > rules.shadow_cos_i)
        if shadow is not None:
            usable &= shadow == 0
        if rules.water_ndwi is not None:
            g, n = block[:, rules.green], block[:, rules.nir]
            usable &= ~((g - n) / (g + n) > rules.water_ndwi)
    return usable


def sums_block(block: np.ndarray, slope: np.ndarray, aspect: np.ndarray,
               shadow: np.ndarray | None = None, *, rules: Rules) -> np.ndarray:
    """(time, band, 5, 1, 1) float64 sums n, sum x, sum y, sum x^2, sum x y of the fit.

    ``x`` is cos i and ``y`` the reflectance, over the usable pixels with a value;
    ``shadow`` (time, y, x) codes, when given, leave out every pixel not 0 (lit).
    """
    cos_i = _cos_i(slope, aspect, rules)
    usable = _usable(block, slope, cos_i, rules, shadow)
    x = cos_i.astype(np.float64)
    out = np.zeros(block.shape[:2] + (5, 1, 1), np.float64)
    for band in range(block.shape[1]):
        ok = usable & np.isfinite(block[:, band]) & np.isfinite(x)
        xs = np.where(ok, x, 0.0)
        ys = np.where(ok, block[:, band], 0.0).astype(np.float64)
        out[:, band, :, 0, 0] = np.stack([ok.sum((1, 2)), xs.sum((1, 2)), ys.sum((1, 2)),
                                          (xs * xs).sum((1, 2)), (xs * ys).sum((1, 2))], 1)
    return out


def correct_block(block: np.ndarray, slope: np.ndarray, aspect: np.ndarray, c: np.ndarray,
                  shadow: np.ndarray | None = None, *, rules: Rules) -> np.ndarray:
    """(time, band, y, x) float32: ``rho (cos z + c) / (cos i + c)`` where usable, else rho.

    ``c`` is (time, band), NaN where a band is left alone; ``shadow`` as in
    :func:`sums_block`.
    """
    cos_i = _cos_i(slope, aspect, rules)
    usable = _usable(block, slope, cos_i, rules, shadow)
    cos_z = np.cos(np.deg2rad(rules.zenith)).astype(np.float32)
    out = np.array(block, dtype=np.float32, copy=True)
    for t in range(block.shape[0]):
        for band in range(block.shape[1]):
            ct = np.float32(c[t, band])
            if not (np.isfinite(ct) and np.isfinite(cos_z[t])):
                continue  # no fit or no sun angle: the month keeps its values
            factor = (cos_z[t] + ct) / (cos_i[t] + ct)
            out[t, band] = np.where(usable[t], block[t, band] * factor, block[t, band])
    return out
