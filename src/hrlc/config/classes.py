"""Class tables (code, name, colour) and mappings of land-cover map codes to classes.

Both are plain values built from YAML by :mod:`hrlc.io.vectors`; the class table itself
never lives in code (DESIGN.md). Code 0 is reserved for "no data" in class rasters. They
sit in the config layer so that io and every stage can use them (the dataset stage
re-exports them as :mod:`hrlc.dataset.classes`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from hrlc.errors import ConfigError

#: Colours given to classes whose table has none (matplotlib "tab10").
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _key(name: str) -> str:
    """Names are compared without case and surrounding blanks: 'Forest ' is 'forest'."""
    return " ".join(str(name).split()).casefold()


@dataclass(frozen=True)
class ClassInfo:
    """One class: ``code`` (1-255 in class rasters), ``name``, ``colour`` (``#rrggbb``)."""

    code: int
    name: str
    colour: str


class ClassTable:
    """An ordered, validated table of classes.

    Parameters
    ----------
    classes : sequence of ClassInfo or mappings with ``code``, ``name``, ``colour``
        ``colour`` is optional (a palette colour is used).
    source : str
        Where the table comes from (a file path), quoted in error messages.

    Raises
    ------
    ConfigError
        A code outside 1-255, a duplicate code, an empty or duplicate name (names are
        compared without case and blanks), or a colour that is not ``#rrggbb``.
    """

    def __init__(self, classes: Sequence[ClassInfo | Mapping], *, source: str = "class table"):
        self.source = source
        items: list[ClassInfo] = []
        for i, item in enumerate(classes):
            if not isinstance(item, ClassInfo):
                unknown = set(item) - {"code", "name", "colour"}
                if unknown or "code" not in item or "name" not in item:
                    raise ConfigError(
                        f"{source}: class #{i + 1} must have 'code' and 'name' (and optionally "
                        f"'colour'), got keys {sorted(item)}")
                item = ClassInfo(item["code"], str(item["name"]).strip(),
                                 item.get("colour") or PALETTE[i % len(PALETTE)])
            items.append(item)
        if not items:
            raise ConfigError(f"{source}: the class table is empty; list at least one class")
        self._check(items)
        self.classes: tuple[ClassInfo, ...] = tuple(items)
        self._by_code = {c.code: c for c in items}
        self._by_name = {_key(c.name): c for c in items}

    def _check(self, items: list[ClassInfo]) -> None:
        seen_codes: dict[int, str] = {}
        seen_names: dict[str, int] = {}
        for c in items:
            integer = isinstance(c.code, Integral) and not isinstance(c.code, bool)
            if not integer or not 1 <= c.code <= 255:
                raise ConfigError(f"{self.source}: class codes are integers 1-255 (0 is no data), "
                                  f"got {c.code!r} for {c.name!r}")
            if not c.name:
                raise ConfigError(f"{self.source}: class {c.code} has an empty name; name it")
            if c.code in seen_codes:
                raise ConfigError(f"{self.source}: duplicate class code {c.code} "
                                  f"({seen_codes[c.code]!r} and {c.name!r}); give each class "
                                  "its own code")
            if _key(c.name) in seen_names:
                raise ConfigError(f"{self.source}: duplicate class name {c.name!r} (codes "
                                  f"{seen_names[_key(c.name)]} and {c.code}); give each class "
                                  "its own name, or merge them into one class")
            if not _HEX.match(str(c.colour)):
                raise ConfigError(f"{self.source}: colour of {c.name!r} must be '#rrggbb', got "
                                  f"{c.colour!r}")
            seen_codes[c.code] = c.name
            seen_names[_key(c.name)] = c.code

    @classmethod
    def from_values(cls, values: Iterable, *, source: str = "labels") -> ClassTable:
        """A table inferred from label values: integers keep their code (``class 3``),
        names get codes 1, 2, ... in sorted order."""
        unique = sorted({v for v in values}, key=str)
        if all(isinstance(v, Integral) for v in unique):
            return cls([{"code": int(v), "name": f"class {v}"} for v in sorted(unique)],
                       source=source)
        return cls([{"code": i + 1, "name": str(v)} for i, v in enumerate(unique)], source=source)

    def __len__(self) -> int:
        return len(self.classes)

    def __iter__(self):
        return iter(self.classes)

    def __repr__(self) -> str:
        return f"ClassTable({', '.join(f'{c.code}={c.name}' for c in self.classes)})"

    @property
    def codes(self) -> list[int]:
        return [c.code for c in self.classes]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    def name_of(self, code: int) -> str:
        """Name of a class code (KeyError if unknown)."""
        return self._by_code[int(code)].name

    def colour_of(self, code: int) -> str:
        return self._by_code[int(code)].colour

    def code_of(self, value: object) -> int | None:
        """Code of a label value: a class name (any case) or a code; None if unknown."""
        if isinstance(value, (Integral, np.integer)) and not isinstance(value, bool):
            return int(value) if int(value) in self._by_code else None
        if isinstance(value, float) and value.is_integer():
            return self.code_of(int(value))
        text = str(value).strip()
        if text.lstrip("-").isdigit():
            return self.code_of(int(text))
        found = self._by_name.get(_key(text))
        return None if found is None else found.code

    def resolve(self, values: Iterable, *, what: str) -> list[int]:
        """Codes of several label values; ConfigError listing every unknown one."""
        values = list(values)
        codes = [self.code_of(v) for v in values]
        unknown = sorted({str(v) for v, c in zip(values, codes) if c is None})
        if unknown:
            raise ConfigError(
                f"{what}: {', '.join(repr(u) for u in unknown)} not in the class table "
                f"{self.source} (classes: {', '.join(self.names)}); add them to the table, "
                "rename them with 'values', or skip them with 'ignore'")
        return codes  # type: ignore[return-value]

    def per_class(self, option: int | Mapping | None, *, what: str) -> dict[int, int | None]:
        """An option given as one number or per class (by name or code) -> {code: value}."""
        if option is None or isinstance(option, Integral):
            return {c: option for c in self.codes}
        codes = self.resolve(list(option), what=what)
        out: dict[int, int | None] = {c: None for c in self.codes}
        out.update({code: option[key] for code, key in zip(codes, option)})
        return out

    def to_records(self) -> list[dict]:
        """``[{"code", "name", "colour"}, ...]`` (the YAML and JSON form)."""
        return [{"code": c.code, "name": c.name, "colour": c.colour} for c in self.classes]


@dataclass(frozen=True)
class LCMapping:
    """Codes of an existing land-cover raster -> classes of the class table.

    Parameters
    ----------
    codes : mapping int -> str or int
        Raster code -> class name or class code.
    ignore : tuple of int
        Raster codes that are no data or not wanted (never sampled).
    source : str
        The mapping file, named in errors (e.g. an unknown raster code).
    """

    codes: Mapping[int, str | int]
    ignore: tuple[int, ...] = (0,)
    source: str = "LC mapping"

    def __post_init__(self):
        clash = sorted(set(self.codes) & set(self.ignore))
        if clash:
            raise ConfigError(f"{self.source}: codes {clash} are both mapped and ignored; "
                              "keep each code in one place")
        if not self.codes:
            raise ConfigError(f"{self.source}: the mapping is empty; map at least one raster "
                              "code to a class")

    def lookup(self, classes: ClassTable) -> tuple[np.ndarray, np.ndarray]:
        """Sorted raster codes and the class code of each (0 for ignored codes).

        Raises
        ------
        ConfigError
            A mapped class is not in the class table (names the mapping file).
        """
        targets = classes.resolve(list(self.codes.values()), what=f"{self.source}: classes")
        pairs = dict(zip((int(k) for k in self.codes), targets))
        pairs.update({int(k): 0 for k in self.ignore})
        keys = np.array(sorted(pairs), dtype=np.int64)
        return keys, np.array([pairs[k] for k in keys], dtype=np.uint8)
