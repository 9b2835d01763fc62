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

from hrlc.errors import HrlcError
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


def _asset_band(key: str) -> tuple[str, float | None] | None:
    """(band id, resolution in the key or None) of an asset key such as ``B05_60m``."""
    from hrlc.io.bands import canonical_band

    name, _, suffix = key.partition("_")
    try:
        band = canonical_band(name)
    except ValueError:
        return None
    return band, float(suffix.rstrip("m")) if suffix.endswith("m") else None


def item_scene(item, *, source: str) -> Scene:
    """The :class:`Scene` a STAC Item describes (the inverse of :func:`scene_item`).

    Band assets are keyed by band id (``B02``, ``B8A``, ``SCL``, optionally ``B02_20m``);
    ``raster:bands`` scale and offset give the quantification (1 / scale) and the
    BOA_ADD_OFFSET (offset / scale, DN); ``view:sun_elevation`` the sun zenith.
    """
    from hrlc.io.grid import open_header
    from hrlc.io.scene import BandFile

    props = item.properties
    files: dict[str, list[BandFile]] = {}
    scale, offsets, nodata = 1e-4, {}, 0
    for key, asset in item.assets.items():
        parsed = _asset_band(key)
        if parsed is None:
            continue
        band, resolution = parsed
        gsd = asset.extra_fields.get("gsd") or resolution or open_header(asset.href).resolution
        files.setdefault(band, []).append(BandFile(asset.href, float(gsd)))
        raster = (asset.extra_fields.get("raster:bands") or [{}])[0]
        if band != "SCL" and raster:
            scale = float(raster.get("scale", scale))
            offsets[band] = float(raster.get("offset", 0.0)) / scale
            nodata = raster.get("nodata", nodata)
    if not files:
        raise HrlcError(f"{source}: item {item.id} has no band assets (keys like B02, B8A, "
                        "SCL); it does not describe a Sentinel-2 L2A product")
    ordered = {b: tuple(sorted(f, key=lambda f: f.resolution)) for b, f in files.items()}
    scl = ordered.pop("SCL", ())
    elevation = props.get("view:sun_elevation")
    return Scene(
        source=source, kind="stac", product_name=str(props.get("s2:product_uri", item.id))
        .removesuffix(".SAFE"),
        datetime=np.datetime64(item.datetime.replace(tzinfo=None), "ns"), bands=ordered,
        scl=scl, tile_id=props.get("s2:mgrs_tile"),
        processing_baseline=props.get("s2:processing_baseline"),
        quantification=1.0 / scale, boa_add_offset=offsets, nodata=nodata,
        sun_zenith=float("nan") if elevation is None else 90.0 - float(elevation),
        sun_azimuth=float(props.get("view:sun_azimuth", float("nan"))),
        cloud_cover=props.get("eo:cloud_cover"), epsg=props.get("proj:epsg"),
    )


def read_stac_scenes(path: str | os.PathLike) -> list[Scene]:
    """Scenes of a STAC ItemCollection or Item (GeoJSON file) whose assets GDAL can open.

    Raises
    ------
    HrlcError
        pystac is missing, or the file is not a STAC Item/ItemCollection.
    """
    try:
        import pystac
    except ImportError:
        raise HrlcError("reading STAC needs pystac; install it with 'pip install hrlc[stac]'"
                        ) from None
    try:
        data = json.loads(Path(path).read_text())
        items = (list(pystac.ItemCollection.from_dict(data)) if data.get("type") ==
                 "FeatureCollection" else [pystac.Item.from_dict(data)])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, pystac.STACError,
            pystac.errors.STACTypeError) as exc:
        raise HrlcError(f"{path}: not a STAC Item or ItemCollection ({exc})") from None
    return [item_scene(item, source=str(path)) for item in items]
