"""Clouds, cirrus, cloud shadows and swath edges of each acquisition.

- **Clouds** (low, convective): opacity from fractal noise (fBm) above a threshold,
  ``opacity = clip((n - threshold) / softness, 0, 1)``: thick opaque cores and thin,
  fractal edges. The threshold is calibrated on the noise distribution so that the
  fraction of pixels with opacity at or above ``thin_cloud_opacity`` matches the date's
  drawn cloud cover.
- **Cirrus** (high, on some dates): a streaky, stretched field of low opacity (at most
  0.1-0.3) that casts no noticeable shadow.
- **Shadows**: a cloud at height ``h`` above the ground casts its shadow
  ``h tan(sun_zenith)`` away from the sun, so the shadow strength at a point is the
  cloud opacity at the point displaced that far *towards* the sun (along the sun
  azimuth). It removes that fraction of the direct sunlight; diffuse skylight remains.
- **Swath edge**: on some dates the orbit's swath covers only part of the tile; the rest
  is no data (a straight edge about 12 degrees from north, on 60 m cells).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrlc.simulate.noise import derive_seed, fbm, octaves_for
from hrlc.simulate.terrain import PIXEL_SIZE

CLOUD_SOFTNESS = 0.12  # noise units from opacity 0 to 1
CIRRUS_SOFTNESS = 0.25
SWATH_EDGE_TILT = np.radians(12.0)
_CALIBRATION_SIDE = 256
_CALIBRATION_WAVELENGTHS = 24


@dataclass(frozen=True)
class Sky:
    """The atmosphere of one acquisition.

    Attributes
    ----------
    cloud_cover : float
        Drawn fraction of the scene covered by (thin or thick) cloud, 0-1.
    threshold : float
        Cloud noise level at which opacity starts (``inf`` for a clear date).
    cirrus_opacity : float
        Maximum cirrus opacity (0 = no cirrus).
    cirrus_angle : float
        Direction of the cirrus streaks, radians from the column axis.
    cloud_height : float
        Height of the clouds above the ground, metres.
    shadow_shift : (float, float)
        (rows, cols) from a ground point to the cloud that shades it, pixels.
    swath_edge : (float, float, float) or None
        Line ``(a, b, c)``: no data where ``a * col + b * row + c > 0`` (pixels).
    """

    cloud_cover: float
    threshold: float
    cirrus_opacity: float
    cirrus_angle: float
    cloud_height: float
    shadow_shift: tuple[float, float]
    swath_edge: tuple[float, float, float] | None


def cloud_wavelength(macro: float) -> float:
    """Wavelength of the largest cloud structures, pixels (18 km on a full tile)."""
    return max(macro / 6.0, 60.0)


def _cloud_octaves(macro: float) -> int:
    return octaves_for(cloud_wavelength(macro), 2.0)


def _noise_quantile(probability: float, *, octaves: int, seed: int) -> float:
    """Quantile of the cloud noise, from a large sample of the same fBm (same octaves)."""
    side = _CALIBRATION_SIDE
    sample = fbm((0, 0, side, side), wavelength=side / _CALIBRATION_WAVELENGTHS,
                 seed=seed, octaves=octaves)
    return float(np.quantile(sample, probability))


def plan_skies(*, seed: int, size: int, macro: float, sun: list[tuple[float, float]],
               cloud_cover: tuple[float, float], clear_date_probability: float,
               cloud_height: float, thin_cloud_opacity: float, cirrus_probability: float,
               swath_edge_probability: float) -> list[Sky]:
    """Draw the sky of every acquisition.

    Parameters
    ----------
    sun : list of (zenith, azimuth)
        Sun angles of each acquisition, degrees.
    cloud_cover : (low, high)
        Range of the cloud cover of cloudy dates, fractions 0-1.
    clear_date_probability : float
        Probability that a date has no cloud at all.
    cloud_height : float
        Metres above the ground.
    thin_cloud_opacity : float
        Opacity from which a pixel counts as cloud (for calibrating the cover).
    """
    octaves = _cloud_octaves(macro)
    skies = []
    for t, (zenith, azimuth) in enumerate(sun):
        rng = np.random.default_rng(derive_seed(seed, "sky", t))
        clear = rng.uniform() < clear_date_probability
        cover = 0.0 if clear else float(rng.uniform(*cloud_cover))
        if cover <= 0.0:
            threshold = np.inf
        else:
            level = _noise_quantile(1.0 - cover, octaves=octaves,
                                    seed=derive_seed(seed, "clouds", t))
            threshold = level - CLOUD_SOFTNESS * thin_cloud_opacity
        cirrus = float(rng.uniform(0.1, 0.3)) if rng.uniform() < cirrus_probability else 0.0
        cirrus_angle = float(rng.uniform(0, np.pi))
        reach = cloud_height * np.tan(np.radians(zenith)) / PIXEL_SIZE
        azi = np.radians(azimuth)
        shift = (float(-reach * np.cos(azi)), float(reach * np.sin(azi)))
        swath = None
        if rng.uniform() < swath_edge_probability:
            missing = rng.uniform(0.1, 0.6)
            east = rng.uniform() < 0.5
            # edge col = c0 + tan(tilt) * row; no data east (or west) of it
            c0 = (1 - missing if east else missing) * size - np.tan(SWATH_EDGE_TILT) * size / 2
            a = 1.0 if east else -1.0
            swath = (a, -a * np.tan(SWATH_EDGE_TILT), -a * c0)
        skies.append(Sky(cloud_cover=cover, threshold=float(threshold), cirrus_opacity=cirrus,
                         cirrus_angle=cirrus_angle, cloud_height=float(cloud_height),
                         shadow_shift=shift, swath_edge=swath))
    return skies


def cloud_opacity(sky: Sky, window: tuple[int, int, int, int], *, seed: int, index: int,
                  macro: float, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Opacity (0-1) of the low clouds on ``window``, optionally displaced by ``shift``."""
    if not np.isfinite(sky.threshold):
        return np.zeros(window[2:], np.float32)
    noise = fbm(window, wavelength=cloud_wavelength(macro), seed=derive_seed(seed, "clouds", index),
                octaves=_cloud_octaves(macro), shift=shift)
    return np.clip((noise - sky.threshold) / CLOUD_SOFTNESS, 0.0, 1.0).astype(np.float32)


def cirrus_opacity(sky: Sky, window: tuple[int, int, int, int], *, seed: int, index: int,
                   macro: float) -> np.ndarray:
    """Opacity of the cirrus layer on ``window`` (0 on dates without cirrus)."""
    if sky.cirrus_opacity <= 0.0:
        return np.zeros(window[2:], np.float32)
    wavelength = max(macro / 10.0, 40.0)
    noise = fbm(window, wavelength=wavelength, seed=derive_seed(seed, "cirrus", index),
                octaves=octaves_for(wavelength, 3.0), stretch=5.0, angle=sky.cirrus_angle)
    return (sky.cirrus_opacity * np.clip(noise / CIRRUS_SOFTNESS, 0.0, 1.0)).astype(np.float32)


def swath_nodata(sky: Sky, window: tuple[int, int, int, int], *, cell: int = 6) -> np.ndarray:
    """True where the tile is outside the swath (decided per ``cell`` x ``cell`` block)."""
    row0, col0, nrows, ncols = window
    if sky.swath_edge is None:
        return np.zeros((nrows, ncols), bool)
    a, b, c = sky.swath_edge
    rows = ((row0 + np.arange(nrows)) // cell * cell + cell / 2)[:, None]
    cols = ((col0 + np.arange(ncols)) // cell * cell + cell / 2)[None, :]
    return a * cols + b * rows + c > 0
