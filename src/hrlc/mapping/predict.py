"""Land-cover map of a feature cube: one lazy dask task per spatial chunk.

Each task takes the full feature vector of its chunk (the ``feature`` axis is one
chunk), keeps the pixels whose features are all finite (and that a mask allows), runs
the bundle's preprocessing and the GEMM SVM kernel (or the random forest's tree kernel)
on them with BLAS threads pinned, and returns all outputs of the chunk at once, packed
in one float32 block; the variables of the returned Dataset are cheap views of that
block. Nothing is computed here.
"""

from __future__ import annotations

import uuid
from typing import Literal

import dask.array as da
import numpy as np
import xarray as xr

from hrlc.errors import ConfigError, GridMismatchError, HrlcError, InputError
from hrlc.mapping.predictor import BundlePredictor, blas_threads

#: Steps of the uint8 percent layers per unit of probability.
_PERCENT = 100
#: Nodata of the uint8 percent layers (0 % is a valid probability).
PERCENT_NODATA = 255
#: Nodata of the class layer.
CLASS_NODATA = 0
#: Pixels preprocessed and predicted at a time inside a task (bounds its memory).
_PIXEL_BATCH = 32768


def _check_codes(classes: np.ndarray) -> None:
    codes = np.asarray(classes)
    if codes.dtype.kind not in "iu" or codes.min() < 1 or codes.max() > 255:
        raise HrlcError(f"class codes must be integers 1-255 to be mapped as uint8 with 0 as "
                        f"nodata; the bundle's classes are {codes.tolist()}; retrain with "
                        "such codes (see the class table)")


def _regular(cube: xr.DataArray, chunks: int | None) -> xr.DataArray:
    """Feature axis in one chunk, regular spatial chunks (zarr- and resume-friendly)."""
    if not isinstance(cube.data, da.Array):
        return cube.chunk({"feature": -1, "y": chunks or 1024, "x": chunks or 1024})
    size = {d: chunks or max(c) for d, c in zip(cube.dims, cube.chunks) if d != "feature"}
    return cube.chunk({"feature": -1, **size})


def _check_mask(mask: xr.DataArray, cube: xr.DataArray) -> xr.DataArray:
    from hrlc.geo import grid_of

    mask = mask.squeeze(drop=True)
    if mask.dims != ("y", "x"):
        raise InputError(f"the mask must be a (y, x) layer; got dims {mask.dims}")
    cube_grid, mask_grid = grid_of(cube, "the feature cube"), grid_of(mask, "the mask")
    if not cube_grid.same_as(mask_grid):
        raise GridMismatchError(
            f"the mask's grid ({mask_grid.describe()}) is not the feature cube's "
            f"({cube_grid.describe()}); put it on the cube's grid first, e.g. "
            "hrlc.geo.reproject_match(mask, cube, resampling='nearest')")
    return mask.chunk(dict(zip(("y", "x"), cube.chunks[1:])))


def _predict_block(block: np.ndarray, mask: np.ndarray | None = None, *,
                   predictor: BundlePredictor, missing: str, percent: bool,
                   threads: int | None) -> np.ndarray:
    """Packed outputs (class, probabilities..., confidence, margin) of one chunk."""
    n_features, height, width = block.shape
    pixels = block.reshape(n_features, -1).T
    finite = np.isfinite(pixels)
    valid = finite.all(axis=1) if missing == "nodata" else finite.any(axis=1)
    if mask is not None:
        valid &= np.asarray(mask).reshape(-1) != 0
    n_classes = len(predictor.classes)
    fill = PERCENT_NODATA if percent else np.nan
    out = np.full((n_classes + 3, pixels.shape[0]), fill, np.float32)
    out[0] = CLASS_NODATA
    resolution = 1 / _PERCENT if percent else None  # stored as rint(p / resolution)
    scale = (lambda p: np.rint(p * _PERCENT)) if percent else (lambda p: p)
    rows = np.flatnonzero(valid)
    with blas_threads(threads):
        # a few float64 copies of the features are made on the way (bundle.transform):
        # in batches they stay small whatever the chunk size
        for start in range(0, len(rows), _PIXEL_BATCH):
            part = rows[start:start + _PIXEL_BATCH]
            result = predictor.predict(pixels[part], resolution=resolution)
            out[0, part] = result.classes
            if result.probabilities is not None:
                out[1:n_classes + 1, part] = scale(result.probabilities.T)
            out[n_classes + 1, part] = scale(result.confidence)
            out[n_classes + 2, part] = scale(result.margin)
    return out.reshape(n_classes + 3, height, width)


