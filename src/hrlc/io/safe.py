"""Sentinel-2 L2A SAFE products, as folders or .zip archives, never unpacked to disk.

Metadata come from ``MTD_MSIL2A.xml`` (product: baseline, quantification, BOA offsets,
nodata, band files) and ``GRANULE/*/MTD_TL.xml`` (tile: EPSG, sensing time, sun angles).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np

from hrlc.errors import CorruptFileError, InputError, ProductLevelError
from hrlc.io.bands import BAND_FILE_PATTERN, canonical_band
from hrlc.io.scene import BandFile, Scene

_RASTER_SUFFIXES = (".jp2", ".tif", ".tiff")
# Order of ``bandId`` in the product metadata when no Spectral_Information_List is given.
_BAND_ID_ORDER = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09",
                  "B10", "B11", "B12")


class _Container:
    """Read-only access to the files of a SAFE product, in a folder or a zip archive."""

    def __init__(self, path: Path):
        self.path = path
        self.is_zip = path.suffix.lower() == ".zip"
        if self.is_zip:
            try:
                with zipfile.ZipFile(path) as archive:
                    self._names = [n for n in archive.namelist() if not n.endswith("/")]
            except (zipfile.BadZipFile, OSError) as exc:
                raise CorruptFileError(
                    f"{path}: not a readable zip archive ({exc}); the download is probably "
                    "truncated, download the product again"
                ) from None
        else:
            self._names = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]

    def names(self) -> list[str]:
        return self._names

    def read_bytes(self, name: str) -> bytes:
        if self.is_zip:
            try:
                with zipfile.ZipFile(self.path) as archive:
                    return archive.read(name)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise CorruptFileError(
                    f"{self.path}: cannot read {name} from the archive ({exc}); "
                    "download the product again"
                ) from None
        return (self.path / name).read_bytes()

    def gdal_path(self, name: str) -> str:
        if self.is_zip:
            return f"/vsizip/{self.path.resolve().as_posix()}/{name}"
        return str(self.path / name)


def is_safe(path: Path) -> bool:
    """True if ``path`` is a SAFE folder or a zip archive (SAFE products are zipped)."""
    if path.is_dir():
        return path.suffix.upper() == ".SAFE" or any(path.glob("MTD_MSI*.xml"))
    return path.is_file() and path.suffix.lower() == ".zip"


def _parse_xml(container: _Container, name: str) -> ET.Element:
    try:
        return ET.fromstring(container.read_bytes(name))
    except ET.ParseError as exc:
        raise CorruptFileError(
            f"{container.path}: {name} is not valid XML ({exc}); the product is damaged"
        ) from None


def _text(root: ET.Element, tag: str) -> str | None:
    node = root.find(f".//{{*}}{tag}")
    if node is None:
        node = root.find(f".//{tag}")
    return None if node is None or node.text is None else node.text.strip()


def _all(root: ET.Element, tag: str) -> list[ET.Element]:
    return [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == tag]


def _band_id_names(root: ET.Element) -> dict[str, str]:
    """Map the metadata's numeric ``bandId`` to canonical band names."""
    names = {}
    for info in _all(root, "Spectral_Information"):
        band_id, physical = info.get("bandId"), info.get("physicalBand")
        if band_id is not None and physical:
            names[band_id] = canonical_band(physical)
    return names or {str(i): b for i, b in enumerate(_BAND_ID_ORDER)}


def _find_product_metadata(container: _Container) -> tuple[str, str]:
    """Return (name of MTD_MSIL2A.xml in the container, SAFE root prefix)."""
    candidates = sorted(
        (n for n in container.names() if PurePosixPath(n).name.startswith("MTD_MSI")),
        key=lambda n: n.count("/"),
    )
    if not candidates:
        raise InputError(
            f"{container.path}: no MTD_MSIL2A.xml found; this is not a Sentinel-2 SAFE "
            "product (for loose band files, pass the folder that holds them)"
        )
    name = candidates[0]
    if PurePosixPath(name).name != "MTD_MSIL2A.xml":
        raise ProductLevelError(
            f"{container.path}: holds {PurePosixPath(name).name}, a product of another "
            "processing level; hrlc needs Level-2A surface reflectance (run Sen2Cor on "
            "Level-1C products first)"
        )
    root = str(PurePosixPath(name).parent)
    return name, "" if root == "." else root + "/"


