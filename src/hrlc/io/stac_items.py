"""Reading STAC Items of Sentinel-2 L2A from any catalog, correct to the DN.

Catalogs describe the same product in different words. What is read, and from where
(first found wins):

============  ===================================================================
band          asset key (``B02``, ``B02_10m``, ``blue``, ``nir08``, ``scl``), else
              the ``eo:bands`` / ``bands`` name, else an unambiguous ``common_name``;
              multi-band assets (``visual``, ``TCI``) and non-data roles are skipped;
              a ``-jp2`` twin of a COG asset is skipped
scale/offset  ``raster:bands`` ``scale``/``offset`` (raster extension v1), asset-level
              ``raster:scale``/``raster:offset`` (v2, STAC 1.1), or the ``bands``
              entry's; reflectance = DN * scale + offset
sun           ``view:sun_elevation``/``view:sun_azimuth``, else
              ``s2:mean_solar_zenith``/``s2:mean_solar_azimuth``
EPSG          ``proj:code`` (``EPSG:32632``) or ``proj:epsg``, item or asset
tile          ``s2:mgrs_tile``, ``grid:code`` (``MGRS-32TPS``), ``mgrs:utm_zone`` +
              ``mgrs:latitude_band`` + ``mgrs:grid_square`` (``sentinel:*`` in Earth
              Search v0), ``s2:tile_id``
baseline      ``s2:processing_baseline``, ``processing:version``, or ``_N0509_`` in
              the product name (``s2:product_uri``, ``sentinel:product_id``)
============  ===================================================================

**The BOA offset** (-1000 DN from processing baseline 04.00) follows ``boa_offset``:

- ``auto`` (default): if the item says ``earthsearch:boa_offset_applied: true`` the
  pixels are already harmonised and **no offset is applied**, whatever ``raster:bands``
  declares (Earth Search's old ``sentinel-2-l2a`` collection declares ``offset: -0.1``
  on such assets: taking both would apply the offset twice). Otherwise the declared
  offset is used; where an item declares none (Planetary Computer), -1000 DN is derived
  from ``s2:processing_baseline`` >= 04.00.
- ``apply``: -1000 DN for baseline >= 04.00, 0 before, whatever the item says.
- ``none``: no offset (the pixels are harmonised, whatever the item says).

Hrefs: relative ones are resolved against the item file; ``https://`` and ``s3://``,
``gs://`` are read through GDAL's ``/vsicurl/``, ``/vsis3/``, ``/vsigs/`` (credentials
and options from the usual environment variables: ``AWS_NO_SIGN_REQUEST=YES`` for
public buckets, ``AWS_REQUEST_PAYER=requester``...). Planetary Computer blob hrefs are
signed with the ``planetary-computer`` package when it is installed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from hrlc.errors import InputError
from hrlc.io.acquisition import baseline_offset_dn
from hrlc.io.bands import canonical_band
from hrlc.io.scene import BandFile, Scene

#: STAC common names (and Earth Search asset keys) of Sentinel-2 L2A bands.
COMMON_NAMES = {
    "coastal": "B01", "blue": "B02", "green": "B03", "red": "B04", "rededge1": "B05",
    "rededge2": "B06", "rededge3": "B07", "nir": "B08", "nir08": "B8A", "nir09": "B09",
    "swir16": "B11", "swir22": "B12", "scl": "SCL",
}
_DATA_ROLES = {"data", "reflectance"}
_BASELINE_IN_NAME = re.compile(r"_N(\d{2})(\d{2})_")
_REMOTE = {"https://": "/vsicurl/https://", "http://": "/vsicurl/http://",
           "s3://": "/vsis3/", "gs://": "/vsigs/"}


def _band_id(name: str | None) -> str | None:
    if not name:
        return None
    name = str(name)
    if name.lower() in COMMON_NAMES:
        return COMMON_NAMES[name.lower()]
    base = re.sub(r"_(10|20|60)m$", "", name, flags=re.IGNORECASE)
    try:
        return canonical_band(base)
    except ValueError:
        return None


def _band_entries(fields: Mapping) -> list[dict]:
    return list(fields.get("eo:bands") or fields.get("bands") or [])


def asset_band(key: str, fields: Mapping) -> str | None:
    """The band id an asset holds, or None (not one Sentinel-2 L2A band or SCL)."""
    roles = set(fields.get("roles") or ["data"])
    entries = _band_entries(fields)
    if not roles & _DATA_ROLES or len(entries) > 1:
        return None
    band = _band_id(key.removesuffix("-jp2"))
    if band is None and entries:
        entry = entries[0]
        band = _band_id(entry.get("name"))
        common = entry.get("common_name") or entry.get("eo:common_name")
        if band is None and common != "rededge":  # rededge is B05, B06, B07 or B8A
            band = _band_id(common)
    return band


def _raster_fields(fields: Mapping) -> dict:
    """scale, offset, nodata and spatial_resolution of a single-band asset (v1 or v2)."""
    merged = {}
    for entry in (*(fields.get("raster:bands") or [])[:1], *_band_entries(fields)[:1]):
        merged.update({k.removeprefix("raster:"): v for k, v in entry.items()})
    merged.update({k.removeprefix("raster:"): v for k, v in fields.items()
                   if k in ("raster:scale", "raster:offset", "nodata", "raster:nodata")})
    return merged


def _resolution(key: str, fields: Mapping, raster: Mapping) -> float | None:
    suffix = re.search(r"_(10|20|60)m$", key)
    transform = fields.get("proj:transform")
    for value in (fields.get("gsd"), raster.get("spatial_resolution"),
                  suffix and suffix.group(1), transform and abs(transform[0])):
        if value:
            return float(value)
    return None


def gdal_path(href: str, base: Path | None) -> str:
    """A path GDAL opens for an asset href: remote schemes through its virtual file
    systems, relative paths against the item's folder, Planetary Computer signed."""
    for scheme, vsi in _REMOTE.items():
        if href.startswith(scheme):
            return vsi + _signed(href)[len(scheme):]
    if href.startswith("file://"):
        href = href[len("file://"):]
    path = Path(href)
    if not path.is_absolute() and base is not None and not href.startswith("/vsi"):
        path = base / path
    return str(path) if not href.startswith("/vsi") else href


