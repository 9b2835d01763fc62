"""Cloud and shadow masks in the CloudSEN12 convention (0 clear, 1 thick cloud,
2 thin cloud, 3 cloud shadow, 255 nodata): the SCL mapping, the seasonal refinement
(background, K-means clouds, geometric shadows) and the evaluation against references."""

from hrlc.masks.background import seasonal_background
from hrlc.masks.evaluate import MaskScores, evaluate_masks, score_rows
from hrlc.masks.kmeans import CloudClusters, fit_clusters
from hrlc.masks.morphology import clean_mask
from hrlc.masks.refine import fit_cloud_clusters, refine_layers, refine_masks
from hrlc.masks.scl import (CLEAR, MASK_COLOURS, NODATA, SHADOW, THICK_CLOUD, THIN_CLOUD,
                             scl_lookup, scl_to_mask)
from hrlc.masks.shadows import geometric_shadows, shadow_offsets, sweep

__all__ = [
    "CLEAR",
    "MASK_COLOURS",
    "NODATA",
    "SHADOW",
    "THICK_CLOUD",
    "THIN_CLOUD",
    "CloudClusters",
    "MaskScores",
    "clean_mask",
    "evaluate_masks",
    "fit_cloud_clusters",
    "fit_clusters",
    "geometric_shadows",
    "refine_layers",
    "refine_masks",
    "scl_lookup",
    "scl_to_mask",
    "score_rows",
    "seasonal_background",
    "shadow_offsets",
    "sweep",
]
