"""The files of a land-cover map: COGs, quick-look, class distribution; all atomic.

:func:`write_map_outputs` writes, into one folder:

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
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import xarray as xr

from hrlc.errors import OutputExistsError
from hrlc.mapping.plots import (class_colours, class_name, pixel_area_ha, plot_classes,
                                plot_distribution)

#: File names of a map folder, by role.
MAP_FILES: dict[str, str] = {
    "classes": "classes.tif", "probabilities": "probabilities.tif",
    "confidence": "confidence.tif", "quicklook": "quicklook.png",
    "distribution": "distribution.csv", "distribution_plot": "distribution.png",
    "manifest": "map.json",
}


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


def map_paths(folder: str | os.PathLike) -> dict[str, Path]:
    """The output files of a map folder, by role (see :data:`MAP_FILES`)."""
    return {role: Path(folder) / name for role, name in MAP_FILES.items()}


def check_outputs(folder: str | os.PathLike, *, overwrite: bool) -> dict[str, Path]:
    """Paths of the map outputs; raise if any exists and ``overwrite`` is false."""
    paths = map_paths(folder)
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"{', '.join(existing)} already exist(s); pass --overwrite "
                                "(overwrite=True) to replace them, or choose another output")
    return paths


def _percent_or_float(data: xr.DataArray) -> dict:
    if data.dtype == np.uint8:
        return {"nodata": 255, "overview_resampling": "average"}
    return {"nodata": float("nan"), "overview_resampling": "average"}


def write_map_outputs(result: xr.Dataset, folder: str | os.PathLike, *,
                      class_table: Mapping | None = None, tags: Mapping | None = None,
                      title: str | None = None, overwrite: bool = False) -> dict[str, Path]:
    """Write a map (``predict_map``'s Dataset) as files.

    Each file is computed from ``result`` on its own, so give a stored map (the Zarr of
    :func:`hrlc.mapping.compute_blocks`, opened with ``hrlc.io.read_zarr``) or a computed
    one: a lazy prediction would be computed again for every file.

    Parameters
    ----------
    result : Dataset
        ``classes`` (y, x) uint8; ``probabilities`` (class, y, x), ``confidence`` and
        ``margin`` (y, x), uint8 percent or float32; CRS attached.
    folder : path
        Output folder (created).
    class_table : mapping code -> {"name", "colour"}, optional
        Names and colours (the bundle's ``class_table``); missing colours get a palette.
    tags : mapping, optional
        Metadata stored in every COG (values as strings; dicts and lists as JSON).
    title : str, optional
        Title of the quick-look.
    overwrite : bool
        Replace existing outputs; otherwise :class:`OutputExistsError` before anything
        is written.

    Returns
    -------
    dict role -> Path of the files written (see :data:`MAP_FILES`).
    """
    from hrlc.io import write_cog

    paths = check_outputs(folder, overwrite=overwrite)
    class_table = {int(k): dict(v) for k, v in (class_table or {}).items()}
    codes = [int(c) for c in result.attrs.get("class_codes", sorted(class_table))]
    table_tag = {c: {"name": class_name(class_table, c),
                     "colour": "#%02x%02x%02x" % class_colours(class_table, codes)[c]}
                 for c in codes}
    all_tags = {k: v if isinstance(v, str) else json.dumps(v, default=str)
                for k, v in (tags or {}).items()}
    all_tags["class_table"] = json.dumps(table_tag)
    written = {}
    written["classes"] = write_cog(
        result["classes"], paths["classes"], nodata=0, tags=all_tags,
        colormap={0: (0, 0, 0), **class_colours(class_table, codes)},
        overview_resampling="mode", band_descriptions=["class"], overwrite=overwrite)
    if "probabilities" in result:
        proba = result["probabilities"]
        written["probabilities"] = write_cog(
            proba, paths["probabilities"], tags=all_tags, overwrite=overwrite,
            band_descriptions=[class_name(class_table, c) for c in proba["class"].values],
            **_percent_or_float(proba))
    layers = xr.concat([result["confidence"], result["margin"]], dim="band").assign_coords(
        band=["confidence", "margin"])
    written["confidence"] = write_cog(layers, paths["confidence"], tags=all_tags,
                                      overwrite=overwrite, **_percent_or_float(layers))
    written["quicklook"] = plot_classes(result["classes"], paths["quicklook"],
                                        class_table=table_tag, title=title, overwrite=overwrite)
    table = class_distribution(result["classes"], class_table=table_tag)
    written["distribution"] = _write_csv(table, paths["distribution"], overwrite=overwrite)
    written["distribution_plot"] = plot_distribution(
        {"map": table}, paths["distribution_plot"], class_table=table_tag, overwrite=overwrite)
    return written


def _write_csv(table: pd.DataFrame, path: Path, *, overwrite: bool) -> Path:
    from hrlc.io.atomic import atomic_output

    with atomic_output(path, overwrite=overwrite) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    return path


def read_class_table(path: str | os.PathLike) -> dict[int, dict]:
    """The class table of a class COG: its ``class_table`` tag, else its colour table."""
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
