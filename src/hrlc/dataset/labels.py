"""Labelled geometries: class values from a field or from layer names, geometries
repaired and put in the grid's CRS.

A vector file holds either one layer with a class field (``class_field="LULC_ID"``) or
one layer per class (``layers={"cls_forest_smpls": "forest", ...}``; without a mapping
the layer name is the class name). Class values are class names (any case) or codes of
the class table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from hrlc.dataset.classes import ClassTable
from hrlc.errors import ConfigError, InputError

_POLYGONAL = {"Polygon", "MultiPolygon"}
_PUNCTUAL = {"Point", "MultiPoint"}


def to_pyproj(crs) -> CRS:
    """A pyproj CRS from a rasterio/pyproj CRS, EPSG code or WKT."""
    return CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)


def label_values(vectors: gpd.GeoDataFrame, *, class_field: str | None = None,
                 layers: Mapping[str, str | int] | None = None,
                 values: Mapping | None = None) -> pd.Series:
    """The class value of every feature (before ``ignore`` and the class table).

    Parameters
    ----------
    vectors : GeoDataFrame
        Features with a ``layer`` column (from :func:`hrlc.io.vectors.read_vectors`).
    class_field : str, optional
        Field holding class names or codes (one layer with a class field).
    layers : mapping layer -> class, optional
        One layer per class; default (no ``class_field``) the layer name is the class.
    values : mapping, optional
        Renames raw values (``{"schrubland": "shrubland"}``).
    """
    if class_field is not None and layers is not None:
        raise ConfigError("give either 'class_field' (one layer with a class field) or "
                          "'layers' (one layer per class), not both")
    if class_field is not None:
        if class_field not in vectors.columns:
            fields = [c for c in vectors.columns if c not in ("geometry", "layer")]
            raise ConfigError(f"class field {class_field!r} not found; the vectors have "
                              f"fields {fields}")
        raw = vectors[class_field]
    elif layers is not None:
        unknown = sorted(set(vectors["layer"]) - set(layers))
        if unknown:
            raise ConfigError(f"layers {unknown} have no class in 'layers' ({dict(layers)})")
        raw = vectors["layer"].map(dict(layers))
    else:
        raw = vectors["layer"]
    raw = raw.astype(object).where(raw.notna(), None)
    if values:
        lookup = {_text(k): v for k, v in values.items()}
        raw = raw.map(lambda v: lookup.get(_text(v), v))
    return raw


def infer_classes(vectors: gpd.GeoDataFrame, *, class_field: str | None = None,
                  layers: Mapping[str, str | int] | None = None, values: Mapping | None = None,
                  ignore: Sequence = (), source: str = "labels") -> ClassTable:
    """A class table made from the label values, for vectors that come without one.

    Integer values keep their code (named ``class <code>``); names get codes 1, 2, ... in
    sorted order and palette colours. Options as in :func:`polygon_labels`.
    """
    raw = label_values(vectors, class_field=class_field, layers=layers, values=values)
    skip = {_text(v) for v in ignore}
    kept = [int(v) if isinstance(v, float) and v.is_integer() else v
            for v in raw.dropna() if _text(v) not in skip]
    if not kept:
        raise InputError(f"{source}: no class value left to build a class table from")
    return ClassTable.from_values(kept, source=f"classes of {source}")


def _text(value: object) -> str:
    """A label value as text, ``3.0`` as ``3`` (integer fields with gaps read as floats)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _keep_dimension(geom, kind: set[str]):
    """``make_valid`` may return a collection: keep the parts of the original kind."""
    if geom.geom_type in kind:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in kind]
    if not parts:
        return None
    return shapely.union_all(parts)


