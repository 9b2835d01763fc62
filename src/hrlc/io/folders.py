"""Loose raster files: folders of per-band files, and multi-band GeoTIFFs.

Neither carries Sentinel-2 product metadata, so the acquisition time and tile come
from the file names (``..._20210527T110621_...``, ``..._T30UVD_...``) and the
radiometric scaling and sun angles from :class:`SourceDefaults` (read_l2a options or
a YAML mapping file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hrlc.errors import InputError
from hrlc.io.bands import BAND_FILE_PATTERN, canonical_band
from hrlc.io.grid import open_header
from hrlc.io.scene import BandFile, Scene

RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt")
_DATE = re.compile(r"(?<!\d)(\d{8})(?:T(\d{6}))?(?!\d)")
_TILE = re.compile(r"(?:^|_)T(\d{2}[A-Z]{3})(?:_|$)")


@dataclass(frozen=True)
class SourceDefaults:
    """Values for sources that carry no Sentinel-2 metadata.

    An explicit ``datetime`` wins over a date found in the file names.

    ``quantification`` and ``boa_add_offset`` (DN) give reflectance
    ``(DN + boa_add_offset) / quantification``; ``nodata`` overrides the files' own
    nodata value; ``datetime`` (ISO 8601) and sun angles (degrees) fill what the file
    names cannot tell; ``band_names`` name the bands of a multi-band file in order.
    """

    quantification: float = 10000.0
    boa_add_offset: float = 0.0
    nodata: float | None = None
    datetime: str | None = None
    sun_zenith: float | None = None
    sun_azimuth: float | None = None
    band_names: tuple[str, ...] | None = None


def _acquisition_time(name: str, defaults: SourceDefaults, where: Path) -> np.datetime64:
    if defaults.datetime:
        return np.datetime64(defaults.datetime.rstrip("Z"), "ns")
    match = _DATE.search(name)
    if match:
        day, clock = match.group(1), match.group(2) or "000000"
        text = f"{day[:4]}-{day[4:6]}-{day[6:]}T{clock[:2]}:{clock[2:4]}:{clock[4:]}"
        return np.datetime64(text, "ns")
    raise InputError(
        f"{where}: no acquisition date in the file name {name!r}; put YYYYMMDD in the "
        "name or pass datetime (--datetime 2021-05-27 / 'datetime:' in the mapping file)"
    )


def _scene(source: Path, kind: str, name: str, bands: dict, scl: tuple, nodata,
           defaults: SourceDefaults) -> Scene:
    tile = _TILE.search(name)
    return Scene(
        source=str(source),
        kind=kind,
        product_name=name,
        datetime=_acquisition_time(name, defaults, source),
        bands=bands,
        scl=scl,
        tile_id=tile.group(1) if tile else None,
        processing_level="Level-2A",
        processing_baseline=None,
        quantification=float(defaults.quantification),
        boa_add_offset={b: float(defaults.boa_add_offset) for b in bands},
        nodata=defaults.nodata if defaults.nodata is not None else nodata,
        sun_zenith=np.nan if defaults.sun_zenith is None else float(defaults.sun_zenith),
        sun_azimuth=np.nan if defaults.sun_azimuth is None else float(defaults.sun_azimuth),
    )


def read_band_folder(path: str | Path, defaults: SourceDefaults) -> list[Scene]:
    """Describe the scenes in a folder of per-band files (one scene per file-name prefix)."""
    path = Path(path)
    groups: dict[str, dict[str, list[BandFile]]] = {}
    nodata_of: dict[str, float | None] = {}
    for file in sorted(path.iterdir()):
        if file.suffix.lower() not in RASTER_SUFFIXES:
            continue
        match = BAND_FILE_PATTERN.match(file.stem)
        if not match:
            continue
        prefix = match.group("prefix").rstrip("_-.") or file.stem
        header = open_header(str(file))
        band = canonical_band(match.group("band"))
        groups.setdefault(prefix, {}).setdefault(band, []).append(
            BandFile(str(file), header.resolution)
        )
        if band != "SCL":
            nodata_of.setdefault(prefix, header.nodata)
    if not groups:
        raise InputError(
            f"{path}: no band files found; expected names ending in a band id such as "
            "'..._B02.tif' or '..._B8A_20m.jp2', or a SAFE product"
        )
    scenes = []
    for prefix, files in groups.items():
        ordered = {b: tuple(sorted(f, key=lambda f: f.resolution)) for b, f in files.items()}
        scl = ordered.pop("SCL", ())
        nodata = nodata_of.get(prefix)
        scenes.append(_scene(path, "band-folder", prefix, ordered, scl,
                             0 if nodata is None else nodata, defaults))
    return scenes


def read_multiband(path: str | Path, defaults: SourceDefaults) -> Scene:
    """Describe a multi-band raster whose bands are named by ``defaults.band_names``
    or, failing that, by the file's band descriptions."""
    path = Path(path)
    defaults = merge_sidecar(path, defaults)
    header = open_header(str(path))
    count, descriptions = header.count, header.descriptions
    names = defaults.band_names or descriptions
    try:
        bands = [canonical_band(n) for n in names]
    except ValueError:
        bands = []
    if len(bands) != count:
        raise InputError(
            f"{path}: {count} bands whose names are unknown (descriptions {list(descriptions)}); "
            f"name them in order with band_names, e.g. in {path.with_suffix('.yaml').name}: "
            "'band_names: [B02, B03, B04, B08]'"
        )
    files = {b: (BandFile(str(path), header.resolution, index=i + 1),) for i, b in enumerate(bands)}
    return _scene(path, "multiband", path.stem, files, (), header.nodata, defaults)


def merge_sidecar(path: Path, defaults: SourceDefaults) -> SourceDefaults:
    """Fill ``defaults`` from a YAML mapping file beside the raster (same stem, .yaml).

    Options given explicitly (not at their default value) win over the file.
    """
    sidecar = path.with_suffix(".yaml")
    if not sidecar.exists():
        return defaults
    mapping = load_source_mapping(sidecar)
    base = SourceDefaults()
    merged = {k: getattr(defaults, k) if getattr(defaults, k) != getattr(base, k) else v
              for k, v in mapping.__dict__.items()}
    return SourceDefaults(**merged)


def load_source_mapping(path: str | Path) -> SourceDefaults:
    """Read a YAML mapping of band names, scale factor and acquisition facts."""
    from hrlc.config import SourceOptions, load_config

    options = load_config(path, SourceOptions)
    return options.to_defaults()
