"""Configuration of the cloud/shadow mask refinement (``refine_masks``, ``hrlc masks``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from hrlc.config._base import StageConfig
from hrlc.config.io import ComputeConfig, SourceOptions

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Radius = Annotated[int, Field(ge=0, le=50)]
Delta = Annotated[float, Field(ge=0.0, le=1.0)]


class MasksConfig(StageConfig):
    """Options of :func:`hrlc.masks.refine_masks`, field for field.

    Reflectance deltas are in reflectance units (0-1), radii in 10 m pixels, heights in
    metres, angles in degrees, windows in days. See ``docs/masks.md`` for the method.
    """

    # --- initial mask from the SCL (hrlc.masks.scl_lookup)
    dark_area: Literal["clear", "shadow"] = Field(
        "clear", description="SCL 2 (dark area, terrain shadow since baseline 04.00)")
    snow: Literal["clear", "nodata"] = Field("clear", description="SCL 11 (snow or ice)")

    # --- bands (by name)
    blue: str = "B02"
    kmeans_bands: list[str] = Field(["B04", "B08", "B11"],
                                    description="K-means features besides the blue")
    nir: str = Field("B08", description="NIR band of the cloud-shadow index")
    swir: str = Field("B11", description="SWIR 1 band of the cloud-shadow index")

    # --- seasonal background
    quantile: Fraction = Field(0.25, description="background quantile of the clear "
                               "observations (blue and K-means bands)")
    shadow_quantile: Fraction = Field(0.5, description="background quantile of the CSI")
    window_days: float | None = Field(
        None, gt=0, description="half-width of a moving season window, days; null: the "
        "whole series is one season")
    min_clear: PositiveInt = Field(3, description="fewest clear observations for a background")
    all_observations: bool = Field(
        True, description="pixels with fewer than min_clear SCL-clear observations take a "
        "background from all their observations, then from the dates found clear against it "
        "(two passes; against Sen2Cor's persistent false clouds on bright surfaces); false: "
        "they follow fallback")
    fallback: Literal["scl", "nodata"] = Field(
        "scl", description="mask of pixels still without a background: the SCL's, or no data "
        "(255)")

    # --- K-means cloud refinement
    n_clusters: int = Field(8, ge=2, le=64)
    sample_size: int = Field(50_000, ge=100, description="observations to fit the K-means on")
    sample_windows: int = Field(9, ge=1, le=400, description="windows the sample is drawn from")
    sample_window_size: int = Field(256, ge=16, description="side of a sample window, pixels")
    seed: int = Field(0, ge=0)
    candidate_delta: Delta = Field(0.03, description="blue brighter than the background by "
                                   "more than this: clustered")
    cloud_delta: Delta = Field(0.05, description="blue deviation of a cloud cluster centre")
    blue_share: Fraction = Field(0.6, description="cloud brightening is white: blue "
                                 "deviation >= this x the largest band deviation")
    thick_delta: Delta = Field(0.15, description="blue deviation from which cloud is thick")
    opening: Radius = 1
    closing: Radius = 2
    cloud_buffer: Radius = 0

    # --- shadows
    csi_ratio: float = Field(0.75, gt=0, le=2, description="CSI <= ratio x background CSI")
    blue_ratio: float = Field(1.0, gt=0, le=2, description="blue <= ratio x background blue")
    water_ndwi: float = Field(0.2, ge=-1, le=1, description="background NDWI above it: water")
    terrain_cos_i: float = Field(0.15, ge=-1, le=1, description="with a DEM: illumination "
                                 "cos i below it is terrain shadow")
    cloud_heights: tuple[float, float] = Field(
        (200.0, 4000.0), description="lowest and highest cloud above the ground, metres")
    shadow_opening: Radius = 1
    shadow_closing: Radius = 2
    shadow_buffer: Radius = 1

    @field_validator("blue", "nir", "swir")
    @classmethod
    def _band(cls, value: str) -> str:
        from hrlc.io.bands import canonical_band

        return canonical_band(value)

    @field_validator("kmeans_bands")
    @classmethod
    def _bands(cls, value: list[str]) -> list[str]:
        from hrlc.io.bands import L2A_BANDS, canonical_band

        bands = [canonical_band(b) for b in value]
        # B10 (cirrus) and SCL are band ids but not L2A reflectance: caught here, the
        # reader would blame its own 'bands' option
        other = [b for b in bands if b not in L2A_BANDS]
        if other:
            raise ValueError(f"{', '.join(other)} is not a surface-reflectance band of L2A "
                             f"products; choose the K-means bands among {', '.join(L2A_BANDS)}")
        return bands

    @model_validator(mode="after")
    def _consistent(self) -> MasksConfig:
        low, high = self.cloud_heights
        if not 0 <= low <= high:
            raise ValueError(f"cloud_heights must be (low, high) metres with 0 <= low <= high, "
                             f"got {self.cloud_heights}")
        if not self.candidate_delta <= self.cloud_delta <= self.thick_delta:
            raise ValueError(
                "deltas must grow: candidate_delta <= cloud_delta <= thick_delta, got "
                f"{self.candidate_delta}, {self.cloud_delta}, {self.thick_delta}")
        return self


class MasksRunConfig(StageConfig):
    """``hrlc masks CONFIG``: the scenes, the DEM, where the masks go, and the options.

    ``sources``: L2A scenes of one tile (SAFE folders or .zip, a folder of them, band
    folders); ``dem``: a DEM raster in any CRS (optional; reprojected to the scenes);
    ``output``: folder for one mask COG per scene and ``summary.csv``; ``chunks``:
    spatial chunk size in pixels (512 by default: a full-tile season of 8 dates then peaks
    at 3.0 GB, against 4.2 GB with 1024 px chunks, for 1.6x the time); ``scl_masks``: also write the SCL-derived masks
    (``scl/``, the baseline of ``hrlc evaluate-masks``); ``source``: which masks are the
    main output (scl, refined, cnn or combined; the last two need the extra ``hrlc[cnn]``);
    ``peers``: with the extra, also write ``cnn/`` and ``combined/``; ``read``: options for sources
    without Sentinel-2 metadata; ``masks``: the options of ``refine_masks``;
    ``compute``: the scheduler.
    """

    sources: list[str] = Field(min_length=1)
    dem: str | None = None
    output: str
    chunks: PositiveInt = 512
    scl_masks: bool = True
    source: Literal["scl", "refined", "cnn", "combined"] = "refined"
    peers: bool = False
    read: SourceOptions | None = None
    masks: MasksConfig = Field(default_factory=MasksConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)

    @field_validator("sources", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value
