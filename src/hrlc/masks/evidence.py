"""The spectral steps of :func:`~hrlc.masks.refine.refine_masks` on one block (numpy).

A block holds every date of a spatial chunk: ``stack`` (time, band, y, x) float32
reflectance of the bands of the :class:`Plan`, ``scl`` (time, y, x) uint8. Its result
is one byte of **evidence** per observation (bits ``THICK``, ``THIN``, ``CANDIDATE``,
``NODATA``, ``NO_BACKGROUND``), which the spatial steps of ``refine_layers``
(morphology, shadow geometry, halos) turn into the mask (:func:`combine_block`).

**Pixels the SCL never sees clear.** A pixel with fewer than ``min_clear`` SCL-clear
observations has no seasonal background. Sen2Cor calls some bright surfaces (roofs,
sand, surf, snow) cloud date after date, so without a background these pixels would keep
the SCL's false cloud on every date. With ``all_observations`` (see
:class:`~hrlc.config.masks.MasksConfig`) they get one in two passes, inside the block:

1. a first background from *all* their valid observations (the SCL's clouds included,
   its shadows left out): the darkest value of each band (``FIRST_QUANTILE`` 0). Clouds
   move and surfaces do not, and clouds only brighten: unless the pixel is under cloud
   on every date its darkest value is its surface. The clusters classify the
   observations against it, and where the SCL says cloud and the observation is
   brighter than that background by more than ``candidate_delta``, the SCL's cloud is
   kept (a thin cloud the clusters would take for surface change);
2. the background of the dates the first pass finds clear, exactly like that of the
   other pixels (``quantile``, ``shadow_quantile``, at least ``min_clear`` dates).

The pixels are then refined like every other one, with the same rule on the SCL's
clouds: a stable surface the SCL calls cloud becomes clear where it is not brighter than
its own background, a real cloud (brighter) stays cloud. Those still with fewer than
``min_clear`` clear dates (e.g. under cloud nearly all season, or a missed cloud shadow
as darkest value) follow ``fallback``. A low quantile instead of the minimum (0.1, 0.25)
clears more of the persistent false clouds but turns more real thin clouds clear in very
cloudy seasons (``benchmarks/eval_masks_persistent.py --first-quantile``). The K-means is fitted before
(:func:`~hrlc.masks.refine.fit_cloud_clusters`, on SCL-clear backgrounds only), so the
option does not change the clusters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from hrlc.features.indices import INDICES
from hrlc.masks.background import quantile_block
from hrlc.masks.kmeans import CloudClusters
from hrlc.masks.scl import CLEAR, NODATA, SHADOW, THICK_CLOUD, THIN_CLOUD, scl_lookup
from hrlc.masks.shadows import shadow_candidates

#: Bits of the per-observation evidence (uint8).
THICK, THIN, CANDIDATE, NODATA_BIT, NO_BACKGROUND = 1, 2, 4, 8, 16
_SNOW = 11  # SCL code
_NDWI = INDICES["NDWI"]
#: Quantile of the first pass's background: the darkest observation (see the module notes).
FIRST_QUANTILE = 0.0


@dataclass(frozen=True)
class Plan:
    """Everything a block needs: band positions, options, dates (small, picklable)."""

    bands: tuple[str, ...]
    days: np.ndarray
    options: dict

    def index(self, band: str) -> int:
        return self.bands.index(band)

    @property
    def features(self) -> tuple[str, ...]:
        o = self.options
        return (o["blue"], *[b for b in o["kmeans_bands"] if b != o["blue"]])


class Prepared(NamedTuple):
    """What :func:`prepare` gives for a block; (time, ...) arrays unless said."""

    initial: np.ndarray         # uint8, CloudSEN12 codes from the SCL
    valid: np.ndarray           # bool: every band finite and the SCL not no data
    csi: np.ndarray             # float32, cloud-shadow index (nir + swir) / 2
    background: np.ndarray      # (season, band, ...) float32, NaN where none
    csi_background: np.ndarray  # (season, ...) float32
    has_background: np.ndarray  # bool
    rescued: np.ndarray         # bool: background from all observations (second pass)


def _backgrounds(stack: np.ndarray, csi: np.ndarray, clear: np.ndarray, plan: Plan,
                 quantile: float | None = None):
    """Background of every band (``quantile``, default the option), of the CSI, and the
    clear counts (see :func:`prepare`)."""
    o = plan.options
    season = dict(days=plan.days, window_days=o["window_days"], min_clear=o["min_clear"])
    q = o["quantile"] if quantile is None else quantile
    # two calls rather than one on stacked values: no copy of the whole block
    background, count = quantile_block(stack, clear, quantiles=[q] * len(plan.bands), **season)
    csi_background = quantile_block(csi[:, None], clear, quantiles=[o["shadow_quantile"]],
                                    **season)[0][:, 0]
    return background, csi_background, count


def prepare(stack: np.ndarray, scl: np.ndarray, plan: Plan,
            clusters: CloudClusters | None = None) -> Prepared:
    """Initial mask, validity, CSI, backgrounds and their availability of one block.

    Parameters
    ----------
    stack : ndarray (time, band, ...), float32
        Reflectance of ``plan.bands``, 0-1, NaN where no data.
    scl : ndarray (time, ...), uint8
        Sen2Cor codes.
    plan : Plan
    clusters : CloudClusters, optional
        With ``all_observations``: the fitted clustering of the first pass for the pixels
        without a background (see the module notes); None: SCL-clear backgrounds only.

    Returns
    -------
    Prepared
    """
    o = plan.options
    initial = scl_lookup(dark_area=o["dark_area"], snow=o["snow"])[scl]
    valid = np.isfinite(stack).all(axis=1) & (initial != NODATA)
    nir, swir = stack[:, plan.index(o["nir"])], stack[:, plan.index(o["swir"])]
    csi = (nir + swir) * np.float32(0.5)
    background, csi_background, count = _backgrounds(stack, csi, valid & (initial == CLEAR),
                                                     plan)
    lacking = (count < o["min_clear"]) & valid.any(axis=0)
    if clusters is not None and o["all_observations"] and lacking.any():
        # only the pixels concerned, flattened: (time, band, n) and (time, n)
        pixels = lacking.any(axis=0)
        sub, codes, known = stack[:, :, pixels], initial[:, pixels], valid[:, pixels]
        seen = known & (codes != SHADOW)
        first = _backgrounds(sub, csi[:, pixels], seen, plan, FIRST_QUANTILE)[0]
        cloud = cloud_classes(sub, first, scl[:, pixels], plan, clusters, seen, scl_cloud=codes)
        again = _backgrounds(sub, csi[:, pixels], seen & (cloud == CLEAR), plan)
        fill = lacking[:, pixels]
        for whole, part in zip((background, csi_background, count), again):
            whole[..., pixels] = np.where(fill[:, None] if part.ndim == 3 else fill, part,
                                          whole[..., pixels])
    has_background = np.broadcast_to(count >= o["min_clear"], valid.shape)
    rescued = has_background & np.broadcast_to(lacking, valid.shape)
    return Prepared(initial, valid, csi, background, csi_background, has_background, rescued)


def candidates(stack, background, plan: Plan, where: np.ndarray) -> np.ndarray:
    """Cloud candidates among ``where``: blue brighter than its background by more than
    ``candidate_delta`` (only they are clustered, so only their features are made)."""
    blue = plan.index(plan.options["blue"])
    with np.errstate(invalid="ignore"):
        return where & (stack[:, blue] - background[:, blue] > plan.options["candidate_delta"])


def deviations(stack, background, plan: Plan, where: np.ndarray) -> np.ndarray:
    """(N, features) reflectance minus background of the observations ``where``."""
    columns = []
    for band in plan.features:
        i = plan.index(band)
        columns.append(stack[:, i][where] - np.broadcast_to(background[:, i], where.shape)[where])
    return np.stack(columns, axis=1) if columns else np.empty((0, 0), np.float32)


def cloud_classes(stack, background, scl, plan: Plan, clusters: CloudClusters,
                  where: np.ndarray, *, scl_cloud: np.ndarray | None = None) -> np.ndarray:
    """CloudSEN12 cloud codes (0 clear, 1 thick, 2 thin) of the observations ``where``.

    Candidates are classified by the clusters; the rest, and snow when ``snow`` is
    ``"clear"`` (a surface, never turned into cloud), are clear. ``scl_cloud`` (CloudSEN12
    codes of the SCL, same shape as ``where``): where it says cloud, a candidate the
    clusters call clear keeps it (the SCL's cloud is dropped only where the observation is
    not brighter than its background).
    """
    refinable = where & (scl != _SNOW) if plan.options["snow"] == "clear" else where
    refinable = candidates(stack, background, plan, refinable)
    cloud = np.zeros(where.shape, np.uint8)
    cloud[refinable] = clusters.classify(deviations(stack, background, plan, refinable))
    if scl_cloud is not None:
        keep = refinable & (cloud == CLEAR) & np.isin(scl_cloud, (THICK_CLOUD, THIN_CLOUD))
        cloud[keep] = scl_cloud[keep]
    return cloud


def evidence_block(stack: np.ndarray, scl: np.ndarray, cos_i: np.ndarray | None, *,
                   plan: Plan, clusters: CloudClusters) -> np.ndarray:
    """Per-observation evidence bits of one (time, band, y, x) block.

    ``cos_i`` (time, y, x): terrain illumination, or None without a DEM.
    """
    o = plan.options
    initial, valid, csi, background, csi_background, has_background, rescued = prepare(
        stack, scl, plan, clusters)
    refine = valid & has_background
    evidence = np.zeros(valid.shape, np.uint8)
    cloud = cloud_classes(stack, background, scl, plan, clusters, refine,
                          scl_cloud=np.where(rescued, initial, CLEAR) if rescued.any() else None)
    evidence[cloud == THICK_CLOUD] |= THICK
    evidence[cloud == THIN_CLOUD] |= THIN

    bg = {band: background[:, plan.index(band)] for band in (o["blue"], *_NDWI.bands)}
    water = _NDWI.expression(*[bg[b] for b in _NDWI.bands]) > o["water_ndwi"]
    candidate = shadow_candidates(
        csi=csi, csi_background=csi_background, blue=stack[:, plan.index(o["blue"])],
        blue_background=bg[o["blue"]], csi_ratio=o["csi_ratio"], blue_ratio=o["blue_ratio"],
        water=water, cos_i=cos_i, terrain_cos_i=o["terrain_cos_i"])
    evidence[candidate & refine & (cloud == CLEAR)] |= CANDIDATE

    missing = valid & ~has_background
    evidence[missing] |= NO_BACKGROUND
    if o["fallback"] == "scl":
        for code, bit in ((THICK_CLOUD, THICK), (THIN_CLOUD, THIN), (SHADOW, CANDIDATE)):
            evidence[missing & (initial == code)] |= bit
    evidence[~valid] = NODATA_BIT
    return evidence


def combine_block(evidence, cloud, shadow, *, fallback: str) -> np.ndarray:
    """CloudSEN12 mask of a block from its evidence and its cleaned cloud and shadow masks."""
    out = np.where(cloud, np.where(evidence & THICK, THICK_CLOUD, THIN_CLOUD),
                   np.where(shadow, SHADOW, CLEAR)).astype(np.uint8)
    nodata = (evidence & NODATA_BIT) > 0
    if fallback == "nodata":
        nodata |= (evidence & NO_BACKGROUND) > 0
    out[nodata] = NODATA
    return out
