"""Lazy readers of Sentinel-2 L2A time series: ``read_l2a`` and ``read_scl``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from dask.base import tokenize

from hrlc.errors import GridMismatchError, InputError, MissingBandError
from hrlc.io.bands import canonical_band, sort_bands
from hrlc.config.io import SourceOptions
from hrlc.io.folders import RASTER_SUFFIXES, read_band_folder, read_multiband
from hrlc.io.aoi import aoi_window, parse_aoi
from hrlc.io.grid import (Grid, ResampledBand, check_on_grid, grid_at, open_header,
                           pixel_ratio)
from hrlc.io.safe import is_safe, read_safe_metadata
from hrlc.io.scene import BandFile, Scene
from hrlc.io.tiles import tile_shape, tiled_band, worth_tiling

PathLike = str | os.PathLike
Sources = PathLike | Iterable[PathLike]


def _defaults(options: Mapping | SourceOptions | None) -> SourceOptions:
    """The read options, validated (a mapping is checked against :class:`SourceOptions`)."""
    if options is None:
        return SourceOptions()
    if isinstance(options, SourceOptions):
        return options
    from hrlc.config import validate_config

    return validate_config(dict(options), SourceOptions, source="options")


def _expand(source: Path) -> list[Path]:
    """A source path, or the SAFE products in a folder of products."""
    if not source.exists():
        raise InputError(f"{source}: no such file or folder; check the path")
    if source.is_dir() and not is_safe(source):
        products = sorted(
            p for p in source.iterdir()
            if (p.is_dir() and p.suffix.upper() == ".SAFE") or p.suffix.lower() == ".zip"
        )
        if products:
            return products
    return [source]


def _is_item_folder(source: Path) -> bool:
    """A folder of STAC Item files (JSON, and no raster)."""
    if not source.is_dir():
        return False
    suffixes = {p.suffix.lower() for p in source.iterdir()}
    return ".json" in suffixes and not suffixes & set(RASTER_SUFFIXES)


def discover_scenes(sources: Sources, options: Mapping | object | None = None) -> list[Scene]:
    """Describe every acquisition in ``sources``, sorted by time, without reading pixels.

    ``sources`` is one path or a list of paths, each a SAFE folder or .zip, a folder of
    SAFE products, a folder of per-band files, a multi-band GeoTIFF, or STAC Items of
    any catalog (an ItemCollection or list of Items in a JSON file, or a folder of Item
    files) whose band assets GDAL can open, locally or remotely.
    """
    defaults = _defaults(options)
    paths = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    if not paths:
        raise InputError("no sources given; pass at least one SAFE product, folder or file")
    scenes: list[Scene] = []
    for source in (p for s in paths for p in _expand(Path(s))):
        if is_safe(source):
            scenes.append(read_safe_metadata(source))
        elif source.suffix.lower() in (".json", ".geojson") or _is_item_folder(source):
            from hrlc.io.stac import read_stac_scenes

            scenes.extend(read_stac_scenes(source, defaults))
        elif source.is_dir():
            scenes.extend(read_band_folder(source, defaults))
        elif source.suffix.lower() in RASTER_SUFFIXES:
            scenes.append(read_multiband(source, defaults))
        else:
            raise InputError(
                f"{source}: not a SAFE product (.SAFE folder or .zip), a band folder, a "
                "GeoTIFF/JP2 raster or a STAC ItemCollection (.json)"
            )
    scenes.sort(key=lambda s: s.datetime)
    for a, b in zip(scenes, scenes[1:]):
        if a.datetime == b.datetime and a.tile_id == b.tile_id:
            raise InputError(
                f"{a.source} and {b.source} are the same acquisition ({a.datetime}); "
                "keep one of them (e.g. the newer processing)"
            )
    return scenes


def _pick(files: Sequence[BandFile], resolution: float) -> BandFile:
    """The file at the requested resolution if there is one, else the finest."""
    exact = [f for f in files if abs(f.resolution - resolution) < 1e-6]
    return exact[0] if exact else files[0]


def _resolve_bands(scenes: list[Scene], bands: Sequence[str] | None) -> list[str]:
    if bands is None:
        common = set(scenes[0].bands).intersection(*(s.bands for s in scenes[1:]))
        if not common:
            raise MissingBandError("the sources share no reflectance band; check the inputs")
        return sort_bands(list(common))
    try:
        wanted = [canonical_band(b) for b in bands]
    except ValueError as exc:
        raise MissingBandError(str(exc)) from None
    for scene in scenes:
        missing = [b for b in wanted if b not in scene.bands]
        if missing:
            raise MissingBandError(
                f"{scene.source}: band(s) {', '.join(missing)} missing; it has "
                f"{', '.join(scene.band_names) or 'no bands'}; drop them from 'bands' or "
                "supply a complete product"
            )
    return wanted


def scene_grid(scene: Scene, resolution: float) -> Grid:
    """The grid of ``scene`` at ``resolution``: the extent of its finest layer.

    The finest layer (the 10 m bands of a product) sets the extent; coarser layers whose
    extent differs by less than one of their pixels are cropped or padded to it.
    """
    files = [f for layer in (*scene.bands.values(), scene.scl) for f in layer]
    return grid_at(open_header(min(files, key=lambda f: f.resolution).path), resolution)


def _target(scenes: list[Scene], resolution: float, defaults: SourceOptions
            ) -> tuple[Grid, Grid, tuple[int, int]]:
    """(grid of the scenes, grid of the output, its origin in the scenes' grid).

    The output grid is the scenes' grid, or its window over the area of interest.
    """
    grid = None
    for scene in scenes:
        grid = _check_grid(scene_grid(scene, resolution), grid, scene.source, scenes[0].source)
    aoi = parse_aoi(defaults.aoi)
    if aoi is None:
        return grid, grid, (0, 0)
    row0, col0, rows, cols = aoi_window(aoi, grid)
    return grid, grid.window(row0, col0, rows, cols), (row0, col0)


def describe_window(scenes: list[Scene], defaults: SourceOptions, *,
                    resolution: float = 10) -> str:
    """One line on what the area of interest selects of the scenes' grid."""
    grid, out, (row0, col0) = _target(scenes, resolution, defaults)
    share = out.shape[0] * out.shape[1] / (grid.shape[0] * grid.shape[1])
    return (f"area of interest {parse_aoi(defaults.aoi).describe()}: rows {row0}-{row0 + out.shape[0]}, "
            f"cols {col0}-{col0 + out.shape[1]} of {grid.shape[0]} x {grid.shape[1]} px at "
            f"{resolution:g} m ({share:.1%} of the product is read)")


def _layer(file: BandFile, target: tuple[Grid, Grid, tuple[int, int]], *, kind: str,
           scene: Scene, band: str, chunks: int) -> da.Array:
    """A lazy dask array of one band on the output grid of ``target`` (:func:`_target`)."""
    grid, out, origin = target
    header = open_header(file.path)
    check_on_grid(header, grid, reference=f"{scene.source} ({grid.describe()})")
    ratio = pixel_ratio(header, grid.resolution)
    reader = ResampledBand(
        file.path, file.index, header.shape, ratio, out.shape, kind=kind,
        offset=scene.offset(band), quantification=scene.quantification, nodata=scene.nodata,
        origin=origin,
    )
    stat = os.stat(file.path) if os.path.exists(file.path) else None
    name = f"read-{band}-" + tokenize(file, stat and (stat.st_mtime_ns, stat.st_size),
                                      ratio, out.shape, origin, kind, reader.offset,
                                      reader.quantification, reader.nodata, chunks)
    tile = tile_shape(file.path, file.index)
    if worth_tiling(reader, tile, chunks, header.dtype):
        return tiled_band(reader, tile, chunks, name, dtype=header.dtype)
    return da.from_array(reader, chunks=(chunks, chunks), name=name, lock=False,
                         asarray=False, meta=np.empty((0, 0), reader.dtype))


def _check_grid(grid: Grid, reference: Grid | None, where: str, first: str) -> Grid:
    if reference is not None and not grid.same_as(reference):
        raise GridMismatchError(
            f"{where} is on another grid ({grid.describe()}) than {first} "
            f"({reference.describe()}); stack only scenes of one tile, or reproject first"
        )
    return reference or grid


def _time_coords(scenes: list[Scene]) -> dict[str, tuple[str, np.ndarray]]:
    return {
        "product_name": ("time", np.array([s.product_name for s in scenes], dtype=object)),
        "tile_id": ("time", np.array([s.tile_id or "" for s in scenes], dtype=object)),
        "processing_baseline": ("time", np.array([s.processing_baseline or "" for s in scenes],
                                                 dtype=object)),
        "sun_zenith": ("time", np.array([s.sun_zenith for s in scenes], dtype=np.float64)),
        "sun_azimuth": ("time", np.array([s.sun_azimuth for s in scenes], dtype=np.float64)),
    }


def _assemble(stack: da.Array, name: str, dims: tuple[str, ...], grid: Grid,
              scenes: list[Scene], extra_coords: dict, attrs: dict) -> xr.DataArray:
    coords = {"time": np.array([s.datetime for s in scenes], dtype="datetime64[ns]"),
              "y": grid.y_coords(), "x": grid.x_coords(), **_time_coords(scenes),
              **extra_coords}
    out = xr.DataArray(stack, dims=dims, coords=coords, attrs=attrs, name=name)
    if grid.crs is not None:
        out = out.rio.write_crs(grid.crs)
    return out.rio.write_transform(grid.transform)


def read_l2a(sources: Sources, bands: Sequence[str] | None = None, *, resolution: float = 10,
             chunks: int = 1024, options: Mapping | object | None = None) -> xr.DataArray:
    """Read an L2A time series as a lazy surface-reflectance cube.

    Parameters
    ----------
    sources : path or list of paths
        SAFE products (folders or .zip, read through GDAL's /vsizip/ without unpacking),
        folders of SAFE products, folders of per-band files (``..._B02.tif``), or a
        multi-band GeoTIFF whose bands are named by ``options.band_names``, its band
        descriptions, or a YAML file of the same stem beside it.
    bands : list of str, optional
        Band ids (``"B02"``, ``"B8A"``); default: every band all sources share.
    resolution : {10, 20, 60}
        Output pixel size in metres. Coarser bands are up-sampled by pixel replication
        (see :class:`hrlc.io.grid.ResampledBand`), finer ones averaged.
    chunks : int
        Spatial chunk size in pixels (each scene and band is its own chunk on
        ``time``/``band``; rechunk ``time`` to -1 for temporal statistics). Tiled files
        (JPEG 2000, tiled GeoTIFF) are decoded one internal tile at a time, each tile
        once whatever the chunks (:mod:`hrlc.io.tiles`).
    options : SourceOptions or mapping, optional
        Scaling, date and sun angles for sources without Sentinel-2 metadata.

    Returns
    -------
    DataArray (time, band, y, x), float32
        Surface reflectance ``(DN + BOA_ADD_OFFSET) / QUANTIFICATION_VALUE`` (0-1), NaN
        where no data; CRS and transform attached (``.rio``); per-time coordinates
        ``product_name, tile_id, processing_baseline, sun_zenith, sun_azimuth`` (degrees)
        and per-(time, band) ``boa_add_offset`` (DN).
    """
    defaults = _defaults(options)
    scenes = discover_scenes(sources, defaults)
    band_list = _resolve_bands(scenes, bands)
    target = _target(scenes, resolution, defaults)
    per_scene = [
        da.stack([_layer(_pick(scene.bands[band], resolution), target, kind="reflectance",
                         scene=scene, band=band, chunks=chunks) for band in band_list], axis=0)
        for scene in scenes
    ]
    offsets = np.array([[s.offset(b) for b in band_list] for s in scenes], dtype=np.float64)
    return _assemble(
        da.stack(per_scene, axis=0), "reflectance", ("time", "band", "y", "x"), target[1],
        scenes,
        {"band": np.array(band_list, dtype=object),
         "boa_add_offset": (("time", "band"), offsets)},
        {"long_name": "surface reflectance", "units": "1"},
    )


def read_scl(sources: Sources, *, resolution: float = 10, chunks: int = 1024,
             options: Mapping | object | None = None) -> xr.DataArray:
    """Read the Sen2Cor scene classification (SCL) of each scene, lazily.

    Returns
    -------
    DataArray (time, y, x), uint8
        Sen2Cor codes 0-11 (0 = no data), brought to ``resolution`` by nearest
        neighbour; same per-time coordinates as :func:`read_l2a`.
    """
    defaults = _defaults(options)
    scenes = discover_scenes(sources, defaults)
    for scene in scenes:
        if not scene.scl:
            raise MissingBandError(
                f"{scene.source}: no SCL layer; masks need Sen2Cor's scene classification "
                "(an '..._SCL.tif' beside band files, or IMG_DATA/R20m/*_SCL_20m.jp2)"
            )
    target = _target(scenes, resolution, defaults)
    layers = [_layer(_pick(scene.scl, resolution), target, kind="categorical", scene=scene,
                     band="SCL", chunks=chunks) for scene in scenes]
    return _assemble(da.stack(layers, axis=0), "scl", ("time", "y", "x"), target[1], scenes, {},
                     {"long_name": "Sen2Cor scene classification", "nodata": 0})
