"""All file access of hrlc: readers of L2A products and writers of rasters and cubes."""

from hrlc.io.bands import L2A_BANDS, NATIVE_RESOLUTION, canonical_band
from hrlc.io.folders import load_source_mapping
from hrlc.io.grid import Grid, open_header
from hrlc.io.l2a import discover_scenes, read_l2a, read_scl
from hrlc.io.scene import BandFile, Scene
from hrlc.io.writers import read_zarr, write_cog, write_zarr

__all__ = [
    "L2A_BANDS",
    "NATIVE_RESOLUTION",
    "BandFile",
    "Grid",
    "Scene",
    "canonical_band",
    "discover_scenes",
    "load_source_mapping",
    "open_header",
    "read_l2a",
    "read_scl",
    "read_zarr",
    "write_cog",
    "write_zarr",
]
