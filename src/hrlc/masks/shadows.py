r"""Cloud shadows: spectral darkening relative to the background, and geometry.

**Spectral test.** A cloud shadow removes most of the direct sunlight, so the near and
short-wave infrared, where the diffuse skylight is weakest, darken most. The Cloud
Shadow Index ``CSI = (NIR + SWIR1) / 2`` (Zhai et al. 2018, ISPRS J. 144, 235-253)
and the blue reflectance are compared with the pixel's seasonal background: an
observation is a shadow candidate when ``CSI <= csi_ratio * CSI_background`` and
``blue <= blue_ratio * blue_background``. Using the pixel's own background instead of
scene-wide thresholds keeps dark surfaces (forest, wet soil) from being taken for
shadow. Two causes of darkness are excluded:

- water (the background's NDWI, from :mod:`hrlc.features.indices`, above
  ``water_ndwi``): dark in NIR and SWIR whatever the sky;
- terrain shadow explained by the DEM: slopes turned away from the sun, whose
  illumination ``cos i`` (:func:`hrlc.restore.topographic.illumination`) is below
  ``terrain_cos_i`` on that date.

**Geometric test.** A cloud at height ``h`` above the ground casts its shadow
``h tan(sun_zenith)`` away from the sun, along the sun azimuth (clockwise from north,
from MTD_TL.xml). Cloud heights are unknown, so the cloud mask is swept along that
direction for every height in ``cloud_heights = (low, high)`` metres: the union of
the shifted masks is the zone where shadows can fall, and only candidates inside it
are shadows. The sweep is a one-sided running maximum along the shadow direction
(the image is sheared so that the direction becomes a pixel axis), exact to a pixel
and linear in time whatever the distance. The halo of the chunked computation is the
largest projection distance, on the sun side only.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask.array as da
import numpy as np
from dask.array.overlap import ensure_minimum_chunksize
from scipy import ndimage


def shadow_offsets(sun_zenith: Sequence[float], sun_azimuth: Sequence[float], *,
                   cloud_heights: tuple[float, float], resolution: float) -> np.ndarray:
    """Displacement from a cloud to its shadow for the lowest and highest cloud.

    Parameters
    ----------
    sun_zenith, sun_azimuth : sequence of float (time,)
        Degrees; azimuth clockwise from north.
    cloud_heights : (low, high)
        Cloud heights above the ground, metres.
    resolution : float
        Pixel size, metres.

    Returns
    -------
    ndarray (time, 2, 2), float64
        ``[t, k] = (rows, cols)`` for height ``k`` (0 low, 1 high); rows point south,
        cols east.
    """
    zenith = np.radians(np.asarray(sun_zenith, np.float64))[:, None]
    azimuth = np.radians(np.asarray(sun_azimuth, np.float64))[:, None]
    reach = np.asarray(cloud_heights, np.float64)[None, :] * np.tan(zenith) / resolution
    return np.stack([reach * np.cos(azimuth), -reach * np.sin(azimuth)], axis=-1)


def projection_halo(offsets: np.ndarray) -> dict[int, tuple[int, int]]:
    """Halo (before, after) per axis of a (time, y, x) block for the geometric test.

    A shadow at ``p`` comes from a cloud at ``p - d``: rows and cols *before* the
    block are needed for positive displacements, *after* it for negative ones.
    """
    rows, cols = np.round(offsets[..., 0], 6), np.round(offsets[..., 1], 6)

    def side(values):
        return (int(np.ceil(max(values.max(), 0))) + 1, int(np.ceil(max(-values.min(), 0))) + 1)

    return {0: (0, 0), 1: side(rows), 2: side(cols)}


def _sweep_rows(mask: np.ndarray, first: int, last: int, slope: float, row0: int) -> np.ndarray:
    """OR of ``mask`` shifted by ``(i, ~i * slope)`` for every ``i`` in first..last.

    The image is sheared so that lines of direction ``(1, slope)`` become columns, where
    the union of shifts is a one-sided running maximum. The shear of a row is rounded
    from its global index (``row0`` + local row), so every chunk draws the same lines.
    """
    rows, cols = mask.shape
    shift = np.rint((row0 + np.arange(rows)) * slope).astype(np.int64)
    high = int(shift.max())
    width = cols + high - int(shift.min())
    starts = high - shift
    sheared = np.zeros((rows, width), np.uint8)
    for r in range(rows):  # sheared[r, c - shift[r] + high] = mask[r, c]
        sheared[r, starts[r]:starts[r] + cols] = mask[r]
    length, pad = last - first + 1, max(abs(first), abs(last))
    padded = np.pad(sheared, ((pad, pad), (0, 0)))
    # trailing window: run[p] = max(padded[p - length + 1 .. p]), so that
    # moved[r] = max(sheared[r - last .. r - first]) = run[r + pad - first]
    run = ndimage.maximum_filter1d(padded, size=length, axis=0, origin=(length - 1) // 2,
                                   mode="constant", cval=0)
    moved = run[pad - first:pad - first + rows]
    out = np.empty((rows, cols), bool)
    for r in range(rows):
        out[r] = moved[r, starts[r]:starts[r] + cols]
    return out


def sweep(mask: np.ndarray, start: tuple[float, float], end: tuple[float, float], *,
          origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Union of a (y, x) boolean mask shifted by every displacement from start to end.

    Parameters
    ----------
    mask : ndarray (y, x), bool
    start, end : (rows, cols)
        Displacements in pixels (rows south, cols east).
    origin : (row, col)
        Position of ``mask[0, 0]`` in the whole image (digital lines are drawn on the
        whole image's grid, so chunks agree).

    Returns
    -------
    ndarray (y, x), bool: True where some shift of a True pixel lands.
    """
    (r0, c0), (r1, c1) = start, end
    if max(abs(c0), abs(c1)) > max(abs(r0), abs(r1)):  # mostly east-west: sweep the columns
        return sweep(mask.T, (c0, r0), (c1, r1), origin=origin[::-1]).T
    dr = r1 - r0
    slope = (c1 - c0) / dr if abs(dr) > 1e-9 else 0.0
    base = int(np.rint(c0 - r0 * slope))  # col offset of the line at row offset 0
    rows, cols = mask.shape
    shifted = np.zeros_like(mask, dtype=bool)
    if 0 <= base < cols:
        shifted[:, base:] = mask[:, :cols - base]
    elif -cols < base < 0:
        shifted[:, :cols + base] = mask[:, -base:]
    lo, hi = int(np.floor(min(r0, r1))), int(np.ceil(max(r0, r1)))
    return _sweep_rows(shifted, lo, hi, slope, origin[0])


