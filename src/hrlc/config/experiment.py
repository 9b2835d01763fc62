"""Configuration of an experiment: a grid of training variants on one sample table.

``hrlc experiment EXPERIMENT.yaml`` trains every combination of the ``grid:`` lists (over
the ``train:`` base), writes one comparison table and, with ``maps: true``, maps every
variant and compares the maps. :meth:`ExperimentConfig.variants` expands the grid.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import (Field, NonNegativeInt, PositiveInt, ValidationError, ValidationInfo,
                      create_model, field_validator)

from hrlc.config._base import StageConfig, format_validation_error
from hrlc.config.io import ComputeConfig
from hrlc.config.mapping import MapConfig, MapRunConfig
from hrlc.config.train import TrainConfig

#: Feature presets a grid can name besides the keys of ``feature_sets``.
PRESETS = ("extended", "reference")
#: TrainConfig fields the grid cannot vary: the columns come from ``preset``, the
#: classifiers from ``classifier``.
NOT_IN_GRID = ("features", "compare")


@dataclass(frozen=True)
class GridVariant:
    """One combination of the grid.

    Attributes
    ----------
    name : str
        Made of the values of the grid keys that take more than one value.
    params : dict
        Grid key -> value (``preset`` included).
    kind : str
        The classifier (a value of ``classifier``).
    role : {"bundle", "compare"}
        ``bundle``: ``train_model`` accepts ``kind`` as its ``classifier`` (the variant
        gets a model bundle and can be mapped); ``compare``: only in ``compare`` (e.g. the
        RandomForest baseline: evaluated, never mapped).
    options : dict
        The ``train_model`` keywords of the variant (TrainConfig fields) without
        ``features`` (set from the preset when the table is known) and ``compare``.
    """

    name: str
    params: dict
    kind: str
    role: str
    options: dict = field(repr=False)


def _accepts(key: str, value: Any) -> bool:
    try:
        TrainConfig.model_validate({key: value})
    except ValidationError:
        return False
    return True


def _role(kind: str) -> str:
    """``bundle`` or ``compare`` (see :class:`GridVariant`); ValueError when neither."""
    if _accepts("classifier", kind):
        return "bundle"
    if _accepts("compare", [kind]):
        return "compare"
    raise ValueError(f"grid.classifier: unknown classifier {kind!r}; use a value that "
                     "train.classifier or train.compare accepts (see configs/train.yaml)")


def _label(key: str, value: Any) -> str:
    """A value as part of a variant name: classifiers and presets as they are, ``none`` /
    ``False`` as ``no_<key>``, other values as ``<key>_<value>`` (``pca_variance``)."""
    if key in ("classifier", "preset"):
        text = str(value)
    elif value is None or value == "none" or value is False:
        text = f"no_{key}"
    elif value is True:
        text = key
    elif isinstance(value, list | tuple):
        text = f"{key}_" + "_".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = f"{key}_" + "_".join(f"{k}_{v}" for k, v in value.items())
    else:
        text = f"{key}_{value}"
    return re.sub(r"[^A-Za-z0-9_.]+", "_", text)


#: What ``hrlc map`` computes features from (``configs/map.yaml``): an experiment maps
#: from the same keys, defined once in :class:`~hrlc.config.mapping.MapRunConfig`.
MAP_SOURCE = ("features", "composites", "dem", "dem_use_nodata", "read", "feature_options",
              "chunks")
_MapSource = create_model("_MapSource", __base__=StageConfig, **{
    name: (info.annotation, info) for name, info in MapRunConfig.model_fields.items()
    if name in MAP_SOURCE})


class ExperimentConfig(_MapSource):
    """``hrlc experiment CONFIG``: a grid of training variants, a table, optional maps.

    ``samples``: the sample table (Parquet or CSV of ``hrlc dataset``, with its ``.json``
    sidecar); ``output``: folder of the table, the cache, the maps and comparisons;
    ``train``: the base :class:`~hrlc.config.train.TrainConfig` of every variant
    (``compare`` is not used: list classifiers in ``grid.classifier``); ``grid``: key ->
    list of values, a key being ``preset`` or a TrainConfig field (not ``features``,
    ``compare``), the variants being the cartesian product; ``feature_sets``: name ->
    column names or glob patterns (``B0?_*``), selectable as ``grid.preset`` values next
    to ``extended`` (every feature column of the table, or ``train.features``) and
    ``reference`` (the reference chain's 167 features, which the table must hold);
    ``maps``: map every variant and compare the maps; the map source as in
    ``configs/map.yaml``: ``features`` (a feature cube) or ``composites`` with ``dem``,
    ``dem_use_nodata``, ``read``, ``feature_options``, ``chunks``; ``window``:
    ``[col_off, row_off, width, height]`` px of the cube to map (default all); ``map``:
    options of ``predict_map``; ``minor_percent``: a class under this share (%) of a
    map's pixels is a minor class; ``compute``: the dask scheduler the variants (and the
    maps' chunks) run on.
    """

    samples: str
    output: str
    train: TrainConfig = Field(default_factory=TrainConfig)
    feature_sets: dict[str, list[str]] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    maps: bool = False
    window: tuple[NonNegativeInt, NonNegativeInt, PositiveInt, PositiveInt] | None = None
    map: MapConfig = Field(default_factory=MapConfig)
    minor_percent: float = Field(5.0, gt=0, lt=100)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)

    @field_validator("composites", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("composites")
    @classmethod
    def _one_source(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if value is not None and info.data.get("features") is not None:
            raise ValueError("give either 'features' (a feature cube) or 'composites' "
                             "(features computed on the fly), not both")
        return value

    @field_validator("dem")
    @classmethod
    def _dem(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("composites") is None:
            raise ValueError("'dem' is used with 'composites' only (a feature cube already "
                             "holds the terrain features)")
        return value

    @field_validator("train")
    @classmethod
    def _no_compare(cls, value: TrainConfig) -> TrainConfig:
        if "compare" in value.model_fields_set and value.compare:
            raise ValueError(f"train.compare ({value.compare}) is not used by an experiment; "
                             "list the classifiers in grid.classifier")
        return value

    @field_validator("feature_sets")
    @classmethod
    def _sets(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        clash = [name for name in value if name in PRESETS]
        if clash:
            raise ValueError(f"feature set name(s) {clash} are presets; choose other names")
        empty = [name for name, patterns in value.items() if not patterns]
        if empty:
            raise ValueError(f"feature set(s) {empty} list no column; give names or patterns")
        return value

    @field_validator("grid")
    @classmethod
    def _grid(cls, value: dict[str, list[Any]], info: ValidationInfo) -> dict[str, list[Any]]:
        for key, values in value.items():
            if key in NOT_IN_GRID:
                use = "preset (and feature_sets)" if key == "features" else "classifier"
                raise ValueError(f"grid.{key} cannot vary; use grid.{use}")
            if key != "preset" and key not in TrainConfig.model_fields:
                allowed = [k for k in TrainConfig.model_fields if k not in NOT_IN_GRID]
                raise ValueError(f"grid.{key}: not a training option; use preset or one of "
                                 f"{', '.join(allowed)}")
            if not values:
                raise ValueError(f"grid.{key} is empty; give at least one value")
            if len({repr(v) for v in values}) != len(values):
                raise ValueError(f"grid.{key} repeats a value: {values}")
        sets = info.data.get("feature_sets", {})
        unknown = [p for p in value.get("preset", []) if p not in (*PRESETS, *sets)]
        if unknown:
            raise ValueError(f"grid.preset: unknown preset(s) {unknown}; use "
                             f"{', '.join([*PRESETS, *sets])} (feature_sets defines more)")
        if "train" in info.data:  # else its own error is reported
            expand_grid(value, info.data["train"])  # every combination must be valid
        return value

    def variants(self) -> list[GridVariant]:
        """The variants: :func:`expand_grid` of ``grid`` over ``train``."""
        return expand_grid(self.grid, self.train)


def expand_grid(grid: dict[str, list[Any]], train: TrainConfig) -> list[GridVariant]:
    """The cartesian product of ``grid`` over the base ``train``, in the order of its keys
    and values.

    Raises
    ------
    ValueError
        A combination is not a valid TrainConfig (the message names it), or two
        combinations get the same name.
    """
    keys = list(grid)
    base = train.model_dump()
    varying = [k for k in keys if len(grid[k]) > 1] or keys
    found: list[GridVariant] = []
    for values in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, values))
        options = {k: v for k, v in params.items() if k != "preset"}
        kind = options.pop("classifier", base["classifier"])
        role = _role(kind)
        check = {**base, **options, "compare": [], "features": None}
        if role == "bundle":
            check["classifier"] = kind
        try:
            options = TrainConfig.model_validate(check).model_dump()
        except ValidationError as exc:
            where = ", ".join(f"{k}={v!r}" for k, v in params.items())
            raise ValueError(format_validation_error(exc, TrainConfig,
                                                     f"grid combination {where}")) from None
        options.update(classifier=kind, compare=[])
        options.pop("features")
        name = "-".join(_label(k, params[k]) for k in varying) or "base"
        found.append(GridVariant(name=name, params={"preset": "extended", **params}, kind=kind,
                                 role=role, options=options))
    names = [v.name for v in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"grid values give the same variant name twice: {twice}; make the "
                         "values distinct")
    return found