def _signed(href: str) -> str:
    if ".blob.core.windows.net/" not in href or "?" in href:
        return href
    try:
        import planetary_computer
    except ImportError:
        return href
    return planetary_computer.sign(href)


def _first(*values):
    return next((v for v in values if v not in (None, "")), None)


def item_epsg(props: Mapping, assets: Mapping) -> int | None:
    """EPSG code from ``proj:code``/``proj:epsg`` of the item or, failing that, an asset."""
    for fields in (props, *assets.values()):
        code = _first(fields.get("proj:code"), fields.get("proj:epsg"))
        if code is not None:
            text = str(code).upper().removeprefix("EPSG:")
            return int(text) if text.isdigit() else None
    return None


def item_tile(props: Mapping) -> str | None:
    """MGRS tile (``32TPS``) of an item."""
    grid = str(props.get("grid:code") or "")
    parts = [tuple(props.get(f"{prefix}:{k}") for k in ("utm_zone", "latitude_band",
                                                        "grid_square"))
             for prefix in ("mgrs", "sentinel")]  # Earth Search v1, v0
    mgrs = [f"{int(z):02d}{b}{q}" for z, b, q in parts if z and b and q]
    tile_id = re.search(r"_T(\d{2}[A-Z]{3})_", str(props.get("s2:tile_id") or ""))
    return _first(props.get("s2:mgrs_tile"),
                  grid.removeprefix("MGRS-") if grid.startswith("MGRS-") else None,
                  *mgrs, tile_id and tile_id.group(1))


def item_baseline(props: Mapping, product: str) -> str | None:
    """Processing baseline (``05.09``) from the properties or the product name."""
    named = _BASELINE_IN_NAME.search(product)
    version = _first(props.get("s2:processing_baseline"), props.get("processing:version"),
                     named and f"{named.group(1)}.{named.group(2)}")
    return None if version is None else str(version)


def offset_dn(*, declared: float | None, scale: float, baseline: str | None,
              applied_flag: bool | None, rule: str) -> float:
    """The BOA offset of one band in DN under ``rule`` (see the module docstring).

    Raises
    ------
    InputError
        The offset follows from ``baseline`` (``apply``, or ``auto`` with none declared)
        and it is not of the form ``NN.NN``.
    """
    if rule == "none":
        return 0.0
    if rule != "apply":  # auto
        if applied_flag:
            return 0.0
        if declared is not None:
            return float(declared) / scale
    return baseline_offset_dn(baseline)


