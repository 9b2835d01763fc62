"""Configuration of cloud restoration: gap filling, topographic and shadow correction, order."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hrlc.config._base import StageConfig


class InterpolateConfig(StageConfig):
    """Options of :func:`hrlc.restore.fill_gaps`: ``reach`` in months (1 = m-1 and m+1)."""

    reach: int = Field(1, ge=1, le=12)


class TopographicConfig(StageConfig):
    """Options of :func:`hrlc.restore.correct_topography` and ``fit_c_factors``.

    Applied only when a DEM is given; ``water_ndwi: null`` switches water detection off.
    ``min_slope`` and ``shadow_cos_i`` also define self-shadow in ``terrain_shadow``.
    """

    min_slope: float = Field(2.0, ge=0, lt=90)
    shadow_cos_i: float = Field(0.1, ge=-1, le=1)
    water_ndwi: float | None = Field(0.0, ge=-1, le=1)
    green: str = "B03"
    nir: str = "B08"
    min_pixels: int = Field(100, ge=2)


class ShadowConfig(StageConfig):
    """Options of :func:`hrlc.restore.fit_shadow_correction` (terrain-shadow statistics)."""

    n_strata: int = Field(4, ge=1, le=64)
    slope_bins: list[float] = Field([10.0, 25.0], max_length=8)
    min_pixels: int = Field(30, ge=2)
    sample_size: int = Field(10000, ge=100)
    seed: int = Field(0, ge=0)


class RestoreConfig(StageConfig):
    """``hrlc restore``: options of :func:`hrlc.restore.restore_composites`.

    The terrain steps (topographic and shadow correction) run only when a DEM is given.
    """

    order: Literal["correct_then_fill", "fill_then_correct"] = "correct_then_fill"
    shadow_correction: Literal["statistical", "none"] = "statistical"
    interpolate: InterpolateConfig = InterpolateConfig()
    topographic: TopographicConfig = TopographicConfig()
    shadow: ShadowConfig = ShadowConfig()
