"""Loose raster files: folders of per-band files, and multi-band GeoTIFFs.

Neither carries Sentinel-2 product metadata, so the acquisition time and tile come
from the file names (``..._20210527T110621_...``, ``..._T30UVD_...``) and the
radiometric scaling and sun angles from :class:`~hrlc.config.SourceOptions` (read_l2a
options or a YAML mapping file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hrlc.errors import InputError
from hrlc.config.io import SourceOptions
from hrlc.io.bands import canonical_band
from hrlc.io.grid import open_header
from hrlc.io.naming import NamedFile, date_and_tile, name_parser, parse_date
from hrlc.io.scene import BandFile, Scene

RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt")

#: The per-scene sidecar in a folder that holds one scene.
SCENE_SIDECAR = "scene.yaml"


def _acquisition_time(named_date: str | None, name: str, defaults: SourceOptions,
                      where: Path) -> np.datetime64:
    if defaults.datetime:
        return np.datetime64(defaults.datetime.rstrip("Z"), "ns")
    if named_date:
        try:
            return parse_date(named_date)
        except ValueError as exc:
            raise InputError(f"{where}: cannot read the date of {name!r}: {exc}; rename the "
                             "files or give datetime in a sidecar YAML") from None
    raise InputError(
        f"{where}: no acquisition date in the file name {name!r}; put YYYYMMDD in the "
        "name, describe the naming with filename_pattern ('{date}'), or pass datetime "
        "(--datetime 2021-05-27 / 'datetime:' in the mapping file or a sidecar YAML)"
    )


def _scene(source: Path, kind: str, name: str, bands: dict, scl: tuple, nodata,
           defaults: SourceOptions, *, date: str | None = None,
           tile: str | None = None) -> Scene:
    return Scene(
        source=str(source),
        kind=kind,
        product_name=name,
        datetime=_acquisition_time(date, name, defaults, source),
        bands=bands,
        scl=scl,
        tile_id=tile,
        processing_level="Level-2A",
        processing_baseline=None,
        quantification=float(defaults.quantification),
        boa_add_offset={b: float(defaults.boa_add_offset) for b in bands},
        nodata=defaults.nodata if defaults.nodata is not None else nodata,
        sun_zenith=np.nan if defaults.sun_zenith is None else float(defaults.sun_zenith),
        sun_azimuth=np.nan if defaults.sun_azimuth is None else float(defaults.sun_azimuth),
    )


@dataclass(frozen=True)
class FolderScan:
    """The scenes of a band folder and the raster files whose names match no pattern."""

    scenes: list[Scene]
    skipped: list[str]


def scan_band_folder(path: str | Path, defaults: SourceOptions) -> FolderScan:
    """Describe the scenes in a folder of per-band files (one scene per file name
    without its band), and list the rasters whose names the naming does not match.

    Raises
    ------
    InputError
        No band file, two files for one band of one scene at one pixel size, or a
        date that cannot be read.
    """
    path = Path(path)
    parse = name_parser(defaults.filename_pattern)
    groups: dict[str, dict[str, list[BandFile]]] = {}
    named: dict[str, NamedFile] = {}
    nodata_of: dict[str, float | None] = {}
    skipped = []
    for file in sorted(path.iterdir()):
        if file.suffix.lower() not in RASTER_SUFFIXES:
            continue
        name = parse(file.stem)
        if name is None:
            skipped.append(file.name)
            continue
        header = open_header(str(file))
        files = groups.setdefault(name.scene, {}).setdefault(name.band, [])
        twin = next((f for f in files if abs(f.resolution - header.resolution) < 1e-6), None)
        if twin is not None:
            raise InputError(
                f"{path}: two files for band {name.band} of scene {name.scene!r}: "
                f"{Path(twin.path).name} and {file.name}; keep one (or move one to another "
                "folder)")
        files.append(BandFile(str(file), header.resolution))
        named.setdefault(name.scene, name)
        if name.band != "SCL":
            nodata_of.setdefault(name.scene, header.nodata)
    if not groups:
        hint = (f" matching filename_pattern {defaults.filename_pattern!r}"
                if defaults.filename_pattern else
                " (names ending in a band id such as '..._B02.tif' or '..._B8A_20m.jp2'; "
                "for other namings set filename_pattern, e.g. 'sits')")
        raise InputError(f"{path}: no band files found{hint}"
                         + (f"; {len(skipped)} raster(s) skipped" if skipped else ""))
    scenes = []
    for key, files in groups.items():
        ordered = {b: tuple(sorted(f, key=lambda f: f.resolution)) for b, f in files.items()}
        scl = ordered.pop("SCL", ())
        if not ordered:
            raise InputError(f"{path}: scene {key!r} has an SCL but no reflectance band")
        nodata = nodata_of.get(key)
        scene_defaults = _scene_sidecar(path, key, defaults)
        scenes.append(_scene(path, "band-folder", key, ordered, scl,
                             0 if nodata is None else nodata, scene_defaults,
                             date=named[key].date, tile=named[key].tile))
    return FolderScan(scenes, skipped)


def read_band_folder(path: str | Path, defaults: SourceOptions) -> list[Scene]:
    """The scenes of a band folder (:func:`scan_band_folder`)."""
    return scan_band_folder(path, defaults).scenes


def _scene_sidecar(folder: Path, key: str, defaults: SourceOptions) -> SourceOptions:
    """``defaults`` filled from the scene's sidecar YAML: ``<scene>.yaml`` beside its
    files, else ``scene.yaml`` in the folder."""
    for sidecar in (folder / f"{key}.yaml", folder / SCENE_SIDECAR):
        if sidecar.is_file():
            return merge_sidecar(sidecar, defaults)
    return defaults


def read_multiband(path: str | Path, defaults: SourceOptions) -> Scene:
    """Describe a multi-band raster whose bands are named by ``defaults.band_names``
    or, failing that, by the file's band descriptions."""
    path = Path(path)
    defaults = merge_sidecar(path.with_suffix(".yaml"), defaults)
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
    date, tile = date_and_tile(path.stem)
    return _scene(path, "multiband", path.stem, files, (), header.nodata, defaults,
                  date=date, tile=tile)


def merge_sidecar(sidecar: Path, defaults: SourceOptions) -> SourceOptions:
    """Fill ``defaults`` from a YAML mapping file (a sidecar of a raster or a scene).

    Options given explicitly (set, even to their default value) win over the file.
    """
    if not sidecar.exists():
        return defaults
    mapping = load_source_mapping(sidecar)
    return SourceOptions.model_validate({**mapping.model_dump(exclude_unset=True),
                                         **defaults.model_dump(exclude_unset=True)})


def load_source_mapping(path: str | Path) -> SourceOptions:
    """Read a YAML mapping of band names, scale factor and acquisition facts."""
    from hrlc.config import load_config

    return load_config(path, SourceOptions)
