"""hrlc: high-resolution land-cover maps from Sentinel-2 L2A time series.

The public API is re-exported here; see ``hrlc.io`` for readers and writers.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from hrlc.errors import (
    ConfigError,
    CorruptFileError,
    GridMismatchError,
    HrlcError,
    InputError,
    MissingBandError,
    OutputExistsError,
    ProductLevelError,
)
from hrlc.io import read_l2a, read_scl, write_cog, write_zarr

try:
    __version__ = version("hrlc")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = [
    "ConfigError",
    "CorruptFileError",
    "GridMismatchError",
    "HrlcError",
    "InputError",
    "MissingBandError",
    "OutputExistsError",
    "ProductLevelError",
    "__version__",
    "read_l2a",
    "read_scl",
    "write_cog",
    "write_zarr",
]
