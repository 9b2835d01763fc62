"""The files of a land-cover map folder: COGs, PNG figures, CSV table; all atomic.

:func:`hrlc.mapping.map_products` builds what a map folder holds (the layers with their
COG options, the figures, the class distribution as CSV text); :func:`write_map_files`
writes them, and :func:`read_class_table` reads back the class table that the class COG
carries (its ``class_table`` tag, else its colour table).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import xarray as xr

from hrlc.io.small_files import refuse_existing, write_small_files
from hrlc.io.writers import write_cog

#: File names of a map folder, by role.
MAP_FILES: dict[str, str] = {
    "classes": "classes.tif", "probabilities": "probabilities.tif",
    "confidence": "confidence.tif", "quicklook": "quicklook.png",
    "distribution": "distribution.csv", "distribution_plot": "distribution.png",
    "manifest": "map.json",
}


def map_paths(folder: str | os.PathLike) -> dict[str, Path]:
    """The output files of a map folder, by role (see :data:`MAP_FILES`)."""
    return {role: Path(folder) / name for role, name in MAP_FILES.items()}


def check_outputs(folder: str | os.PathLike, *, overwrite: bool) -> dict[str, Path]:
    """Paths of the map outputs; raise :class:`OutputExistsError` if any exists and
    ``overwrite`` is false."""
    paths = map_paths(folder)
    refuse_existing(paths.values(), overwrite=overwrite)
    return paths


def write_map_files(folder: str | os.PathLike, *,
                    layers: Mapping[str, tuple[xr.DataArray, Mapping[str, Any]]],
                    documents: Mapping[str, Any], overwrite: bool = False) -> dict[str, Path]:
    """Write a map folder: the layers as COGs, then the figures and tables.

    Parameters
    ----------
    folder : path
        Output folder (created).
    layers : mapping role -> (DataArray, options)
        (y, x) or (band, y, x) arrays with a CRS and the keyword options of
        :func:`hrlc.io.write_cog` (nodata, colour map, tags...), e.g. ``classes``.
    documents : mapping role -> str or matplotlib Figure
        Text files (CSV) and PNG figures, e.g. ``quicklook``.
    overwrite : bool
        Replace existing outputs; otherwise :class:`OutputExistsError` before anything
        is written.

    Returns
    -------
    dict role -> Path of the files written, layers first.

    Raises
    ------
    ValueError
        A role is not one of :data:`MAP_FILES`.
    """
    unknown = sorted((set(layers) | set(documents)) - set(MAP_FILES))
    if unknown:
        raise ValueError(f"unknown map file role(s) {unknown}; the roles are "
                         f"{sorted(MAP_FILES)}")
    paths = check_outputs(folder, overwrite=overwrite)
    written = {role: write_cog(data, paths[role], overwrite=overwrite, **options)
               for role, (data, options) in layers.items()}
    written.update(write_small_files(documents, paths, overwrite=overwrite))
    return written


def read_class_table(path: str | os.PathLike) -> dict[int, dict]:
    """The class table (code -> {"name", "colour"}) of a class COG: its ``class_table``
    tag, else its colour table (names are then the codes)."""
    import rasterio

    with rasterio.open(path) as src:
        tag = src.tags().get("class_table")
        if tag:
            return {int(k): v for k, v in json.loads(tag).items()}
        try:
            cmap = src.colormap(1)
        except ValueError:
            return {}
    return {int(k): {"name": str(k), "colour": "#%02x%02x%02x" % tuple(v[:3])}
            for k, v in cmap.items() if k != 0 and tuple(v[:3]) != (0, 0, 0)}
