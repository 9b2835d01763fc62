"""Configuration of cloud restoration: gap filling and topographic correction options."""

from __future__ import annotations

from pydantic import Field

from hrlc.config._base import StageConfig


class InterpolateConfig(StageConfig):
    """Options of :func:`hrlc.restore.fill_gaps`: ``reach`` in months (1 = m-1 and m+1)."""

    reach: int = Field(1, ge=1, le=12)


class TopographicConfig(StageConfig):
    """Options of :func:`hrlc.restore.correct_topography` and ``fit_c_factors``.

    Applied only when a DEM is given; ``water_ndwi: null`` switches water detection off.
    """

    min_slope: float = Field(2.0, ge=0, lt=90)
    shadow_cos_i: float = Field(0.1, ge=-1, le=1)
    water_ndwi: float | None = Field(0.0, ge=-1, le=1)
    green: str = "B03"
    nir: str = "B08"
    min_pixels: int = Field(100, ge=2)


class RestoreConfig(StageConfig):
    """``hrlc restore``: topographic correction (when a DEM is given), then gap filling."""

    interpolate: InterpolateConfig = InterpolateConfig()
    topographic: TopographicConfig = TopographicConfig()
