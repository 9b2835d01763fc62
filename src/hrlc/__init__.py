"""hrlc: high-resolution land-cover maps from Sentinel-2 L2A time series.

The public API is re-exported here; see ``hrlc.io`` for readers and writers.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from hrlc.errors import (
    ConfigError,
    CorruptFileError,
    FeatureMismatchError,
    GridMismatchError,
    HrlcError,
    InputError,
    MissingBandError,
    OutputExistsError,
    ProductLevelError,
    TrainingDataError,
)

#: Stage functions, imported on first use so that ``import hrlc`` (and the CLI) stays fast.
_LAZY = {
    "read_l2a": "hrlc.io",
    "read_scl": "hrlc.io",
    "write_cog": "hrlc.io",
    "write_zarr": "hrlc.io",
    "simulate_series": "hrlc.simulate",
    "refine_masks": "hrlc.masks",
    "scl_to_mask": "hrlc.masks",
    "monthly_composite": "hrlc.composite",
    "fill_gaps": "hrlc.restore",
    "correct_topography": "hrlc.restore",
    "build_features": "hrlc.features",
    "build_dataset": "hrlc.dataset",
    "train_model": "hrlc.model",
    "load_bundle": "hrlc.model",
    "predict_map": "hrlc.mapping",
    "compare_maps": "hrlc.mapping",
    "run_chain": "hrlc.pipeline",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hrlc' has no attribute {name!r}")


try:
    __version__ = version("hrlc")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = [
    *_LAZY,
    "ConfigError",
    "CorruptFileError",
    "FeatureMismatchError",
    "GridMismatchError",
    "HrlcError",
    "InputError",
    "MissingBandError",
    "OutputExistsError",
    "ProductLevelError",
    "TrainingDataError",
    "__version__",
    "read_l2a",
    "read_scl",
    "write_cog",
    "write_zarr",
]