def predict_map(
    features: xr.DataArray,
    bundle,
    *,
    probabilities: Literal["uint8", "float32"] = "uint8",
    dtype=np.float32,
    mask: xr.DataArray | None = None,
    missing: Literal["nodata", "impute"] = "nodata",
    chunks: int | None = None,
    blas_threads_per_task: int | None = 1,
    memory_mb: float = 32.0,
    refine: bool = True,
) -> xr.Dataset:
    """Classes, per-class probabilities, confidence and margin of a feature cube, lazily.

    Parameters
    ----------
    features : DataArray (feature, y, x), float32
        Feature cube (``hrlc.features.build_features`` or ``hrlc.io.read_zarr``); it may
        hold more features than the bundle uses (they are selected by name). NaN =
        missing.
    bundle : ModelBundle
        Trained model (``hrlc.model.load_bundle``): SVM(s) or a random forest (labels:
        its most probable class; probabilities: the mean of its trees', as scikit-learn's
        ``predict_proba``); class codes 1-255.
    probabilities : {"uint8", "float32"}
        ``uint8``: probabilities, confidence and margin in percent (0-100, nodata 255);
        ``float32``: 0-1, nodata NaN.
    dtype : numpy dtype
        Precision of the SVM kernel GEMM: float32 (default) or float64 (a forest always
        compares the features in float32, as scikit-learn does).
    mask : DataArray (y, x), optional
        Pixels to map (non-zero), on the cube's grid; the others are nodata.
    missing : {"nodata", "impute"}
        ``nodata``: a pixel with any missing feature is nodata in every output;
        ``impute``: such pixels get the bundle's training medians (bundles trained with
        ``nan_policy: impute``) and only pixels without any feature are nodata.
    chunks : int, optional
        Spatial chunk size (px); default: the cube's chunks (1024 for numpy cubes).
    blas_threads_per_task : int or None
        BLAS threads of each task (1: one per dask worker thread, so that the workers do
        not oversubscribe the cores); None leaves BLAS alone.
    memory_mb : float
        Bound of one kernel batch, MiB (memory per task beyond the chunk's features).
    refine : bool
        SVMs, float32 only: recompute in float64 the few pixels whose float32 decision values
        are too close to a steep calibration step or a label change (see
        :class:`~hrlc.mapping.BundlePredictor`): the labels then equal the float64 ones,
        the probabilities are within 5e-5 of them.

    Returns
    -------
    Dataset (lazy), on the cube's grid and chunks, CRS attached:

    - ``classes`` (y, x) uint8: class code, 0 = nodata;
    - ``probabilities`` (class, y, x) uint8 percent or float32 0-1 (absent for an
      uncalibrated multiclass SVM);
    - ``confidence`` (y, x): probability of the predicted class;
    - ``margin`` (y, x): difference of the two highest probabilities.

    Raises
    ------
    FeatureMismatchError
        The cube lacks features of the bundle (missing and extra ones are listed).
    GridMismatchError
        ``mask`` is on another grid or CRS.
    HrlcError
        Class codes that do not fit uint8 (1-255).
    """
    if probabilities not in ("uint8", "float32"):
        raise ConfigError(f"probabilities must be 'uint8' or 'float32', got {probabilities!r}")
    if missing not in ("nodata", "impute"):
        raise ConfigError(f"missing must be 'nodata' or 'impute', got {missing!r}")
    if missing == "impute" and bundle.impute_values is None:
        raise HrlcError("missing='impute' needs a bundle trained with nan_policy: impute; "
                        "use missing='nodata'")
    if set(features.dims) != {"feature", "y", "x"}:
        raise InputError(f"the feature cube must have dims (feature, y, x); got {features.dims}")
    _check_codes(bundle.classes)
    cube = features.transpose("feature", "y", "x")
    cube = _regular(cube.isel(feature=bundle.check_cube(cube)), chunks)
    predictor = BundlePredictor(bundle, dtype=dtype, memory_mb=memory_mb, refine=refine)
    args = [cube.data]
    if mask is not None:
        args.append(_check_mask(mask, cube).data)
    classes = predictor.classes
    n_out = len(classes) + 3
    percent = probabilities == "uint8"
    packed = da.map_blocks(
        _predict_block, *args, predictor=predictor, missing=missing, percent=percent,
        threads=blas_threads_per_task, dtype=np.float32,
        chunks=((n_out,), *cube.chunks[1:]),
        # a name of this call's own: map stages sharing one scheduler (tiles side by
        # side) must not share keys, nor must two bundles mapping the same cube
        name=f"hrlc-predict-{uuid.uuid4().hex}",
        meta=np.empty((0, 0, 0), np.float32))
    return _dataset(packed, cube, predictor, percent)


def _dataset(packed: da.Array, cube: xr.DataArray, predictor: BundlePredictor,
             percent: bool) -> xr.Dataset:
    classes = predictor.classes
    n = len(classes)
    value_type = np.uint8 if percent else np.float32
    nodata = PERCENT_NODATA if percent else np.nan
    unit = "percent" if percent else "1"
    coords = {"y": cube["y"], "x": cube["x"]}
    layers = {
        "classes": xr.DataArray(packed[0].astype(np.uint8), dims=("y", "x"), coords=coords,
                                attrs={"nodata": CLASS_NODATA,
                                       "description": "land-cover class code"}),
        "confidence": xr.DataArray(packed[n + 1].astype(value_type), dims=("y", "x"),
                                   coords=coords, attrs={"nodata": nodata, "units": unit,
                                                         "description": "probability of "
                                                         "the mapped class"}),
        "margin": xr.DataArray(packed[n + 2].astype(value_type), dims=("y", "x"), coords=coords,
                               attrs={"nodata": nodata, "units": unit, "description":
                                      "highest minus second-highest probability"}),
    }
    if predictor.has_probabilities:
        layers["probabilities"] = xr.DataArray(
            packed[1:n + 1].astype(value_type), dims=("class", "y", "x"),
            coords={"class": classes, **coords},
            attrs={"nodata": nodata, "units": unit, "description": "class probability"})
    names = predictor.bundle.class_names
    ds = xr.Dataset(layers, attrs={"class_codes": [int(c) for c in classes],
                                   "class_names": [names[c] for c in classes.tolist()]})
    if cube.rio.crs is not None:
        ds = ds.rio.write_crs(cube.rio.crs)
    return ds