def read_safe_metadata(path: str | Path) -> Scene:
    """Describe a SAFE product (folder or .zip) without reading any pixel.

    Raises
    ------
    ProductLevelError
        The product is not Level-2A.
    CorruptFileError
        The archive or its XML metadata cannot be read.
    """
    path = Path(path)
    container = _Container(path)
    mtd_name, prefix = _find_product_metadata(container)
    product = _parse_xml(container, mtd_name)

    level = _text(product, "PROCESSING_LEVEL") or "Level-2A"
    product_type = _text(product, "PRODUCT_TYPE") or ""
    if "2A" not in level and "2A" not in product_type:
        raise ProductLevelError(
            f"{path}: processing level {level!r} ({product_type}); hrlc needs Level-2A"
        )
    baseline = _text(product, "PROCESSING_BASELINE")
    quantification = float(
        _text(product, "BOA_QUANTIFICATION_VALUE")
        or _text(product, "L2A_BOA_QUANTIFICATION_VALUE")
        or 10000.0
    )
    band_names = _band_id_names(product)
    offsets = {
        band_names[el.get("band_id")]: float(el.text)
        for el in _all(product, "BOA_ADD_OFFSET")
        if el.get("band_id") in band_names and el.text
    }
    nodata: float | None = 0
    for special in _all(product, "Special_Values"):
        if _text(special, "SPECIAL_VALUE_TEXT") == "NODATA":
            nodata = float(_text(special, "SPECIAL_VALUE_INDEX") or 0)
    cloud = _text(product, "Cloud_Coverage_Assessment")

    bands, scl = _band_files(container, prefix, product)
    tile_meta_names = [n for n in container.names() if n.endswith("MTD_TL.xml")]
    epsg = sun_zenith = sun_azimuth = None
    sensing = _text(product, "PRODUCT_START_TIME")
    tile_id = None
    if tile_meta_names:
        tile = _parse_xml(container, tile_meta_names[0])
        code = _text(tile, "HORIZONTAL_CS_CODE")
        epsg = int(code.split(":")[-1]) if code else None
        sensing = _text(tile, "SENSING_TIME") or sensing
        mean_sun = next(iter(_all(tile, "Mean_Sun_Angle")), None)
        if mean_sun is not None:
            sun_zenith = float(_text(mean_sun, "ZENITH_ANGLE"))
            sun_azimuth = float(_text(mean_sun, "AZIMUTH_ANGLE"))
        tile_id = _tile_from(_text(tile, "TILE_ID") or "")
    product_uri = _text(product, "PRODUCT_URI") or path.name
    tile_id = tile_id or _tile_from(product_uri)
    if sensing is None:
        raise CorruptFileError(f"{path}: {mtd_name} has no sensing time; the product is damaged")
    return Scene(
        source=str(path),
        kind="safe-zip" if container.is_zip else "safe",
        product_name=product_uri.removesuffix(".SAFE"),
        datetime=np.datetime64(sensing.rstrip("Z"), "ns"),
        bands=bands,
        scl=scl,
        tile_id=tile_id,
        processing_level="Level-2A",
        processing_baseline=baseline,
        quantification=quantification,
        boa_add_offset=offsets,
        nodata=nodata,
        sun_zenith=float("nan") if sun_zenith is None else sun_zenith,
        sun_azimuth=float("nan") if sun_azimuth is None else sun_azimuth,
        cloud_cover=None if cloud is None else float(cloud),
        epsg=epsg,
    )


def _tile_from(text: str) -> str | None:
    match = re.search(r"_T(\d{2}[A-Z]{3})(?:_|$)", text)
    return match.group(1) if match else None


def _band_files(
    container: _Container, prefix: str, product: ET.Element
) -> tuple[dict[str, tuple[BandFile, ...]], tuple[BandFile, ...]]:
    """Band files listed in IMAGE_FILE entries that exist in the container.

    Every available resolution of a band is kept (finest first) so that the reader
    can take the file already at the requested resolution.
    """
    present = {n.lower(): n for n in container.names()}
    bands: dict[str, list[BandFile]] = {}
    for el in _all(product, "IMAGE_FILE"):
        stem = (el.text or "").strip()
        match = BAND_FILE_PATTERN.match(PurePosixPath(stem).name)
        if not match or not match.group("res"):
            continue
        name = next(
            (present[(prefix + stem + s).lower()] for s in _RASTER_SUFFIXES
             if (prefix + stem + s).lower() in present),
            None,
        )
        if name is None:
            continue
        band = canonical_band(match.group("band"))
        bands.setdefault(band, []).append(
            BandFile(container.gdal_path(name), float(match.group("res")))
        )
    ordered = {b: tuple(sorted(f, key=lambda f: f.resolution)) for b, f in bands.items()}
    scl = ordered.pop("SCL", ())
    return ordered, scl
