"""All file access of hrlc: readers of L2A products and writers of rasters and cubes.

The names below are imported on first use, so that modules needing one light part of
``hrlc.io`` (band names for a config, a lock file) do not import dask, xarray and
rasterio: ``hrlc --help``, ``hrlc info`` and the process of ``hrlc run`` start fast.
"""

from __future__ import annotations

import importlib

#: Public name -> the module of hrlc.io that defines it.
_EXPORTS = {
    "L2A_BANDS": "bands",
    "NATIVE_RESOLUTION": "bands",
    "canonical_band": "bands",
    "load_source_mapping": "folders",
    "Grid": "grid",
    "open_header": "grid",
    "discover_scenes": "l2a",
    "read_l2a": "l2a",
    "read_scl": "l2a",
    "BandFile": "scene",
    "Scene": "scene",
    "read_zarr": "writers",
    "write_cog": "writers",
    "write_zarr": "writers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"hrlc.io.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hrlc.io' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
