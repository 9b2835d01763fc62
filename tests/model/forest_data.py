"""A real labelled patch and forests fitted on it, for the random-forest tests.

eo-learn's Slovenian test patch (tests/data/eolearn-testeopatch, see its SOURCE.md):
68 dates of NDVI (NaN where s2cloudless saw a cloud, when asked) and the 13 L1C bands of
5 scenes as 133 features per pixel, labelled by the real land-use raster (LULC, 0 = no
label). The forests train on the labelled pixels of the western half.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rioxarray  # noqa: F401 (the .rio accessor)
import xarray as xr

PATCH = Path(__file__).resolve().parents[1] / "data" / "eolearn-testeopatch"
BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11",
         "B12")
#: The patch's land-use classes (eo-learn LULC codes).
CLASS_TABLE = {1: {"name": "cultivated land", "colour": "#ffff00"},
               2: {"name": "forest", "colour": "#054907"},
               3: {"name": "grassland", "colour": "#ffa500"},
               4: {"name": "shrubland", "colour": "#806000"},
               8: {"name": "artificial surface", "colour": "#dc143c"}}


def patch_cube(*, clouds_as_nan: bool = False) -> xr.DataArray:
    """(feature, y, x) float32 cube of the patch, 133 features, on its UTM 33N grid."""
    ndvi = np.load(PATCH / "NDVI.npy")[..., 0]
    if clouds_as_nan:
        ndvi = np.where(np.load(PATCH / "CLM.npy")[..., 0] == 1, np.nan, ndvi)
    scenes = np.load(PATCH / "REFERENCE_SCENES.npy")
    n_scenes, height, width, n_bands = scenes.shape
    bands = scenes.transpose(0, 3, 1, 2).reshape(n_scenes * n_bands, height, width)
    names = [f"NDVI_t{t:02d}" for t in range(len(ndvi))] + [
        f"L1C_s{s + 1}_{b}" for s in range(n_scenes) for b in BANDS]
    return xr.DataArray(
        np.concatenate([ndvi, bands]).astype(np.float32), dims=("feature", "y", "x"),
        coords={"feature": names, "y": 5080254.63 - 9.9975 * (np.arange(height) + 0.5),
                "x": 465181.05 + 9.9948 * (np.arange(width) + 0.5)}).rio.write_crs(32633)


def patch_labels() -> np.ndarray:
    """(y, x) land-use code of each pixel, 0 = no label."""
    return np.load(PATCH / "LULC.npy")[..., 0].astype(np.int64)


def training_rows(cube: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Features (n, 133) float32 and codes (n,) of the labelled western-half pixels."""
    labels = patch_labels()
    west = np.zeros(labels.shape, bool)
    west[:, : labels.shape[1] // 2] = True
    keep = (labels > 0) & west
    return cube.values[:, keep].T, labels[keep]


def all_pixels(cube: xr.DataArray) -> np.ndarray:
    """Features (n_pixels, 133) of every pixel, in raster order."""
    return cube.values.reshape(cube.sizes["feature"], -1).T


def fit_forest(cube: xr.DataArray, **options):
    """A RandomForestClassifier fitted on the training rows (60 trees, seed 0)."""
    from sklearn.ensemble import RandomForestClassifier

    X, y = training_rows(cube)
    settings = {"n_estimators": 60, "random_state": 0, "n_jobs": 1, **options}
    return RandomForestClassifier(**settings).fit(X, y)
