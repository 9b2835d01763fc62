"""Configuration of a whole run (``hrlc run``): inputs, labels, and every stage's options."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from hrlc.config._base import StageConfig
from hrlc.config.composite import CompositeConfig
from hrlc.config.dataset import DatasetConfig, LCMapSource, PolygonSource
from hrlc.config.features import FeaturesConfig
from hrlc.config.io import ComputeConfig, SourceOptions
from hrlc.config.mapping import MapConfig
from hrlc.config.masks import MasksConfig
from hrlc.config.restore import RestoreConfig
from hrlc.config.train import TrainConfig
from hrlc.errors import ConfigError

#: The chain, in order.
STAGES = ("masks", "composite", "restore", "features", "dataset", "train", "map")
Stage = Literal["masks", "composite", "restore", "features", "dataset", "train", "map"]


#: Stages that only the tile providing the model runs (``model_from``).
TRAINING = ("dataset", "train")
_TILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class TileConfig(StageConfig):
    """The inputs of one tile (or year) of a run; an omitted key takes the run's value."""

    sources: list[str] | None = Field(None, min_length=1)
    read: SourceOptions | None = None
    dem: str | None = None
    classes: str | None = None
    polygons: PolygonSource | None = None
    lc_maps: list[LCMapSource] | None = None


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

    ``tiles`` maps names to the inputs of several tiles (or years), each run in
    ``output/<name>/`` (its own stage outputs, configs, manifest and report), one after
    another; ``output/manifest.json`` then lists the tiles. With ``model_from: <name>``
    only that tile runs dataset and train, first, and every tile is mapped with its model.
    ``parallel_tiles`` tiles run side by side (each tile's stages in order; the
    ``model_from`` tile first, alone): on a dask cluster (``compute.scheduler``) their
    stages share its workers; on one machine each stage already uses every core, so keep
    1 unless the tiles' stages leave cores idle and memory allows N stages at once.
    """

    output: str = "hrlc-output"
    sources: list[str] = Field(default_factory=list)
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
    tiles: dict[str, TileConfig] | None = None
    model_from: str | None = None
    parallel_tiles: PositiveInt = 1

    @model_validator(mode="after")
    def _check_tiles(self) -> RunConfig:
        if not self.tiles:
            if self.model_from is not None:
                raise ConfigError(f"model_from: {self.model_from!r} needs 'tiles' (a mapping "
                                  "of tile names to their inputs); add it or remove model_from")
            if not self.sources:
                raise ConfigError("missing required key 'sources' (scene folders or zips), "
                                  "or give 'tiles' with sources of their own")
            return self
        for name in self.tiles:
            if not _TILE_NAME.fullmatch(name):
                raise ConfigError(f"tiles: {name!r} is not a safe folder name; use letters, "
                                  "digits, '_' and '-' (up to 64, not starting with '_' or '-')")
        if self.model_from is not None and self.model_from not in self.tiles:
            raise ConfigError(f"model_from: {self.model_from!r} is not a tile; choose one of: "
                              f"{', '.join(self.tiles)}")
        for name in self.tiles:
            if not (self.tiles[name].sources or self.sources):
                raise ConfigError(f"tiles.{name}: no 'sources'; give them for the tile or at "
                                  "the top level")
            tile = self.tile(name)
            trains = any(s in self.stages for s in TRAINING) and self.model_from in (None, name)
            if trains and tile.polygons is None and not tile.lc_maps:
                raise ConfigError(f"tiles.{name}: no labels to train with; give 'polygons' or "
                                  "'lc_maps' (for the tile or at the top level)"
                                  + ("" if self.model_from else ", or share a model with "
                                     "model_from: <tile>"))
        return self

    def tile(self, name: str) -> RunConfig:
        """The run of tile ``name``: its inputs over the run's, in ``output/<name>``, without
        dataset and train when another tile provides the model."""
        data = self.model_dump(mode="json", exclude={"tiles", "model_from"})
        data.update(self.tiles[name].model_dump(mode="json", exclude_unset=True))
        data["output"] = f"{self.output.rstrip('/')}/{name}"
        if self.model_from not in (None, name):
            data["stages"] = [s for s in self.stages if s not in TRAINING]
        return RunConfig.model_validate(data)
