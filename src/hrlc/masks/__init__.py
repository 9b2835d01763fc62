"""Cloud and shadow masks in the CloudSEN12 convention (0 clear, 1 thick cloud,
2 thin cloud, 3 cloud shadow, 255 nodata)."""

from hrlc.masks.scl import CLEAR, NODATA, SHADOW, THICK_CLOUD, THIN_CLOUD, scl_to_mask

__all__ = ["CLEAR", "NODATA", "SHADOW", "THICK_CLOUD", "THIN_CLOUD", "scl_to_mask"]
