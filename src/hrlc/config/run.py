"""Configuration of a whole run (``hrlc run``): inputs, labels, and every stage's options."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from hrlc.config._base import StageConfig
from hrlc.config.composite import CompositeConfig
from hrlc.config.dataset import DatasetConfig, LCMapSource, PolygonSource
from hrlc.config.features import FeaturesConfig
from hrlc.config.io import ComputeConfig, SourceOptions
from hrlc.config.mapping import MapConfig
from hrlc.config.masks import MasksConfig
from hrlc.config.restore import RestoreConfig
from hrlc.config.train import TrainConfig

#: The chain, in order.
STAGES = ("masks", "composite", "restore", "features", "dataset", "train", "map")
Stage = Literal["masks", "composite", "restore", "features", "dataset", "train", "map"]


class RunConfig(StageConfig):
    """A run from L2A scenes and labels to a land-cover map.

    ``output`` is the run folder: every stage writes there (``masks/``,
    ``composites.zarr``, ``restored.zarr``, ``features.zarr``, ``dataset/``, ``model/``,
    ``map/``), with ``configs/`` (the resolved configuration of each stage, runnable on
    its own with ``hrlc <stage>``) and ``manifest.json``. ``stages`` limits the run to
    some stages (their inputs must then exist in ``output``); without masks, composite
    and restore, the features are built from ``sources`` themselves (composites made
    elsewhere, or one scene as a one-month stack). Each stage section holds
    the keyword options of that stage's function (see ``configs/<stage>.yaml``).
    """

    output: str = "hrlc-output"
    sources: list[str] = Field(min_length=1)
    read: SourceOptions | None = None
    bands: list[str] | None = None
    chunks: PositiveInt = 1024
    dem: str | None = None
    classes: str | None = None
    polygons: PolygonSource | None = None
    lc_maps: list[LCMapSource] = Field(default_factory=list)
    stages: list[Stage] = Field(default_factory=lambda: list(STAGES))
    mask_source: Literal["scl", "refined"] = "refined"
    masks: MasksConfig = Field(default_factory=MasksConfig)
    composite: CompositeConfig = Field(default_factory=CompositeConfig)
    restore: RestoreConfig = Field(default_factory=RestoreConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    map: MapConfig = Field(default_factory=MapConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)