def _sun(props: Mapping) -> tuple[float, float]:
    elevation = props.get("view:sun_elevation")
    zenith = (90.0 - float(elevation) if elevation is not None
              else props.get("s2:mean_solar_zenith"))
    azimuth = _first(props.get("view:sun_azimuth"), props.get("s2:mean_solar_azimuth"))
    return (float("nan") if zenith is None else float(zenith),
            float("nan") if azimuth is None else float(azimuth))


def _item_time(item) -> np.datetime64:
    when = item.datetime or item.common_metadata.start_datetime
    if when is None:
        raise InputError(f"item {item.id} has no datetime; it cannot be placed in a series")
    return np.datetime64(when.replace(tzinfo=None), "ns")


def _assets(item, base: Path | None):
    """(band, key, BandFile, raster fields) of each band asset, ``-jp2`` twins dropped."""
    found = []
    for key, asset in item.assets.items():
        fields = {**asset.extra_fields, "roles": asset.roles}
        band = asset_band(key, fields)
        if band is None:
            continue
        raster = _raster_fields(fields)
        resolution = _resolution(key, fields, raster)
        found.append((band, key, resolution, raster, gdal_path(asset.href, base)))
    cogs = {(b, r) for b, k, r, _, _ in found if not k.endswith("-jp2")}
    return [(b, k, r, raster, path) for b, k, r, raster, path in found
            if not (k.endswith("-jp2") and (b, r) in cogs)]


def _check_sentinel2(item, source: str) -> None:
    """Refuse items of other missions: their common names (``nir08``...) mean other bands."""
    props = item.properties
    named = [str(props[k]) for k in ("platform", "constellation") if props.get(k)]
    if named and not any(re.match(r"sentinel[-_ ]?2", n, re.IGNORECASE) for n in named):
        raise InputError(f"{source}: item {item.id} is from {' / '.join(named)}, not "
                         "Sentinel-2; search a Sentinel-2 L2A collection")


def item_scene(item, *, source: str, boa_offset: str = "auto",
               base: Path | None = None) -> Scene:
    """The :class:`Scene` a STAC Item of any catalog describes (see the module docstring).

    Raises
    ------
    InputError
        The item has no reflectance asset (the message names the item and its asset
        keys), or its bands declare different scale factors.
    """
    from hrlc.io.grid import open_header

    props = item.properties
    _check_sentinel2(item, source)
    product = str(_first(props.get("s2:product_uri"), props.get("sentinel:product_id"),
                         item.id)).removesuffix(".SAFE")
    baseline = item_baseline(props, product)
    files: dict[str, list[BandFile]] = {}
    scales, offsets, nodata = {}, {}, None
    for band, _key, resolution, raster, path in _assets(item, base):
        if resolution is None:
            resolution = open_header(path).resolution
        files.setdefault(band, []).append(BandFile(path, float(resolution)))
        if band == "SCL":
            continue
        scales[band] = float(raster.get("scale") or 1e-4)
        declared = raster.get("offset")
        offsets[band] = offset_dn(declared=declared, scale=scales[band], baseline=baseline,
                                  applied_flag=props.get("earthsearch:boa_offset_applied"),
                                  rule=boa_offset)
        nodata = _first(nodata, raster.get("nodata"))
    if not scales:
        raise InputError(
            f"{source}: item {item.id} has no reflectance asset (its assets: "
            f"{', '.join(item.assets) or 'none'}); it does not describe a Sentinel-2 L2A "
            "product, or names its bands in a way hrlc does not know (B02, blue, eo:bands)")
    if len(set(scales.values())) > 1:
        raise InputError(f"{source}: item {item.id} declares different scale factors per "
                         f"band ({scales}); hrlc needs one quantification per scene")
    ordered = {b: tuple(sorted(f, key=lambda f: f.resolution)) for b, f in files.items()}
    scl = ordered.pop("SCL", ())
    sun_zenith, sun_azimuth = _sun(props)
    scale = next(iter(scales.values()))
    return Scene(
        source=source, kind="stac", product_name=product, datetime=_item_time(item),
        bands=ordered, scl=scl, tile_id=item_tile(props), processing_baseline=baseline,
        quantification=1.0 / scale, boa_add_offset=offsets,
        nodata=0 if nodata is None else nodata, sun_zenith=sun_zenith,
        sun_azimuth=sun_azimuth, cloud_cover=props.get("eo:cloud_cover"),
        epsg=item_epsg(props, {k: a.extra_fields for k, a in item.assets.items()}),
    )