def polygon_labels(vectors: gpd.GeoDataFrame, *, classes: ClassTable, crs,
                   class_field: str | None = None,
                   layers: Mapping[str, str | int] | None = None,
                   values: Mapping | None = None, ignore: Sequence = (),
                   id_field: str | None = None) -> gpd.GeoDataFrame:
    """Label every polygon or point with a class code, in the grid's CRS.

    Parameters
    ----------
    vectors : GeoDataFrame
        Polygons and/or points, any CRS (reprojected), a ``layer`` column.
    classes : ClassTable
        Class values are matched to its names (any case) or codes.
    crs : CRS-like
        The feature grid's CRS.
    class_field, layers, values
        Where the class comes from, see :func:`label_values`.
    ignore : sequence
        Raw class values to leave out (e.g. ``[0]`` for "no data" polygons).
    id_field : str, optional
        Integer field used as ``polygon_id`` (unique, >= 0); default the feature's
        position in the file (0, 1, ...).

    Returns
    -------
    GeoDataFrame with ``polygon_id`` (int64), ``class`` (int64 code), ``class_name``,
    ``layer`` and ``geometry`` in ``crs``; ``attrs["diagnostics"]`` counts features read,
    ignored, repaired (``make_valid``) and dropped as empty.

    Raises
    ------
    InputError
        No CRS, unsupported geometry types (lines), ids that are not unique integers,
        or nothing left to label.
    ConfigError
        Class values not in the class table (all listed).
    """
    if vectors.crs is None:
        raise InputError("the label vectors have no CRS; set one (GeoDataFrame.set_crs or "
                         "ogr2ogr -a_srs) so they can be put on the feature grid")
    if "layer" not in vectors.columns:
        vectors = vectors.assign(layer="")
    raw = label_values(vectors, class_field=class_field, layers=layers, values=values)
    ids = _polygon_ids(vectors, id_field)
    ignored = raw.isna() | raw.map(_text).isin({_text(v) for v in ignore})
    frame = gpd.GeoDataFrame({"polygon_id": ids, "layer": vectors["layer"].to_numpy(),
                              "raw": raw.to_numpy()}, geometry=vectors.geometry.to_numpy(),
                             crs=vectors.crs)[~ignored.to_numpy()]
    empty = frame.geometry.isna() | frame.geometry.is_empty
    frame = frame[~empty.to_numpy()]
    types = set(frame.geom_type)
    if types - _POLYGONAL - _PUNCTUAL:
        raise InputError(f"unsupported geometry types {sorted(types - _POLYGONAL - _PUNCTUAL)}; "
                         "labels are polygons or points (buffer lines into polygons)")
    invalid = ~frame.geometry.is_valid.to_numpy()
    if invalid.any():
        kinds = frame.geom_type.map(lambda t: _POLYGONAL if t in _POLYGONAL else _PUNCTUAL)
        repaired = [_keep_dimension(shapely.make_valid(g), k) for g, k in
                    zip(frame.geometry[invalid], kinds[invalid])]
        geometry = frame.geometry.to_numpy().copy()
        geometry[invalid] = repaired
        frame = frame.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs=frame.crs))
    lost = frame.geometry.isna().to_numpy()
    frame = frame[~lost]
    if frame.empty:
        raise InputError(f"no labelled geometry left ({len(vectors)} read, {int(ignored.sum())} "
                         f"ignored, {int(empty.sum() + lost.sum())} empty); check the file, "
                         "'ignore' and the class field")
    codes = classes.resolve(frame["raw"], what="label class values")
    target = to_pyproj(crs)
    if not to_pyproj(frame.crs).equals(target):
        frame = frame.to_crs(target)
    out = gpd.GeoDataFrame({
        "polygon_id": frame["polygon_id"].to_numpy(np.int64),
        "class": np.asarray(codes, dtype=np.int64),
        "class_name": [classes.name_of(c) for c in codes],
        "layer": frame["layer"].to_numpy(),
    }, geometry=frame.geometry.to_numpy(), crs=frame.crs)
    out.attrs["diagnostics"] = {
        "features_read": int(len(vectors)), "ignored": int(ignored.sum()),
        "repaired": int(invalid.sum()), "empty_dropped": int(empty.sum() + lost.sum()),
        "reprojected_from": to_pyproj(vectors.crs).to_string()
        if not to_pyproj(vectors.crs).equals(target) else None,
    }
    return out


def _polygon_ids(vectors: gpd.GeoDataFrame, id_field: str | None) -> np.ndarray:
    if id_field is None:
        return np.arange(len(vectors), dtype=np.int64)
    if id_field not in vectors.columns:
        raise ConfigError(f"id field {id_field!r} not found; fields: "
                          f"{[c for c in vectors.columns if c != 'geometry']}")
    ids = pd.to_numeric(vectors[id_field], errors="coerce")
    if ids.isna().any() or (ids < 0).any() or (ids % 1 != 0).any() or ids.duplicated().any():
        raise InputError(f"id field {id_field!r} must hold unique integers >= 0; leave "
                         "'id_field' unset to number the features 0, 1, ...")
    return ids.to_numpy(np.int64)
