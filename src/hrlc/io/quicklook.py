"""PNG quick-looks of large rasters, computed on a decimated copy (never the whole tile)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from hrlc.io.atomic import atomic_output


def decimate(data: xr.DataArray, max_side: int = 1500) -> xr.DataArray:
    """Every n-th pixel so that neither side exceeds ``max_side`` (lazy)."""
    step = max(1, int(np.ceil(max(data.sizes["y"], data.sizes["x"]) / max_side)))
    return data.isel(y=slice(None, None, step), x=slice(None, None, step))


def stretch(rgb: np.ndarray, percentiles: tuple[float, float] = (2, 98)) -> np.ndarray:
    """Linear stretch of (3, rows, cols) reflectance to 0-1 between per-band percentiles.

    NaN pixels become 0 (black).
    """
    out = np.zeros_like(rgb, dtype=np.float32)
    for i, band in enumerate(rgb):
        finite = band[np.isfinite(band)]
        if finite.size == 0:
            continue
        low, high = np.percentile(finite, percentiles)
        scale = high - low if high > low else 1.0
        out[i] = np.clip((np.nan_to_num(band, nan=low) - low) / scale, 0, 1)
    return out


def write_rgb_png(rgb: xr.DataArray, path: str | os.PathLike, *, title: str | None = None,
                  overwrite: bool = False) -> Path:
    """Write a true-colour quick-look of a (band=3, y, x) reflectance array (R, G, B order)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    small = decimate(rgb).transpose("band", "y", "x")
    image = stretch(np.asarray(small.values, dtype=np.float32))
    x, y = small["x"].values, small["y"].values
    fig, ax = plt.subplots(figsize=(8, 8 * len(y) / max(len(x), 1) + 0.6))
    ax.imshow(np.moveaxis(image, 0, -1), extent=(x[0], x[-1], y[-1], y[0]))
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.set_xlabel("easting (m)")
    ax.set_ylabel("northing (m)")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    with atomic_output(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)
    return Path(path)
