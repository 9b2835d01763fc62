"""STAC descriptions of L2A products on local disk (a STAC ItemCollection, pystac).

One Item per product, with one asset per band file (``B02``, ..., ``SCL``) whose href
GDAL can open (a path, or a ``/vsizip/`` path inside a zipped product) and the product's
metadata as STAC properties: ``datetime``, ``eo:cloud_cover``, ``proj:epsg``,
``view:sun_azimuth`` / ``view:sun_elevation``, ``s2:processing_baseline``,
``s2:mgrs_tile``; per asset ``gsd``, ``proj:shape``, ``proj:transform`` and ``raster:bands``
scale/offset so that ``reflectance = DN * 0.0001 + offset`` (offset -0.1 from baseline 04.00).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
from pyproj import Transformer

from hrlc.errors import HrlcError, InputError
from hrlc.io.atomic import atomic_output
from hrlc.io.grid import open_header
from hrlc.io.safe import read_safe_metadata
from hrlc.io.scene import Scene

STAC_EXTENSIONS = [
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
]


def _footprint(path: str) -> tuple[list[float], dict, int, list[float]]:
    with rasterio.open(path) as src:
        bounds, epsg = src.bounds, src.crs.to_epsg()
    xs = np.array([bounds.left, bounds.right, bounds.right, bounds.left, bounds.left])
    ys = np.array([bounds.top, bounds.top, bounds.bottom, bounds.bottom, bounds.top])
    lon, lat = Transformer.from_crs(epsg, 4326, always_xy=True).transform(xs, ys)
    ring = [[float(x), float(y)] for x, y in zip(lon, lat)]
    bbox = [float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())]
    return bbox, {"type": "Polygon", "coordinates": [ring]}, epsg, list(bounds)


def scene_item(scene: Scene):
    """A ``pystac.Item`` describing one L2A scene and its band files."""
    import pystac

    first = scene.bands[scene.band_names[0]][0].path
    bbox, geometry, epsg, proj_bbox = _footprint(first)
    when = np.datetime_as_string(scene.datetime, unit="us") + "Z"
    properties = {
        "platform": "sentinel-2" + scene.product_name[2].lower(),
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "eo:cloud_cover": scene.cloud_cover,
        "proj:epsg": epsg,
        "proj:bbox": proj_bbox,
        "view:sun_azimuth": scene.sun_azimuth,
        "view:sun_elevation": 90.0 - scene.sun_zenith,
        "processing:level": "L2A",
        "s2:processing_baseline": scene.processing_baseline,
        "s2:mgrs_tile": scene.tile_id,
        "s2:product_uri": scene.product_name + ".SAFE",
    }
    item = pystac.Item(id=scene.product_name, geometry=geometry, bbox=bbox,
                       datetime=pystac.utils.str_to_datetime(when), properties=properties,
                       stac_extensions=list(STAC_EXTENSIONS))
    for band, files in {**scene.bands, "SCL": scene.scl}.items():
        for file in files:
            key = band if file is files[0] else f"{band}_{file.resolution:g}m"
            header = open_header(file.path)
            fields = {"gsd": file.resolution, "proj:shape": list(header.shape),
                      "proj:transform": list(header.transform)[:6]}
            if band != "SCL":
                fields["raster:bands"] = [{
                    "nodata": scene.nodata, "data_type": "uint16",
                    "scale": 1.0 / scene.quantification,
                    "offset": scene.offset(band) / scene.quantification}]
            media = (pystac.MediaType.JPEG2000 if file.path.lower().endswith(".jp2")
                     else pystac.MediaType.GEOTIFF)
            item.add_asset(key, pystac.Asset(href=file.path, media_type=media,
                                             roles=["data"], extra_fields=fields))
    return item


def write_item_collection(products: Sequence[str | os.PathLike], path: str | os.PathLike, *,
                          overwrite: bool = False) -> Path:
    """Write a STAC ItemCollection (GeoJSON) describing L2A ``products``.

    Raises
    ------
    HrlcError
        pystac is not installed (``pip install hrlc[stac]``).
    """
    try:
        import pystac
    except ImportError:
        raise HrlcError(
            "writing STAC needs pystac; install it with 'pip install hrlc[stac]'") from None
    items = [scene_item(read_safe_metadata(p)) for p in products]
    collection = pystac.ItemCollection(items)
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(collection.to_dict(transform_hrefs=False), indent=1))
    return Path(path)


def _items(data, where: str) -> list[dict]:
    """The item dicts of an ItemCollection/FeatureCollection, a list of items or an item."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        return list(data.get("features") or [])
    if isinstance(data, dict) and data.get("type") == "Feature":
        return [data]
    raise InputError(f"{where}: not a STAC Item, ItemCollection or list of Items "
                     "(expected GeoJSON 'type': 'Feature' or 'FeatureCollection')")


def read_stac_scenes(path: str | os.PathLike, defaults=None) -> list[Scene]:
    """Scenes of STAC Items of any catalog (:mod:`hrlc.io.stac_items`).

    ``path`` is an ItemCollection or FeatureCollection file (as ``hrlc search`` and
    pystac-client write them), a file holding a JSON list of Items or one Item, or a
    folder of Item files. ``defaults.boa_offset`` says how offsets are taken; a YAML
    beside the file (same stem) may set ``boa_offset`` for this source alone.

    Raises
    ------
    HrlcError
        pystac is missing, a file is not JSON or not STAC, or an item has no band.
    """
    try:
        import pystac
    except ImportError:
        raise HrlcError("reading STAC needs pystac; install it with 'pip install hrlc[stac]'"
                        ) from None
    from hrlc.config.io import SourceOptions
    from hrlc.io.folders import merge_sidecar
    from hrlc.io.stac_items import item_scene

    path = Path(path)
    defaults = merge_sidecar(path.with_suffix(".yaml"), defaults or SourceOptions())
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    scenes = []
    for file in files:
        try:
            data = json.loads(file.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{file}: not a JSON file ({exc}); give a STAC ItemCollection "
                             "or Item (e.g. written by 'hrlc search')") from None
        for entry in _items(data, str(file)):
            try:
                item = pystac.Item.from_dict(entry, preserve_dict=True)
            except (KeyError, TypeError, ValueError, AttributeError, pystac.STACError,
                    pystac.errors.STACTypeError) as exc:
                raise InputError(f"{file}: not a STAC Item ({type(exc).__name__}: {exc})"
                                 ) from None
            scenes.append(item_scene(item, source=str(file), boa_offset=defaults.boa_offset,
                                     base=file.parent))
    if not scenes:
        raise InputError(f"{path}: no STAC Item found; search again or check the file")
    return scenes
