"""A bundle's preprocessing (imputation, scaler, PCA) in one pass over a batch of pixels.

``ModelBundle.transform`` goes through scikit-learn's scaler and the PCA with their input
validation: about six passes over a float64 copy of the pixels. On a map that was a
quarter of the predictor's time, as much as the exponentials of the kernel
(``benchmarks/profile_map.py``). A standard or min-max scaler is per-feature affine,
``x' = x * scale + offset``, and the PCA a projection, so the same model features come
from one conversion to float64, an in-place multiply-add and (with a PCA) one GEMM; they
equal ``bundle.transform`` to rounding (relative ~1e-16). Quantile scaling is no affine
map: it keeps ``bundle.transform``.
"""

from __future__ import annotations

import numpy as np


class Preprocessing:
    """``bundle.transform`` for pixels (n, n_input) in ``input_features`` order.

    Parameters
    ----------
    bundle : ModelBundle
    """

    def __init__(self, bundle):
        self.bundle = bundle
        arrays = bundle.preprocessing_arrays()
        scaler = arrays["scaler"]
        self.affine = scaler["kind"] in ("standard", "minmax", "none")
        n = len(bundle.input_features)
        if scaler["kind"] == "standard":
            self.scale = 1.0 / np.asarray(scaler["scale"], np.float64)
            self.offset = -np.asarray(scaler["mean"], np.float64) * self.scale
        elif scaler["kind"] == "minmax":
            self.scale = np.asarray(scaler["scale"], np.float64)
            self.offset = np.asarray(scaler["offset"], np.float64)
        else:
            self.scale, self.offset = np.ones(n), np.zeros(n)
        self.impute_values = arrays["impute_values"]
        self.pca_mean, self.pca_components = arrays["pca_mean"], arrays["pca_components"]

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Model features (n, n_model), float64 (dimensionless, as the SVM was trained)."""
        if not self.affine:
            return self.bundle.transform(features)
        x = np.array(features, dtype=np.float64, copy=True, ndmin=2)
        if x.ndim != 2 or x.shape[1] != len(self.scale):
            raise ValueError(f"expected (n_samples, {len(self.scale)}) features in the order "
                             f"of input_features, got shape {np.shape(features)}")
        if self.impute_values is not None:
            missing = np.isnan(x)
            if missing.any():
                np.copyto(x, np.broadcast_to(self.impute_values, x.shape), where=missing)
        x *= self.scale
        x += self.offset
        if self.pca_components is not None:
            x -= self.pca_mean
            x = x @ self.pca_components.T
        return x
