"""Fitted scikit-learn objects as JSON + numpy arrays, without pickle.

An object is stored as its class name (which must be in :data:`TRUSTED`) and its
``__dict__``: arrays and numpy scalars go to the npz archive under ``prefix + name``,
Python scalars, strings, tuples, lists and dicts of those to JSON. Loading never imports
a class by a name read from the file: only the classes of :data:`TRUSTED` can be built,
and object (pickled) arrays are refused both ways.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _trusted() -> dict[str, type]:
    from sklearn.preprocessing import MinMaxScaler, QuantileTransformer, StandardScaler
    from sklearn.svm import SVC

    return {f"{cls.__module__}.{cls.__qualname__}": cls
            for cls in (SVC, StandardScaler, MinMaxScaler, QuantileTransformer)}


#: Class names a bundle may instantiate (filled lazily: scikit-learn imports are heavy).
TRUSTED: tuple[str, ...] = (
    "sklearn.svm._classes.SVC",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._data.MinMaxScaler",
    "sklearn.preprocessing._data.QuantileTransformer",
)


def encode(value: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    """JSON-ready form of ``value``; arrays are put in ``arrays`` under ``key``."""
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype.kind not in "biufcUS":
            raise TypeError(f"{key}: arrays of dtype {array.dtype} cannot be stored without "
                            "pickle")
        arrays[key] = array
        return {"array": key, "scalar": isinstance(value, np.generic)}
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, tuple | list):
        items = [encode(v, f"{key}.{i}", arrays) for i, v in enumerate(value)]
        return {"tuple": items} if isinstance(value, tuple) else {"list": items}
    if isinstance(value, dict):
        return {"dict": [[encode(k, f"{key}.k{i}", arrays), encode(v, f"{key}.v{i}", arrays)]
                         for i, (k, v) in enumerate(value.items())]}
    raise TypeError(f"{key}: values of type {type(value).__name__} cannot be stored")


def decode(value: Any, arrays) -> Any:
    """Inverse of :func:`encode`."""
    if not isinstance(value, dict):
        return value
    if "array" in value:
        array = np.asarray(arrays[value["array"]])
        return array[()] if value.get("scalar") else array
    if "float" in value:
        return float(value["float"])
    if "tuple" in value:
        return tuple(decode(v, arrays) for v in value["tuple"])
    if "list" in value:
        return [decode(v, arrays) for v in value["list"]]
    if "dict" in value:
        return {decode(k, arrays): decode(v, arrays) for k, v in value["dict"]}
    raise ValueError(f"unknown stored value {value!r}")


def dump_object(obj, prefix: str, arrays: dict[str, np.ndarray]) -> dict:
    """``{"class": ..., "state": ...}`` of a fitted trusted object."""
    name = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if name not in TRUSTED:
        raise TypeError(f"{name} is not a trusted type of the model bundle")
    return {"class": name,
            "state": {attr: encode(v, f"{prefix}{attr}", arrays) for attr, v in vars(obj).items()}}


def load_object(spec: dict, arrays):
    """Rebuild an object written by :func:`dump_object` (trusted classes only)."""
    from hrlc.errors import CorruptFileError

    trusted = _trusted()
    cls = trusted.get(spec.get("class"))
    if cls is None:
        raise CorruptFileError(f"model bundle holds an object of type {spec.get('class')!r}, "
                               f"not one of the trusted types {', '.join(TRUSTED)}")
    obj = cls.__new__(cls)
    obj.__dict__.update({attr: decode(v, arrays) for attr, v in spec["state"].items()})
    return obj
