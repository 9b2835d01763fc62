"""Configuration of model training: the options of ``train_model`` and the CLI run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator, model_validator

from hrlc.config._base import StageConfig

Variant = Literal["multiclass", "ova", "random_forest"]


class TrainConfig(StageConfig):
    """Options of :func:`hrlc.model.train_model`, field for field.

    ``features``: feature columns to use (default: all feature columns of the table);
    ``split``: held-out set: ``column`` (the table's ``split`` column), ``block``,
    ``polygon`` or ``pixel`` (random; shows leakage only); ``test_fraction`` for the
    last three; ``max_train_samples``: stratified cap of the training set;
    ``nan_policy``: ``reject`` | ``drop`` | ``impute`` (training medians);
    ``scaler``: ``standard`` | ``minmax`` | ``quantile`` | ``none``;
    ``selection``: ``none`` | ``multicollinearity`` | ``rfecv`` and their options;
    ``pca``: ``none`` | ``variance`` | ``elbow`` | ``average`` and ``pca_variance``;
    ``classifier``: the SVM saved in the bundle (``multiclass`` or ``ova``); ``compare``:
    other variants trained and evaluated on the same split for the report;
    ``calibration``: ``isotonic`` | ``sigmoid``; ``labels``: the class of a sample is the
    SVM's ``decision`` (calibration never changes it) or the most ``probability``-ble
    class; ``aggregation`` and ``temperature`` of
    the one-vs-all probabilities; ``C`` and ``gamma_factors``: the grid (gamma as multiples
    of 1 / (n_features * var)); ``cv_folds``: folds of the grid search, calibration and
    RFECV, grouped by ``cv_groups`` (``block``: blocks joined by the polygons that span
    them; ``polygon``); ``class_weight``: ``null``, ``balanced`` or code -> weight;
    ``rf_trees``: trees of the RandomForest baseline; ``ece_bins``: calibration bins;
    ``n_jobs``: joblib workers (-1: all cores); ``seed``.
    """

    features: list[str] | None = None
    split: Literal["column", "block", "polygon", "pixel"] = "column"
    test_fraction: float = Field(0.3, gt=0, lt=1)
    max_train_samples: PositiveInt | None = 20000
    nan_policy: Literal["reject", "drop", "impute"] = "reject"
    scaler: Literal["standard", "minmax", "quantile", "none"] = "standard"
    quantile_output: Literal["uniform", "normal"] = "uniform"
    selection: Literal["none", "multicollinearity", "rfecv"] = "multicollinearity"
    correlation_threshold: float = Field(0.9, gt=0, le=1)
    relevance: Literal["mutual_info", "anova"] = "mutual_info"
    rfecv_importance: Literal["linear_svm", "permutation"] = "linear_svm"
    rfecv_step: PositiveFloat = 0.05
    rfecv_min_features: PositiveInt = 5
    pca: Literal["none", "variance", "elbow", "average"] = "none"
    pca_variance: float = Field(0.95, gt=0, le=1)
    classifier: Literal["multiclass", "ova"] = "multiclass"
    compare: list[Variant] = Field(default_factory=lambda: ["random_forest"])
    calibration: Literal["isotonic", "sigmoid"] = "isotonic"
    labels: Literal["decision", "probability"] = "decision"
    aggregation: Literal["normalise", "softmax"] = "normalise"
    temperature: PositiveFloat = 1.0
    C: list[PositiveFloat] = Field(default_factory=lambda: [1.0, 10.0, 100.0], min_length=1)
    gamma_factors: list[PositiveFloat] = Field(default_factory=lambda: [0.3, 1.0, 3.0],
                                               min_length=1)
    cv_folds: int = Field(3, ge=2)
    cv_groups: Literal["block", "polygon"] = "block"
    class_weight: Literal["balanced"] | dict[int, PositiveFloat] | None = None
    rf_trees: PositiveInt = 300
    ece_bins: int = Field(10, ge=2)
    n_jobs: int | None = -1
    seed: int = 0

    @field_validator("compare")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("n_jobs")
    @classmethod
    def _jobs(cls, value: int | None) -> int | None:
        if value == 0:
            raise ValueError("n_jobs is a number of workers (>= 1) or -1 for all cores, got 0")
        return value


class TrainRunConfig(StageConfig):
    """``hrlc train CONFIG``: where the samples are, where the bundle and report go.

    ``samples``: sample table (Parquet or CSV from ``hrlc dataset``); ``output``: folder of
    the report (Markdown, HTML, JSON, PNG); ``bundle``: model file (default
    ``<output>/model.npz``); ``map_areas``: mapped area per class (code -> area, any
    unit) for the Olofsson et al. (2014) area-adjusted accuracy; ``area_unit``: label of
    that unit.
    """

    samples: str
    output: str
    bundle: str | None = None
    map_areas: dict[int, float] | None = None
    area_unit: str = "ha"
    train: TrainConfig = Field(default_factory=TrainConfig)

    @model_validator(mode="after")
    def _areas(self) -> TrainRunConfig:
        if self.map_areas is not None and any(v < 0 for v in self.map_areas.values()):
            raise ValueError("map_areas must be >= 0")
        return self
