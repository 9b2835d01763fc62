"""Configuration of monthly compositing: the keyword options of ``monthly_composite``."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from hrlc.config._base import StageConfig

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class CompositeConfig(StageConfig):
    """Options of :func:`hrlc.composite.monthly_composite`, field for field.

    ``method``: median (default), quantile, max_ndvi or medoid of the clear observations
    of each month; ``quantile`` for the quantile method; ``red``/``nir`` bands for
    max_ndvi; ``clear_codes``: CloudSEN12 mask codes counted as clear (0 clear, 2 thin
    cloud); ``start``/``end``: first and last month ("YYYY-MM", default: the scenes').
    """

    method: Literal["median", "quantile", "max_ndvi", "medoid"] = "median"
    quantile: float = Field(0.5, ge=0, le=1)
    red: str = "B04"
    nir: str = "B08"
    clear_codes: list[int] = Field(default_factory=lambda: [0], min_length=1)
    start: str | None = None
    end: str | None = None

    @field_validator("clear_codes")
    @classmethod
    def _known_codes(cls, value: list[int]) -> list[int]:
        bad = [c for c in value if c not in (0, 1, 2, 3)]
        if bad:
            raise ValueError(f"codes must be CloudSEN12 classes 0-3, got {bad}")
        return value

    @field_validator("start", "end")
    @classmethod
    def _month(cls, value: str | None) -> str | None:
        if value is not None and not _MONTH.match(str(value)):
            raise ValueError("must be a month written 'YYYY-MM' (quote it in YAML)")
        return value
