"""Numba kernels of the terrain-shadow layer and of its statistical correction.

``march`` finds cast shadows on one DEM block; the others assign strata and apply or
sum the per-stratum statistics on one block of composites (time, band, y, x). All work
within the block: the caller gives the halo (cast shadows) or nothing (the rest).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Reflectance below this is taken as this before the logarithm of the clustering.
LOG_FLOOR = 1e-3


@njit(nogil=True, cache=True)
def _sample(dem, row, col):
    """Bilinear DEM value at fractional (row, col) inside the block; NaN if a used cell is."""
    ny, nx = dem.shape
    r0 = min(int(math.floor(row)), ny - 1)
    c0 = min(int(math.floor(col)), nx - 1)
    fr, fc = row - r0, col - c0
    r1, c1 = min(r0 + 1, ny - 1), min(c0 + 1, nx - 1)
    z00, z01, z10, z11 = dem[r0, c0], dem[r0, c1], dem[r1, c0], dem[r1, c1]
    # a NaN cell matters only where its weight is not zero
    if (math.isnan(z00) or (fc > 0.0 and math.isnan(z01)) or (fr > 0.0 and math.isnan(z10))
            or (fr > 0.0 and fc > 0.0 and math.isnan(z11))):
        return np.nan
    top = z00 if fc == 0.0 else z00 + fc * (z01 - z00)
    if fr == 0.0:
        return top
    bottom = z10 if fc == 0.0 else z10 + fc * (z11 - z10)
    return top + fr * (bottom - top)


@njit(nogil=True, cache=True)
def march(dem, east_step, north_step, zenith, azimuth, max_distance):
    """(y, x) bool: pixels from which the terrain hides the sun (ray-marching).

    From each pixel the ray towards the sun is followed in steps of one pixel along the
    dominant axis of the azimuth (so one coordinate of every sample is a whole pixel and
    the other is interpolated linearly), up to ``max_distance`` metres, the block edge, or
    the height of the block's highest point; the pixel is shadowed when a sample of the
    terrain rises above the ray. ``east_step``/``north_step`` are the signed metres of one
    column/row step; angles in degrees; NaN elevations neither cast nor receive shadow.
    """
    ny, nx = dem.shape
    out = np.zeros((ny, nx), np.bool_)
    if math.isnan(zenith) or math.isnan(azimuth):
        return out
    if zenith >= 90.0:
        out[:, :] = True  # the sun is down: no direct light anywhere
        return out
    z, a = math.radians(zenith), math.radians(azimuth)
    col_per_m = math.sin(a) / east_step
    row_per_m = math.cos(a) / north_step
    ds = 1.0 / max(abs(col_per_m), abs(row_per_m))  # metres per step
    dc, dr = col_per_m * ds, row_per_m * ds
    # exact whole steps on the dominant axis and none across a cardinal azimuth, so the
    # rounding of sin/cos never moves a sample off the grid line (or out of the block)
    dc = 0.0 if abs(dc) < 1e-9 else (math.copysign(1.0, dc) if abs(dc) > 1 - 1e-9 else dc)
    dr = 0.0 if abs(dr) < 1e-9 else (math.copysign(1.0, dr) if abs(dr) > 1 - 1e-9 else dr)
    rise = ds * math.cos(z) / math.sin(z)
    steps = int(max_distance / ds)
    top = -np.inf
    for r in range(ny):
        for c in range(nx):
            if dem[r, c] > top:
                top = dem[r, c]
    for r in range(ny):
        for c in range(nx):
            z0 = dem[r, c]
            if math.isnan(z0):
                continue
            for k in range(1, steps + 1):
                height = z0 + k * rise
                if height >= top:
                    break
                row, col = r + k * dr, c + k * dc
                if row < 0.0 or col < 0.0 or row > ny - 1 or col > nx - 1:
                    break
                if _sample(dem, row, col) > height:  # False for NaN
                    out[r, c] = True
                    break
    return out


@njit(nogil=True, cache=True)
def _nearest(features, centres, free_level):
    """Index of the nearest centre (squared Euclidean) of a feature vector.

    With ``free_level`` the mean difference over the features is ignored (distance of
    the shapes), as the depth of a shadow varies from pixel to pixel.
    """
    n = features.shape[0]
    best, arg = np.inf, -1
    for k in range(centres.shape[0]):
        level = 0.0
        if free_level:
            for j in range(n):
                level += features[j] - centres[k, j]
            level /= n
        d = 0.0
        for j in range(n):
            e = features[j] - centres[k, j] - level
            d += e * e
        if d < best:
            best, arg = d, k
    return arg


@njit(nogil=True, cache=True)
def assign(block, shadow, strata, centres, shift):
    """(time, y, x) int32 stratum of each pixel-month; -1 where a band is missing.

    With a land-cover map (``strata`` >= 0) its code is the stratum. Otherwise the
    nearest of the month's ``centres`` (time, k, band) in log reflectance; shadowed
    pixels (``shadow`` > 0) first lose the month's shadow ``shift`` (time, band) and are
    compared by shape (their mean log difference to a centre is ignored).
    """
    n_time, n_bands, ny, nx = block.shape
    out = np.full((n_time, ny, nx), -1, np.int32)
    features = np.empty(n_bands)
    for t in range(n_time):
        for y in range(ny):
            for x in range(nx):
                ok = True
                for b in range(n_bands):
                    v = block[t, b, y, x]
                    if math.isnan(v):
                        ok = False
                        break
                    features[b] = math.log(max(v, LOG_FLOOR))
                    if shadow[t, y, x] > 0:
                        features[b] -= shift[t, b]
                if not ok:
                    continue
                if strata[y, x] >= 0:
                    out[t, y, x] = strata[y, x]
                elif centres.shape[1] > 0 and not math.isnan(centres[t, 0, 0]):
                    out[t, y, x] = _nearest(features, centres[t], shadow[t, y, x] > 0)
                else:
                    out[t, y, x] = 0
    return out


@njit(nogil=True, cache=True)
def slope_class(slope, bins):
    """(y, x) int32 index of the slope class (``bins`` are the inner edges, degrees)."""
    ny, nx = slope.shape
    out = np.zeros((ny, nx), np.int32)
    for y in range(ny):
        for x in range(nx):
            k = 0
            while k < bins.shape[0] and slope[y, x] >= bins[k]:
                k += 1
            out[y, x] = k
    return out


@njit(nogil=True, cache=True)
def sums(block, shadow, stratum, classes, n_strata, n_classes):
    """(time, band, stratum, slope class, lit/shadow, 3) float64: n, sum, sum of squares.

    Index 0 of the lit/shadow axis is lit ground (code 0), 1 shadow (codes 1 and 2).
    """
    n_time, n_bands, ny, nx = block.shape
    out = np.zeros((n_time, n_bands, n_strata, n_classes, 2, 3))
    for t in range(n_time):
        for y in range(ny):
            for x in range(nx):
                k = stratum[t, y, x]
                if k < 0 or k >= n_strata:
                    continue
                s, side = classes[y, x], 1 if shadow[t, y, x] > 0 else 0
                for b in range(n_bands):
                    v = block[t, b, y, x]
                    out[t, b, k, s, side, 0] += 1.0
                    out[t, b, k, s, side, 1] += v
                    out[t, b, k, s, side, 2] += v * v
    return out


@njit(nogil=True, cache=True)
def apply(block, shadow, stratum, classes, gain, offset):
    """(time, band, y, x) float32: ``offset + gain x`` on shadowed pixels (>= 0), else x."""
    n_time, n_bands, ny, nx = block.shape
    out = block.copy()
    for t in range(n_time):
        for y in range(ny):
            for x in range(nx):
                k = stratum[t, y, x]
                if shadow[t, y, x] == 0 or k < 0 or k >= gain.shape[2]:
                    continue
                s = classes[y, x]
                for b in range(n_bands):
                    g = gain[t, b, k, s]
                    if not math.isnan(g):
                        out[t, b, y, x] = max(offset[t, b, k, s] + g * block[t, b, y, x], 0.0)
    return out
