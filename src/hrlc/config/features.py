"""Configuration of feature generation: the options of ``build_features`` and the CLI run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from hrlc.config._base import StageConfig
from hrlc.config.feature_names import (CHOOSING, DEFAULT_TEXTURES, STATISTICS, TEXTURES,
                                       check_options)
from hrlc.config.indices import INDEX_NAMES, resolve_indices
from hrlc.config.io import ComputeConfig, SourceOptions
from hrlc.errors import ConfigError


class FeaturesConfig(StageConfig):
    """Options of :func:`hrlc.features.build_features`, field for field.

    ``preset``: ``extended`` (the options choose the features) or ``reference`` (exactly
    the reference chain's 167 features; ``bands``, ``months``, ``indices``,
    ``custom_indices``, ``index_months``, ``index_statistics`` and ``glcm_textures`` must
    then be left unset; see :mod:`hrlc.features.presets`); ``bands``: spectral bands per
    month (default all, ``[]`` none); ``months``: months 1-12 to use (default all);
    ``indices``: index names (default the 14 built-in plus ``custom_indices``, ``[]``
    none); ``custom_indices``: name -> band-math expression;
    ``index_months``: months for which each index is a feature (default all, ``[]``
    none); ``index_statistics``: median/mean/min/max/std
    of each index over the months; ``sobel_band``; ``glcm_*``: texture band, composite
    (month 1-12 or a statistic), window (odd px), grey levels, distances (px), angles
    (degrees), textures, fixed quantisation range or robust percentiles;
    ``dem_resampling``: how the DEM is put on the grid.

    Names (textures, statistics, presets, indices) are checked against
    :mod:`hrlc.config.feature_names` and :mod:`hrlc.config.indices`, so that validating a
    configuration imports no stage.
    """

    preset: Literal["reference", "extended"] = "extended"
    bands: list[str] | None = None
    months: list[int] | None = None
    indices: list[str] | None = None
    custom_indices: dict[str, str] | None = None
    index_months: list[int] | None = None
    index_statistics: list[str] = Field(default_factory=list)
    sobel_band: str = "B08"
    glcm_band: str = "B08"
    glcm_composite: int | str = "median"
    glcm_window: int = Field(7, ge=3)
    glcm_levels: int = Field(32, ge=2, le=254)
    glcm_distances: list[PositiveInt] = Field(default_factory=lambda: [1], min_length=1)
    glcm_angles: list[float] = Field(default_factory=lambda: [0.0, 45.0, 90.0, 135.0],
                                     min_length=1)
    glcm_textures: list[str] = Field(default_factory=lambda: list(DEFAULT_TEXTURES))
    glcm_range: tuple[float, float] | None = None
    glcm_percentiles: tuple[float, float] = (2.0, 98.0)
    dem_resampling: Literal["nearest", "bilinear", "cubic", "average", "lanczos"] = "bilinear"

    @field_validator("bands")
    @classmethod
    def _bands(cls, value: list[str] | None) -> list[str] | None:
        from hrlc.io.bands import canonical_band

        return None if value is None else [canonical_band(v) for v in value]

    @field_validator("sobel_band", "glcm_band")
    @classmethod
    def _band(cls, value: str) -> str:
        from hrlc.io.bands import canonical_band

        return canonical_band(value)

    @field_validator("months", "index_months")
    @classmethod
    def _months(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(not 1 <= m <= 12 for m in value):
            raise ValueError(f"months are 1-12, got {value}")
        return value

    @field_validator("index_statistics")
    @classmethod
    def _statistics(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in STATISTICS]
        if unknown:
            raise ValueError(f"unknown statistic(s) {unknown}; use {', '.join(STATISTICS)}")
        return value

    @field_validator("glcm_textures")
    @classmethod
    def _textures(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in TEXTURES]
        if unknown:
            raise ValueError(f"unknown texture(s) {unknown}; use {', '.join(TEXTURES)}")
        return value

    @field_validator("glcm_composite")
    @classmethod
    def _composite(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 12:
            raise ValueError(f"a month is 1-12, got {value}")
        if isinstance(value, str) and value not in STATISTICS:
            raise ValueError(f"a month 1-12 or one of {', '.join(STATISTICS)}, got {value!r}")
        return value

    @field_validator("glcm_window")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"the window must be an odd number of pixels, got {value}")
        return value

    @field_validator("glcm_range", "glcm_percentiles")
    @classmethod
    def _increasing(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not value[0] < value[1]:
            raise ValueError(f"must be (low, high) with low < high, got {list(value)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FeaturesConfig:
        custom = self.custom_indices or {}
        names = list(INDEX_NAMES) + list(custom) if self.indices is None else self.indices
        try:
            resolve_indices(names, custom)
            check_options(self.preset, {k: getattr(self, k) for k in CHOOSING})
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if any(d >= self.glcm_window for d in self.glcm_distances):
            raise ValueError(f"glcm_distances must be smaller than glcm_window "
                             f"({self.glcm_window}), got {self.glcm_distances}")
        return self


class FeaturesRunConfig(StageConfig):
    """``hrlc features CONFIG``: where the composites and the DEM are, where the cube goes.

    ``composites``: a Zarr store of (time, band, y, x) composites (``hrlc composite``), or
    L2A sources (SAFE, band folders, GeoTIFFs) read as they are, one layer per scene;
    ``dem``: a DEM raster in any CRS (optional); ``dem_use_nodata``: treat the DEM file's
    nodata value as missing; ``output``: the Zarr store to write; ``feature_list``: CSV of
    names and descriptions (default: beside the output, ``<output>.features.csv``);
    ``chunks``: spatial chunk size in pixels.
    """

    composites: list[str] = Field(min_length=1)
    dem: str | None = None
    dem_use_nodata: bool = True
    output: str
    feature_list: str | None = None
    chunks: PositiveInt = 1024
    read: SourceOptions | None = None
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)

    @field_validator("composites", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value
