"""Reading labels (vector files, land-cover rasters, class tables, code mappings) and
reading/writing sample tables (CSV, Parquet and their JSON sidecar).

The sample table contract (see :mod:`hrlc.dataset`): columns ``x, y, row, col, class,
class_name, polygon_id, source, block, split`` then one float32 column per feature; the
sidecar ``<stem>.json`` holds the class table, CRS, block size, strategy, seed and
feature names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from hrlc.config.classes import ClassTable, LCMapping
from hrlc.errors import ConfigError, CorruptFileError, InputError
from hrlc.io.atomic import atomic_output

#: Leading columns of every sample table, in order, with their dtypes.
SAMPLE_COLUMNS: dict[str, str] = {
    "x": "float64", "y": "float64", "row": "int64", "col": "int64", "class": "int64",
    "class_name": "str", "polygon_id": "int64", "source": "str", "block": "int64",
    "split": "str",
}
FORMATS = ("csv", "parquet")


def _exists(path: str | os.PathLike, what: str) -> str:
    path = str(path)
    if "://" not in path and not path.startswith("/vsi") and not Path(path).exists():
        raise InputError(f"{what} {path} not found; check the path")
    return path


def list_layers(path: str | os.PathLike) -> list[str]:
    """Names of the layers of a vector file (one for Shapefile/GeoJSON)."""
    import pyogrio

    path = _exists(path, "vector file")
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise CorruptFileError(f"{path}: cannot open as a vector file ({exc}); use a "
                               "GeoPackage, Shapefile or GeoJSON") from None


def read_vectors(path: str | os.PathLike, *, layers: Sequence[str] | None = None):
    """Read one or several layers of a vector file into one GeoDataFrame.

    Parameters
    ----------
    path : str or path
        GeoPackage, Shapefile, GeoJSON (anything GDAL/OGR reads).
    layers : list of str, optional
        Layers to read; default all layers of the file.

    Returns
    -------
    GeoDataFrame with the layers' fields, ``geometry`` and a ``layer`` column (layer
    name), in the CRS of the first layer (the others are reprojected to it).

    Raises
    ------
    InputError
        Missing file, unknown layer, a layer without CRS, or an empty layer (named).
    CorruptFileError
        The file cannot be read as vectors.
    """
    import geopandas as gpd

    available = list_layers(path)
    wanted = available if layers is None else list(layers)
    missing = [name for name in wanted if name not in available]
    if missing:
        raise InputError(f"{path}: no layer(s) {missing}; the file has {available}")
    frames = []
    for name in wanted:
        try:
            frame = gpd.read_file(path, layer=name, engine="pyogrio")
        except Exception as exc:
            raise CorruptFileError(f"{path}: cannot read layer {name!r} ({exc})") from None
        if frame.empty:
            raise InputError(f"layer {name!r} of {path} is empty; add features to it or leave "
                             "it out of 'layers'")
        if frame.crs is None:
            raise InputError(f"layer {name!r} of {path} has no CRS; set one (e.g. ogr2ogr "
                             "-a_srs EPSG:...) so it can be put on the feature grid")
        if frames and frame.crs != frames[0].crs:
            frame = frame.to_crs(frames[0].crs)
        frames.append(frame.assign(layer=name))
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=frames[0].crs)


def read_lc_map(path: str | os.PathLike, *, chunks: int = 1024) -> xr.DataArray:
    """Open the first band of a land-cover raster lazily.

    Returns
    -------
    DataArray (y, x), the file's integer codes, its CRS and nodata (``rio.nodata``),
    dask chunks of ``chunks`` px.

    Raises
    ------
    InputError
        Missing file or no CRS. CorruptFileError: not a raster.
    """
    import rioxarray

    from hrlc.io.grid import open_header

    header = open_header(_exists(path, "land-cover raster"))
    if header.crs is None:
        raise InputError(f"{path}: the land-cover raster has no CRS; set one (gdal_edit.py "
                         "-a_srs EPSG:...) so it can be reprojected onto the feature grid")
    if np.dtype(header.dtype).kind not in "iu":
        raise InputError(f"{path}: a land-cover raster holds integer codes, got {header.dtype}")
    lc = rioxarray.open_rasterio(str(path), masked=False, chunks={"x": chunks, "y": chunks})
    return lc.isel(band=0, drop=True)


def _load_yaml(path: str | os.PathLike, what: str, keys: set[str]) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} {path} not found; check the path")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or set(data) - keys:
        raise ConfigError(f"{path}: expected a mapping with keys {sorted(keys)}, got "
                          f"{sorted(data) if isinstance(data, dict) else type(data).__name__}")
    return data


def read_class_table(path: str | os.PathLike) -> ClassTable:
    """Read a class table YAML: ``classes: [{code: 1, name: forest, colour: "#..."}]``.

    Returns :class:`hrlc.config.classes.ClassTable`; ConfigError on a bad file or table.
    """
    data = _load_yaml(path, "class table", {"classes"})
    if not isinstance(data.get("classes"), list):
        raise ConfigError(f"{path}: 'classes' must be a list of {{code, name, colour}}")
    return ClassTable(data["classes"], source=str(path))


def read_lc_mapping(path: str | os.PathLike) -> LCMapping:
    """Read a land-cover code mapping YAML: ``mapping: {1: forest, ...}``, ``ignore: [0]``.

    Returns :class:`hrlc.config.classes.LCMapping` (its ``source`` is the file, named in
    errors).
    """
    data = _load_yaml(path, "land-cover mapping", {"mapping", "ignore"})
    mapping, ignore = data.get("mapping"), data.get("ignore", [0])
    if not isinstance(mapping, dict) or not isinstance(ignore, list):
        raise ConfigError(f"{path}: 'mapping' must map raster codes to class names or codes "
                          "and 'ignore' must be a list of codes")
    bad = [k for k in [*mapping, *ignore] if not str(k).lstrip("-").isdigit()]
    if bad:
        raise ConfigError(f"{path}: raster codes are integers, got {bad}")
    return LCMapping({int(k): v for k, v in mapping.items()}, tuple(int(v) for v in ignore),
                     source=str(path))


def _stem(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_suffix("") if path.suffix in (".csv", ".parquet", ".json") else path


def sample_paths(path: str | os.PathLike) -> dict[str, Path]:
    """The files of a sample table: ``{"csv", "parquet", "json"}`` -> ``<stem>.<ext>``."""
    stem = _stem(path)
    return {ext: stem.with_name(f"{stem.name}.{ext}") for ext in (*FORMATS, "json")}


def _check_table(table: pd.DataFrame, metadata: Mapping) -> list[str]:
    missing = [c for c in SAMPLE_COLUMNS if c not in table.columns]
    features = list(metadata.get("features", []))
    missing += [f for f in features if f not in table.columns]
    if missing:
        raise InputError(f"sample table lacks columns {missing}; build it with "
                         "hrlc.dataset.build_dataset")
    return features


def write_samples(table: pd.DataFrame, metadata: Mapping, path: str | os.PathLike, *,
                  formats: Sequence[str] = FORMATS, overwrite: bool = False) -> list[Path]:
    """Write a sample table as CSV and/or Parquet, plus the JSON sidecar, atomically.

    Parameters
    ----------
    table : DataFrame
        The sample table (contract columns, then float32 feature columns).
    metadata : mapping
        JSON-serialisable; must hold ``features`` (the feature column names in order).
    path : str or path
        ``<stem>``, ``<stem>.csv`` or ``<stem>.parquet``: writes ``<stem>.<format>`` and
        ``<stem>.json``.
    formats : list of {"csv", "parquet"}
    overwrite : bool
        Replace existing files (else OutputExistsError).

    Returns
    -------
    list of Path written (sidecar last).
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ConfigError(f"sample formats are {FORMATS}, got {list(formats)}")
    features = _check_table(table, metadata)
    table = table[[*SAMPLE_COLUMNS, *features]]
    paths = sample_paths(path)
    written = []
    for fmt in formats:
        with atomic_output(paths[fmt], overwrite=overwrite) as tmp:
            if fmt == "csv":
                table.to_csv(tmp, index=False)
            else:
                table.to_parquet(tmp, index=False)
        written.append(paths[fmt])
    side = {**metadata, "columns": [*SAMPLE_COLUMNS, *features],
            "files": [p.name for p in written]}
    with atomic_output(paths["json"], overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(side, indent=2, default=_jsonable) + "\n")
    return [*written, paths["json"]]


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def read_samples(path: str | os.PathLike) -> tuple[pd.DataFrame, dict]:
    """Read a sample table written by :func:`write_samples` and its sidecar.

    Parameters
    ----------
    path : str or path
        ``<stem>.csv`` or ``<stem>.parquet`` (or ``<stem>``: Parquet if present, else CSV).

    Returns
    -------
    (DataFrame, dict)
        The table with the contract dtypes (features float32) and the sidecar metadata.

    Raises
    ------
    InputError
        The table or its ``<stem>.json`` sidecar is missing, or columns are missing.
    """
    paths = sample_paths(path)
    suffix = Path(path).suffix.lstrip(".")
    fmt = suffix if suffix in FORMATS else next(
        (f for f in ("parquet", "csv") if paths[f].exists()), "parquet")
    source = paths[fmt]
    if not source.exists():
        raise InputError(f"sample table {source} not found; run hrlc dataset first")
    if not paths["json"].exists():
        raise InputError(f"{source}: its sidecar {paths['json'].name} is missing; it holds the "
                         "class table and feature names, write tables with write_samples")
    try:
        metadata = json.loads(paths["json"].read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(f"{paths['json']}: not a JSON sidecar ({exc}); the file is "
                               "corrupt or truncated, write the table again with hrlc "
                               "dataset") from None
    features = list(metadata.get("features", []))
    dtypes = {**SAMPLE_COLUMNS, **{f: "float32" for f in features}}
    try:
        if fmt == "csv":
            table = pd.read_csv(source, dtype=dtypes, keep_default_na=False,
                                na_values={f: ["", "NaN", "nan"] for f in features})
        else:
            table = pd.read_parquet(source)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        first = str(exc).split(". ")[0]
        raise CorruptFileError(f"{source}: cannot read the sample table ({first}); the file "
                               "is corrupt or truncated, write it again with hrlc dataset"
                               ) from None
    _check_table(table, metadata)
    return table.astype(dtypes), metadata