def projection_zone_block(cloud: np.ndarray, offsets: np.ndarray, *,
                          origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Where the shadows of a (time, y, x) cloud mask can fall, date by date.

    ``offsets`` as returned by :func:`shadow_offsets`; NaN offsets (no sun angles)
    give an empty zone. ``origin``: position of the block in the image.
    """
    zone = np.zeros(cloud.shape, bool)
    for t in range(cloud.shape[0]):
        if not np.isfinite(offsets[t]).all() or not cloud[t].any():
            continue
        zone[t] = sweep(cloud[t], tuple(offsets[t, 0]), tuple(offsets[t, 1]), origin=origin)
    return zone


def geometric_shadows(candidates: np.ndarray | da.Array, cloud: np.ndarray | da.Array, *,
                      offsets: np.ndarray) -> np.ndarray | da.Array:
    """Shadow candidates inside the projected cloud zone, outside the clouds.

    Parameters
    ----------
    candidates, cloud : numpy or dask arrays (time, y, x), bool
        Spectral shadow candidates and the (cleaned) cloud mask, same chunks.
    offsets : ndarray (time, 2, 2)
        From :func:`shadow_offsets`.

    Returns
    -------
    Same kind of array (time, y, x), bool. A dask input gets a halo of the largest
    projection distance on the sun side (:func:`projection_halo`); the result does not
    depend on the chunking.
    """
    if not isinstance(cloud, da.Array):
        cand, clouds = np.asarray(candidates, bool), np.asarray(cloud, bool)
        return cand & ~clouds & projection_zone_block(clouds, offsets)
    # no cloud lies farther than the image is wide: cap the halo there
    depth = {a: tuple(min(d, cloud.shape[a] - 1) for d in side)
             for a, side in projection_halo(offsets).items()}
    # chunks at least as wide as the halo (as dask would make them), known here
    chunks = (cloud.chunks[0], *(ensure_minimum_chunksize(max(max(depth[a]), 1), cloud.chunks[a])
                                 for a in (1, 2)))
    cloud, candidates = cloud.rechunk(chunks), candidates.rechunk(chunks)
    starts = [np.cumsum((0, *cloud.chunks[a])) for a in (1, 2)]
    times = np.cumsum((0, *cloud.chunks[0]))

    def block(cand, clouds, block_info=None):
        # the padded block starts `before` pixels ahead of its core, except at the edge
        index = block_info[None]["chunk-location"]
        origin = tuple(int(starts[a - 1][index[a]]) - (depth[a][0] if index[a] > 0 else 0)
                       for a in (1, 2))
        t0 = int(times[index[0]])
        return cand & ~clouds & projection_zone_block(
            clouds, offsets[t0:t0 + clouds.shape[0]], origin=origin)

    return da.map_overlap(block, candidates, cloud, depth=depth, boundary="none",
                          dtype=bool, meta=np.empty((0, 0, 0), bool))


def shadow_candidates(*, csi: np.ndarray, csi_background: np.ndarray, blue: np.ndarray,
                      blue_background: np.ndarray, csi_ratio: float, blue_ratio: float,
                      water: np.ndarray | None = None,
                      cos_i: np.ndarray | None = None,
                      terrain_cos_i: float = 0.15) -> np.ndarray:
    """The spectral shadow test on arrays of any (broadcastable) shape.

    Parameters
    ----------
    csi, blue : ndarray (time, ...), float32
        Observed CSI and blue reflectance.
    csi_background, blue_background : ndarray, float32
        Their backgrounds (NaN: no test, not a candidate).
    csi_ratio, blue_ratio : float
        Largest ratio to the background of a shadow.
    water : ndarray of bool, optional
        Water pixels (never candidates).
    cos_i : ndarray (time, ...), optional
        Terrain illumination; below ``terrain_cos_i`` the darkness is terrain shadow.

    Returns
    -------
    ndarray of bool
    """
    with np.errstate(invalid="ignore"):
        out = (csi <= csi_ratio * csi_background) & (blue <= blue_ratio * blue_background)
        if water is not None:
            out &= ~water
        if cos_i is not None:
            out &= ~(cos_i < terrain_cos_i)
    return out
