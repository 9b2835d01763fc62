"""Feature scaling: scikit-learn's standard, min-max and quantile scalers, chosen by name."""

from __future__ import annotations

import copy
from typing import Literal

import numpy as np

ScalerName = Literal["standard", "minmax", "quantile", "none"]
SCALERS: tuple[str, ...] = ("standard", "minmax", "quantile", "none")


def make_scaler(kind: ScalerName = "standard", *, n_quantiles: int = 1000,
                quantile_output: Literal["uniform", "normal"] = "uniform",
                random_state: int = 0):
    """An unfitted scikit-learn scaler, or ``None`` for ``"none"``.

    Parameters
    ----------
    kind : {"standard", "minmax", "quantile", "none"}
        ``standard``: zero mean, unit variance; ``minmax``: to [0, 1] on the training
        range; ``quantile``: each feature through its empirical CDF (robust to outliers).
    n_quantiles : int
        Quantiles of the quantile scaler; at most the number of training samples
        (scikit-learn would lower it to that with a warning).
    quantile_output : {"uniform", "normal"}
        Output distribution of the quantile scaler.
    random_state : int
        Seed of the quantile scaler's subsampling.
    """
    from sklearn.preprocessing import MinMaxScaler, QuantileTransformer, StandardScaler

    if kind == "standard":
        return StandardScaler()
    if kind == "minmax":
        return MinMaxScaler()
    if kind == "quantile":
        return QuantileTransformer(n_quantiles=n_quantiles, output_distribution=quantile_output,
                                   random_state=random_state)
    if kind == "none":
        return None
    raise ValueError(f"unknown scaler {kind!r}; use one of {', '.join(SCALERS)}")


#: Fitted attributes of each scaler with one entry per input feature along the last axis.
_PER_FEATURE = {
    "StandardScaler": ("mean_", "var_", "scale_", "n_samples_seen_"),
    "MinMaxScaler": ("min_", "scale_", "data_min_", "data_max_", "data_range_"),
    "QuantileTransformer": ("quantiles_",),
}


def restrict_scaler(scaler, support: np.ndarray):
    """The fitted ``scaler`` restricted to the features where ``support`` is true.

    The scalers are per feature, so a scaler fitted on all features and restricted
    transforms the kept features as it transforms them among all: training fits the scaler
    once (on every feature, for the selection) and a model bundle keeps only the selected
    features' parameters. StandardScaler's means may differ in the last bits from a fit on
    the kept columns alone (numpy sums columns in another order); the other scalers'
    parameters are identical.

    Parameters
    ----------
    scaler : fitted StandardScaler, MinMaxScaler or QuantileTransformer, or None
    support : ndarray of bool (n_features_in_,)
        The kept features.

    Returns
    -------
    A new fitted scaler of the same class with ``n_features_in_ = support.sum()``, or None.
    """
    if scaler is None:
        return None
    name = type(scaler).__name__
    if name not in _PER_FEATURE:
        raise TypeError(f"unsupported scaler {name}; use one of {', '.join(_PER_FEATURE)}")
    support = np.asarray(support, dtype=bool)
    if support.shape != (scaler.n_features_in_,):
        raise ValueError(f"support must be {scaler.n_features_in_} booleans, one per feature "
                         f"the scaler was fitted on, got shape {support.shape}")
    kept = copy.copy(scaler)
    for attr in (*_PER_FEATURE[name], "feature_names_in_"):
        value = getattr(scaler, attr, None)
        if isinstance(value, np.ndarray) and value.ndim:  # n_samples_seen_ may be one int
            setattr(kept, attr, value[..., support])
    kept.n_features_in_ = int(support.sum())
    return kept


def scaler_arrays(scaler) -> dict[str, object]:
    """The fitted parameters of a scaler as plain arrays, for a predictor without scikit-learn.

    Returns
    -------
    dict
        ``kind`` and, for ``standard``: ``mean``, ``scale`` (x' = (x - mean) / scale);
        ``minmax``: ``scale``, ``offset`` (x' = x * scale + offset); ``quantile``:
        ``quantiles`` (n_quantiles, n_features), ``references`` (n_quantiles,),
        ``output_distribution`` (x' = interp(x, quantiles[:, j], references) per feature,
        averaged with the same interpolation run from the top, as scikit-learn does, then
        passed through the normal quantile function when ``normal``); ``none``: nothing.
    """
    if scaler is None:
        return {"kind": "none"}
    name = type(scaler).__name__
    if name == "StandardScaler":
        return {"kind": "standard", "mean": scaler.mean_, "scale": scaler.scale_}
    if name == "MinMaxScaler":
        return {"kind": "minmax", "scale": scaler.scale_, "offset": scaler.min_}
    if name == "QuantileTransformer":
        return {"kind": "quantile", "quantiles": scaler.quantiles_,
                "references": scaler.references_,
                "output_distribution": scaler.output_distribution}
    raise TypeError(f"unsupported scaler {name}")
