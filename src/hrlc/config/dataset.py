"""Configuration of training-dataset generation: ``build_dataset`` options and the CLI run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveInt, field_validator, model_validator

from hrlc.config._base import StageConfig
from hrlc.config.features import FeaturesConfig
from hrlc.config.io import ComputeConfig, SourceOptions


class DatasetConfig(StageConfig):
    """Options of :func:`hrlc.dataset.build_dataset`, field for field.

    ``strategy``: standard (polygons), enhanced (polygons + land-cover maps), fulllc
    (maps only; polygons are the evaluation set); ``all_touched``: rasterise every
    touched pixel; ``max_per_class``: cap per class (one number, or per class name);
    ``min_per_class`` / ``min_polygons_per_class``: below these a class is reported
    (``drop_small_classes`` removes it); ``lc_per_class``: map pixels drawn per class;
    ``lc_erosion``: px away from class borders; ``block_size``: m; ``split_by``: block or
    polygon; ``test_fraction``; ``drop_nan``: drop pixels with a NaN feature (counted);
    ``seed``.
    """

    strategy: Literal["standard", "enhanced", "fulllc"] = "standard"
    all_touched: bool = False
    max_per_class: PositiveInt | dict[str, PositiveInt] | None = None
    min_per_class: NonNegativeInt = 50
    min_polygons_per_class: NonNegativeInt = 3
    drop_small_classes: bool = False
    lc_per_class: NonNegativeInt | dict[str, NonNegativeInt] = 1000
    lc_erosion: NonNegativeInt = 0
    block_size: float = Field(1000.0, gt=0)
    split_by: Literal["block", "polygon"] = "block"
    test_fraction: float = Field(0.3, ge=0, lt=1)
    drop_nan: bool = True
    seed: int = 0


class PolygonSource(StageConfig):
    """Labelled polygons/points: ``path`` (GeoPackage, Shapefile, GeoJSON) and where the
    class comes from: ``layers`` (one layer per class: layer -> class name, or a list of
    layers named after their class), or ``layer`` (default: all layers) with a
    ``class_field``. ``values`` renames field values, ``ignore`` skips values,
    ``id_field`` gives polygon ids (default: position in the file)."""

    path: str
    layers: dict[str, str | int] | list[str] | None = None
    layer: str | None = None
    class_field: str | None = None
    values: dict[str, str | int] | None = None
    ignore: list[str | int] = Field(default_factory=list)
    id_field: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> PolygonSource:
        if self.layers is not None and (self.layer is not None or self.class_field is not None):
            raise ValueError("give 'layers' (one layer per class) or 'layer'/'class_field' "
                             "(one layer with a class field), not both")
        return self

    def layer_names(self) -> list[str] | None:
        """Layers to read (None: all)."""
        if isinstance(self.layers, dict):
            return list(self.layers)
        if isinstance(self.layers, list):
            return self.layers
        return None if self.layer is None else [self.layer]

    def layer_classes(self) -> dict[str, str | int] | None:
        """Layer -> class, for one layer per class."""
        if isinstance(self.layers, list):
            return {name: name for name in self.layers}
        return self.layers


class LCMapSource(StageConfig):
    """An existing land-cover raster (any CRS) and its code mapping YAML
    (``mapping: {code: class}``, ``ignore: [codes]``)."""

    path: str
    mapping: str


class FeatureSource(StageConfig):
    """The feature cube: a Zarr store written by ``hrlc features`` (``zarr``), or built
    lazily from ``composites`` (Zarr of composites or L2A sources) and an optional
    ``dem`` with ``options`` (see configs/features.yaml); only the chunks holding
    samples are computed."""

    zarr: str | None = None
    composites: list[str] | None = None
    dem: str | None = None
    dem_use_nodata: bool = True
    chunks: PositiveInt = 1024
    read: SourceOptions | None = None
    options: FeaturesConfig = Field(default_factory=FeaturesConfig)

    @field_validator("composites", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one(self) -> FeatureSource:
        if (self.zarr is None) == (self.composites is None):
            raise ValueError("give either 'zarr' (a feature cube) or 'composites' (to build "
                             "the features), not both or neither")
        return self


class DatasetRunConfig(StageConfig):
    """``hrlc dataset CONFIG``: the feature cube, the labels, the outputs.

    ``classes``: class table YAML (default: inferred from the polygons); ``output``:
    ``<stem>`` of ``<stem>.csv``, ``<stem>.parquet`` and ``<stem>.json``; ``report``:
    folder of the Markdown + PNG report (default ``<stem>_report``);
    ``report_features``: features plotted (default a few telling ones).
    """

    features: FeatureSource
    classes: str | None = None
    polygons: PolygonSource | None = None
    lc_maps: list[LCMapSource] = Field(default_factory=list)
    output: str
    formats: list[Literal["csv", "parquet"]] = Field(
        default_factory=lambda: ["csv", "parquet"], min_length=1)
    report: str | None = None
    report_features: list[str] | None = None
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)

    @model_validator(mode="after")
    def _labels(self) -> DatasetRunConfig:
        if self.polygons is None and not self.lc_maps:
            raise ValueError("give 'polygons' and/or 'lc_maps': there is nothing to label "
                             "samples with")
        if self.classes is None and self.polygons is None:
            raise ValueError("'classes' (a class table YAML) is needed when there are no "
                             "polygons to infer it from")
        return self
