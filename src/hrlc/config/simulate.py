"""Configuration of the scene simulator (``hrlc simulate``, ``simulate_series``)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from hrlc.config._base import StageConfig

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
_BASELINE = re.compile(r"^\d{2}\.\d{2}$")
_TILE = re.compile(r"^\d{2}[C-X][A-Z]{2}$")


class SimulateConfig(StageConfig):
    """Options of :func:`hrlc.simulate.simulate_series`, one field per keyword.

    Sizes in 10 m pixels, heights in metres, rates and covers as fractions 0-1.
    """

    # --- the series
    size: int = Field(1020, ge=16, le=32940,
                      description="tile side, pixels (10980 = full tile; a multiple of 6 to write)")
    dates: int = Field(12, ge=1, le=400, description="number of acquisitions")
    seed: int = Field(0, ge=0, description="random seed; same seed -> same series")
    start: date = Field(date(2019, 1, 1), description="first acquisition day")
    interval_days: int | None = Field(
        None, ge=1, description="days between acquisitions; default spreads them over a year")
    chunks: int = Field(1024, ge=16, description="spatial chunk size of the dask arrays, pixels")

    # --- the tile (a real MGRS tile by default: 31TCJ, Toulouse)
    tile_id: str = "31TCJ"
    epsg: int = Field(32631, description="UTM CRS of the tile (EPSG:326zz north, 327zz south)")
    ulx: float = Field(300000.0, description="easting of the upper-left corner, metres")
    uly: float = Field(4900020.0, description="northing of the upper-left corner, metres")
    relative_orbit: int = Field(51, ge=1, le=143)
    baselines: list[str] = Field(
        ["02.12", "05.09"], min_length=1,
        description="processing baselines cycled over the products (>= 04.00 have BOA offset)")

    # --- clouds and shadows
    cloud_cover: tuple[Fraction, Fraction] = Field(
        (0.05, 0.6), description="range of the cloud cover of cloudy dates")
    clear_date_probability: Fraction = 0.2
    cloud_height: float = Field(1500.0, gt=0, le=15000.0,
                                description="cloud height above the ground, metres")
    thick_cloud_opacity: float = Field(0.5, gt=0, le=1.0,
                                       description="opacity from which a cloud is thick")
    thin_cloud_opacity: float = Field(0.1, gt=0, lt=1.0,
                                      description="opacity from which a pixel is (thin) cloud")
    shadow_threshold: float = Field(
        0.3, gt=0, le=1.0, description="share of direct sunlight blocked from which a pixel is "
        "cloud shadow in the truth")
    cirrus_probability: Fraction = 0.3
    swath_edge_probability: Fraction = Field(
        0.1, description="probability that a date covers only part of the tile")
    noise_std: float = Field(0.003, ge=0, le=0.1,
                             description="sensor noise at 10 m, reflectance units")
    cast_shadows: bool = Field(
        False, description="terrain casts shadows (no direct light behind ridges), "
        "ray-marched over the DEM for each date's sun")

    # --- Sen2Cor-like SCL errors (fractions of 20 m pixels of the given truth)
    missed_thin_cloud: Fraction = 0.4
    missed_thick_cloud: Fraction = 0.03
    missed_shadow: Fraction = 0.7
    bright_as_cloud: Fraction = 0.1
    dark_area: Fraction = 0.3
    persistent_bright_as_cloud: Fraction = Field(
        0.0, description="built-up and bare pixels called cloud on most dates (a fixed set, "
        "each date with probability 0.9)")

    # --- training polygons
    polygons_per_class: int = Field(30, ge=1, le=10000)
    mislabelled_polygons: Fraction = 0.05
    overlapping_polygons: Fraction = 0.05

    @field_validator("baselines")
    @classmethod
    def _baseline_format(cls, value: list[str]) -> list[str]:
        bad = [b for b in value if not _BASELINE.match(b)]
        if bad:
            raise ValueError(f"baselines must look like '02.12' or '05.09', got {bad}")
        return value

    @field_validator("tile_id")
    @classmethod
    def _tile_format(cls, value: str) -> str:
        value = value.upper().removeprefix("T")
        if not _TILE.match(value):
            raise ValueError("must be an MGRS tile id such as '31TCJ'")
        return value

    @field_validator("epsg")
    @classmethod
    def _utm(cls, value: int) -> int:
        if not (32601 <= value <= 32660 or 32701 <= value <= 32760):
            raise ValueError("must be a WGS 84 / UTM zone code, 32601-32660 or 32701-32760")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SimulateConfig:
        low, high = self.cloud_cover
        if low > high:
            raise ValueError(
                f"cloud_cover must be (low, high) with low <= high, got {self.cloud_cover}")
        if self.thin_cloud_opacity >= self.thick_cloud_opacity:
            raise ValueError(
                f"thin_cloud_opacity ({self.thin_cloud_opacity}) must be below "
                f"thick_cloud_opacity ({self.thick_cloud_opacity})")
        return self
