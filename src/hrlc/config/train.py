"""Configuration of model training: the options of ``train_model`` and the CLI run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator, model_validator

from hrlc.config._base import StageConfig

#: The SVMs a bundle can hold (``classifier``), in the reference table's order.
SvmKind = Literal["multiclass_uncalibrated", "multiclass", "ova"]
#: What ``compare`` can train besides: the SVMs and the RandomForest baseline.
Variant = Literal["multiclass_uncalibrated", "multiclass", "ova", "random_forest"]


def check_temperature(*, classifier: str, compare, calibration: str,
                      aggregation: str) -> None:
    """Refuse temperature scaling where the one-vs-all SVM cannot use or store it.

    Raises
    ------
    ValueError
        ``classifier: ova`` with ``calibration: temperature`` (the bundle does not store
        the fitted temperature yet), or ``compare: [ova]`` with it and another
        ``aggregation`` than ``score_softmax``.
    """
    if calibration != "temperature":
        return
    if classifier == "ova":
        raise ValueError(
            "calibration: temperature of the one-vs-all SVM fits the temperature of "
            "aggregation: score_softmax, which the model bundle does not store yet; use "
            "calibration: auto, isotonic or sigmoid for classifier: ova (or list ova under "
            "compare)")
    if "ova" in compare and aggregation != "score_softmax":
        raise ValueError(
            "calibration: temperature of the one-vs-all SVM (compare: ova) is the "
            "score_softmax of its decision values with a fitted temperature; set "
            f"aggregation: score_softmax (got {aggregation}) or another calibration")


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
    ``classifier``: the SVM saved in the bundle: ``multiclass`` (one-vs-one SVC,
    calibrated), ``multiclass_uncalibrated`` (the same SVC, its vote, no probabilities:
    maps classes only) or ``ova`` (a calibrated binary SVM per class); ``compare``: other
    variants (those and ``random_forest``) trained and evaluated on the same split for
    the report; ``calibration``: ``auto`` (default: of isotonic, sigmoid (Platt) and
    temperature scaling, the one whose out-of-fold calibrated probabilities have the lowest
    ``calibration_metric``, ``ece`` (default) or ``log_loss``; one-vs-all: isotonic or
    sigmoid) | ``isotonic`` | ``sigmoid`` |
    ``temperature`` (multiclass: softmax(f / T) over the one-vs-rest decision values;
    one-vs-all: ``aggregation: score_softmax`` with a fitted T, a ``compare`` variant only
    until the bundle stores the fitted T); ``labels``: the class of a
    sample is the SVM's ``decision`` (calibration never changes it) or the most
    ``probability``-ble class (``multiclass_uncalibrated`` always uses its vote);
    ``aggregation`` of the one-vs-all calibrated binary probabilities u: ``normalise``
    (u / sum u), ``softmax`` (softmax(u / temperature), the reference chain) or
    ``score_softmax`` (softmax of the raw decision values / temperature, calibration
    unused), and ``temperature``; ``C`` and ``gamma_factors``: the grid (gamma as multiples
    of 1 / (n_features * var); default two decades each way of C = 10 and of the scale
    heuristic); ``halving_factor``: successive halving of the grid (each round keeps the
    best 1 / factor of the candidates for factor times the rows; 1: the whole grid on all
    rows); ``kernel_memory_mb``: bound of the kernel matrices the search holds at once
    (8 n^2 bytes for n rows); ``cv_folds``: folds of the search, calibration and
    RFECV, grouped by ``cv_groups`` (``block``: blocks joined by the polygons that span
    them; ``polygon``); ``class_weight``: ``auto`` (none or balanced, whichever gives the
    higher macro-F1 of the out-of-fold predictions; selection and the RandomForest use
    none, or the multiclass SVM's choice), ``none`` (or ``null``), ``balanced`` or code ->
    weight;
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
    classifier: Variant = "multiclass"
    compare: list[Variant] = Field(default_factory=lambda: ["random_forest"])
    calibration: Literal["auto", "isotonic", "sigmoid", "temperature"] = "auto"
    calibration_metric: Literal["ece", "log_loss"] = "ece"
    labels: Literal["decision", "probability"] = "decision"
    aggregation: Literal["normalise", "softmax", "score_softmax"] = "normalise"
    temperature: PositiveFloat = 1.0
    C: list[PositiveFloat] = Field(default_factory=lambda: [0.1, 1.0, 10.0, 100.0, 1000.0],
                                   min_length=1)
    gamma_factors: list[PositiveFloat] = Field(
        default_factory=lambda: [0.1, 0.3, 1.0, 3.0, 10.0], min_length=1)
    halving_factor: int = Field(3, ge=1)
    kernel_memory_mb: PositiveFloat = 6144.0
    cv_folds: int = Field(3, ge=2)
    cv_groups: Literal["block", "polygon"] = "block"
    class_weight: Literal["auto", "none", "balanced"] | dict[int, PositiveFloat] | None = "auto"
    rf_trees: PositiveInt = 300
    ece_bins: int = Field(10, ge=2)
    n_jobs: int | None = -1
    seed: int = 0

    @field_validator("compare")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _temperature_of_ova(self) -> TrainConfig:
        check_temperature(classifier=self.classifier, compare=self.compare,
                          calibration=self.calibration, aggregation=self.aggregation)
        return self

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
