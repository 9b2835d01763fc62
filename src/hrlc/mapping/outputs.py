"""What a land-cover map folder holds: COG layers, quick-look, class distribution.

:func:`map_products` builds, from a map (``predict_map``'s Dataset), the contents of a
map folder and returns them; :func:`hrlc.io.map_files.write_map_files` writes them
(:func:`write_map_outputs` does both):

- ``classes.tif``: uint8 class codes, nodata 0, internal colour table from the class
  table, overviews by ``mode`` resampling;
- ``probabilities.tif``: one band per class (band description = class name), uint8
  percent (nodata 255) or float32 0-1 (nodata NaN), ``average`` overviews;
- ``confidence.tif``: band 1 ``confidence`` (probability of the mapped class), band 2
  ``margin`` (highest minus second-highest probability), same type as the probabilities;
- ``quicklook.png``: the class map with legend and scale bar;
- ``distribution.csv`` and ``distribution.png``: area per class in ha and %;
- ``map.json`` (written by ``hrlc map``): the run record.

Every COG carries the ``tags`` given (the run's config, the bundle checksum...) plus
``class_table`` (JSON: code -> name, colour) so that ``hrlc compare-maps`` can read it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pandas as pd
import xarray as xr

# the file names and the class table reader live with the writer; kept importable here
from hrlc.io.map_files import MAP_FILES, check_outputs, read_class_table, write_map_files
from hrlc.mapping.plots import (class_colours, class_name, classes_figure, distribution_figure,
                                pixel_area_ha)

__all__ = ["MAP_FILES", "MapProducts", "check_outputs", "class_distribution", "code_counts",
           "map_products", "read_class_table", "write_map_outputs"]


def code_counts(data: xr.DataArray | np.ndarray, *, minlength: int = 256) -> np.ndarray:
    """Pixels per integer value 0..minlength-1 of a (y, x) array, chunk by chunk."""
    array = data.data if isinstance(data, xr.DataArray) else data
    if not hasattr(array, "blocks"):
        return np.bincount(np.asarray(array).ravel(), minlength=minlength)
    parts = [dask.delayed(np.bincount)(block.ravel(), minlength=minlength)
             for block in array.blocks.ravel()]
    return np.sum(dask.compute(*parts), axis=0)


def class_distribution(classes: xr.DataArray, *, class_table: Mapping | None = None,
                       counts: np.ndarray | None = None) -> pd.DataFrame:
    """Area of each class of a (y, x) uint8 class map (0 = nodata).

    Parameters
    ----------
    classes : DataArray (y, x), uint8, projected CRS
    class_table : mapping code -> {"name", "colour"}, optional
        Classes listed here appear even with no pixel.
    counts : ndarray (256,), optional
        Pixel counts per code, when already known (:func:`code_counts`).

    Returns
    -------
    DataFrame
        ``code, name, pixels, area_ha, percent`` (percent of the mapped, non-nodata area),
        one row per class, in code order.
    """
    class_table = class_table or {}
    counts = code_counts(classes) if counts is None else counts
    codes = sorted((set(np.flatnonzero(counts).tolist()) | {int(c) for c in class_table}) - {0})
    pixels = np.array([counts[c] for c in codes], dtype=np.int64)
    mapped = max(int(pixels.sum()), 1)
    return pd.DataFrame({"code": codes, "name": [class_name(class_table, c) for c in codes],
                         "pixels": pixels, "area_ha": pixels * pixel_area_ha(classes),
                         "percent": 100.0 * pixels / mapped})


def _percent_or_float(data: xr.DataArray) -> dict:
    if data.dtype == np.uint8:
        return {"nodata": 255, "overview_resampling": "average"}
    return {"nodata": float("nan"), "overview_resampling": "average"}



@dataclass(frozen=True)
class MapProducts:
    """The contents of a map folder, by role (see :data:`MAP_FILES`).

    Attributes
    ----------
    layers : dict role -> (DataArray, dict)
        ``classes``, ``probabilities`` (when the map has them) and ``confidence``: the
        (y, x) or (band, y, x) arrays and their :func:`hrlc.io.write_cog` options
        (nodata, colour map, band descriptions, overview resampling, tags).
    documents : dict role -> str or Figure
        ``quicklook`` and ``distribution_plot`` (matplotlib figures), ``distribution``
        (CSV text of :func:`class_distribution`).
    distribution : DataFrame
        The class distribution table itself.
    """

    layers: dict[str, tuple[xr.DataArray, dict[str, Any]]]
    documents: dict[str, Any]
    distribution: pd.DataFrame = field(repr=False)


def map_products(result: xr.Dataset, *, class_table: Mapping | None = None,
                 tags: Mapping | None = None, title: str | None = None) -> MapProducts:
    """What the files of a map hold, built from ``predict_map``'s Dataset (nothing written).

    The distribution and the quick-look are computed here (a pass over the classes and
    a decimated copy); the layers stay as given (lazy or not), to be computed chunk by
    chunk as they are written. Give a stored map (the Zarr of
    :func:`hrlc.mapping.compute_blocks`, opened with ``hrlc.io.read_zarr``) or a computed
    one: a lazy prediction would be computed again for every file.

    Parameters
    ----------
    result : Dataset
        ``classes`` (y, x) uint8; ``probabilities`` (class, y, x), ``confidence`` and
        ``margin`` (y, x), uint8 percent or float32; CRS attached.
    class_table : mapping code -> {"name", "colour"}, optional
        Names and colours (the bundle's ``class_table``); missing colours get a palette.
    tags : mapping, optional
        Metadata stored in every COG (values as strings; dicts and lists as JSON).
    title : str, optional
        Title of the quick-look.

    Returns
    -------
    MapProducts
    """
    class_table = {int(k): dict(v) for k, v in (class_table or {}).items()}
    codes = [int(c) for c in result.attrs.get("class_codes", sorted(class_table))]
    colours = class_colours(class_table, codes)
    table_tag = {c: {"name": class_name(class_table, c), "colour": "#%02x%02x%02x" % colours[c]}
                 for c in codes}
    all_tags = {k: v if isinstance(v, str) else json.dumps(v, default=str)
                for k, v in (tags or {}).items()}
    all_tags["class_table"] = json.dumps(table_tag)
    layers = {"classes": (result["classes"], {
        "nodata": 0, "tags": all_tags, "colormap": {0: (0, 0, 0), **colours},
        "overview_resampling": "mode", "band_descriptions": ["class"]})}
    if "probabilities" in result:
        proba = result["probabilities"]
        layers["probabilities"] = (proba, {
            "tags": all_tags, **_percent_or_float(proba),
            "band_descriptions": [class_name(class_table, c) for c in proba["class"].values]})
    confidence = xr.concat([result["confidence"], result["margin"]], dim="band").assign_coords(
        band=["confidence", "margin"])
    layers["confidence"] = (confidence, {"tags": all_tags, **_percent_or_float(confidence)})
    table = class_distribution(result["classes"], class_table=table_tag)
    documents = {
        "quicklook": classes_figure(result["classes"], class_table=table_tag, title=title),
        "distribution": table.to_csv(index=False, float_format="%.4f"),
        "distribution_plot": distribution_figure({"map": table}, class_table=table_tag)}
    return MapProducts(layers=layers, documents=documents, distribution=table)


def write_map_outputs(result: xr.Dataset, folder: str | os.PathLike, *,
                      class_table: Mapping | None = None, tags: Mapping | None = None,
                      title: str | None = None, overwrite: bool = False) -> dict[str, Path]:
    """Write a map (``predict_map``'s Dataset) as files: :func:`map_products` written by
    :func:`hrlc.io.map_files.write_map_files`.

    Parameters are those of :func:`map_products`, plus ``folder`` (the output folder,
    created) and ``overwrite`` (replace existing outputs; otherwise
    :class:`OutputExistsError` before anything is computed or written).

    Returns
    -------
    dict role -> Path of the files written (see :data:`MAP_FILES`).
    """
    check_outputs(folder, overwrite=overwrite)
    products = map_products(result, class_table=class_table, tags=tags, title=title)
    return write_map_files(folder, layers=products.layers, documents=products.documents,
                           overwrite=overwrite)
