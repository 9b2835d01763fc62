"""Feature scaling: scikit-learn's standard, min-max and quantile scalers, chosen by name."""

from __future__ import annotations

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
        Quantiles of the quantile scaler (capped at the number of training samples).
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


def fit_scaler(scaler, X: np.ndarray):
    """Fit ``scaler`` on X (n_samples, n_features); the quantile count is capped at n_samples."""
    if scaler is None:
        return None
    if hasattr(scaler, "n_quantiles"):
        scaler.set_params(n_quantiles=min(scaler.n_quantiles, X.shape[0]))
    return scaler.fit(X)


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
