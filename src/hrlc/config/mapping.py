"""Configuration of land-cover mapping: the options of ``predict_map`` and the CLI run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator, model_validator

from hrlc.config._base import StageConfig
from hrlc.config.features import FeaturesConfig
from hrlc.config.io import ComputeConfig, SourceOptions


class MapConfig(StageConfig):
    """Options of :func:`hrlc.mapping.predict_map`, field for field.

    ``probabilities``: ``uint8`` (percent, nodata 255) or ``float32`` (0-1, NaN);
    ``dtype``: precision of the SVM kernel GEMM (``float32``: >= 99.99 % of the labels of
    scikit-learn, ``float64``: all); ``missing``: ``nodata`` (a pixel with any missing
    feature is nodata) or ``impute`` (the bundle's training medians); ``chunks``: spatial
    chunk (px, default the cube's); ``blas_threads_per_task``: BLAS threads of each dask
    task (null: unpinned); ``memory_mb``: bound of one kernel batch (MiB); ``refine``:
    with float32, recompute in float64 the pixels too close to a steep calibration step or
    a label change (labels then as float64, probabilities within 5e-5).
    """

    probabilities: Literal["uint8", "float32"] = "uint8"
    dtype: Literal["float32", "float64"] = "float32"
    missing: Literal["nodata", "impute"] = "nodata"
    chunks: PositiveInt | None = None
    blas_threads_per_task: PositiveInt | None = 1
    memory_mb: PositiveFloat = 32.0
    refine: bool = True


class MapRunConfig(StageConfig):
    """``hrlc map CONFIG``: the model, the features (a cube or composites), the outputs.

    ``bundle``: model file (``hrlc train``); ``features``: a feature cube (Zarr of
    ``hrlc features``) *or* ``composites`` (a Zarr of composites or L2A sources, read as
    ``hrlc features`` does) with an optional ``dem``, ``dem_use_nodata``, ``read`` and the
    ``feature_options`` the bundle was trained with: then each chunk's features are
    computed on the fly and the cube is never stored; ``mask``: raster of the pixels to
    map (non-zero), on the features' grid; ``output``: folder of the map files;
    ``work``: Zarr intermediate with per-block completion markers, what an interrupted
    run resumes from (default ``<output>/.hrlc-work.zarr``); ``keep_intermediate``: keep
    it after success; ``chunks``: spatial chunk (px) of reading and of the composites;
    ``title``: of the quick-look.
    """

    bundle: str
    features: str | None = None
    composites: list[str] | None = None
    dem: str | None = None
    dem_use_nodata: bool = True
    read: SourceOptions | None = None
    feature_options: FeaturesConfig = Field(default_factory=FeaturesConfig)
    mask: str | None = None
    output: str
    work: str | None = None
    keep_intermediate: bool = False
    chunks: PositiveInt = 1024
    title: str | None = None
    map: MapConfig = Field(default_factory=MapConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)

    @field_validator("composites", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> MapRunConfig:
        if (self.features is None) == (self.composites is None):
            raise ValueError("give either 'features' (a feature cube) or 'composites' "
                             "(features computed on the fly), not both or neither")
        if self.dem is not None and self.composites is None:
            raise ValueError("'dem' is used with 'composites' only (a feature cube already "
                             "holds the terrain features)")
        return self
