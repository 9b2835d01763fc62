"""Configuration of inputs (sources, band mapping) and of the compute backend."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, PositiveInt, field_validator

from hrlc.config._base import StageConfig

_SCHEDULER = re.compile(r"^(threads|processes|local|synchronous|tcp://[\w.\-]+:\d+)$")


class ComputeConfig(StageConfig):
    """Where dask runs the work.

    ``scheduler``: ``threads`` (default), ``processes``, ``synchronous`` (debugging),
    ``local`` (a dask.distributed LocalCluster of ``n_workers`` with ``memory_limit``
    each) or the ``tcp://host:port`` address of a running scheduler (dask-jobqueue,
    dask-gateway, ``dask scheduler``); ``connect_timeout`` (seconds) bounds the wait for
    that scheduler.
    """

    scheduler: str = "threads"
    n_workers: PositiveInt | None = None
    threads_per_worker: PositiveInt = 1
    memory_limit: str = "4GB"
    connect_timeout: float = Field(10.0, gt=0)

    @field_validator("scheduler")
    @classmethod
    def _known_scheduler(cls, value: str) -> str:
        if not _SCHEDULER.match(value):
            raise ValueError(
                "must be threads, processes, synchronous, local or tcp://host:port"
            )
        return value


class AoiBox(StageConfig):
    """An area of interest as a bounding box: ``[west, south, east, north]`` in ``crs``."""

    bbox: tuple[float, float, float, float]
    crs: str = "EPSG:4326"

    @field_validator("bbox")
    @classmethod
    def _ordered(cls, value: tuple[float, float, float, float]):
        west, south, east, north = value
        if not (west < east and south < north):
            raise ValueError("must be [west, south, east, north] with west < east and "
                             "south < north")
        return value


class SourceOptions(StageConfig):
    """How to read the sources, and facts about sources without Sentinel-2 metadata.

    Reflectance = (DN + boa_add_offset) / quantification for band folders and
    multi-band files. ``filename_pattern``: the naming of band files (``{band}``,
    ``{date}``, ``{tile}``, ``*``) or a preset (``sits``). ``boa_offset``: for STAC
    items, ``auto`` (the catalog's declared offset, else -1000 DN from processing
    baseline 04.00 unless the catalog says it applied it), ``apply`` (-1000 DN from
    baseline 04.00 whatever the item says) or ``none`` (the pixels are already
    harmonised). ``aoi``: read only the area of interest, a bbox with its CRS or the
    path of a vector file (or ``"west,south,east,north"`` in longitude/latitude).
    """

    band_names: list[str] | None = None
    quantification: float = Field(10000.0, gt=0)
    boa_add_offset: float = 0.0
    nodata: float | None = None
    datetime: str | None = None
    sun_zenith: float | None = Field(None, ge=0, le=90)
    sun_azimuth: float | None = Field(None, ge=0, le=360)
    filename_pattern: str | None = None
    boa_offset: Literal["auto", "apply", "none"] = "auto"
    aoi: AoiBox | str | None = None

    @field_validator("band_names")
    @classmethod
    def _known_bands(cls, value: list[str] | None) -> list[str] | None:
        from hrlc.io.bands import canonical_band

        return None if value is None else [canonical_band(v) for v in value]

    @field_validator("filename_pattern")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        from hrlc.io.naming import check_pattern

        return None if value is None else check_pattern(value)


class ReadConfig(StageConfig):
    """Inputs of a run: the L2A sources and how to read them (``read_l2a`` options)."""

    sources: list[str] = Field(min_length=1)
    bands: list[str] | None = None
    resolution: Literal[10, 20, 60] = 10
    chunks: PositiveInt = 1024
    options: SourceOptions = SourceOptions()
