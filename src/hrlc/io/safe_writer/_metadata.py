"""The XML of a SAFE L2A product: ``MTD_MSIL2A.xml``, ``MTD_TL.xml`` and ``manifest.safe``.

Modelled on real products of processing baselines 02.12 and 05.09 (see
``tests/data/s2-l2a-safe-metadata``): same element names, nesting, namespaces and
units, so that any SAFE reader finds what it looks for. Sections a reader of surface
reflectance does not use (GIPP lists, viewing-angle grids per detector, spectral
response curves) are left out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from pyproj import CRS, Transformer

from hrlc.io.acquisition import Acquisition, sun_position

_PRODUCT_NS = "https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd"
_TILE_NS = "https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
#: bandId order of the metadata, with (min, max, central) wavelength (nm), resolution (m)
#: and solar irradiance (W/m2/um) of Sentinel-2A.
BAND_IDS = (
    ("B1", 412, 456, 442.7, 60, 1884.69), ("B2", 456, 533, 492.7, 10, 1959.66),
    ("B3", 538, 583, 559.8, 10, 1823.24), ("B4", 646, 684, 664.6, 10, 1512.06),
    ("B5", 695, 714, 704.1, 20, 1424.64), ("B6", 731, 749, 740.5, 20, 1287.61),
    ("B7", 769, 797, 782.8, 20, 1162.08), ("B8", 760, 907, 832.8, 10, 1041.63),
    ("B8A", 837, 881, 864.7, 20, 955.32), ("B9", 932, 958, 945.1, 60, 812.92),
    ("B10", 1337, 1412, 1373.5, 60, 367.15), ("B11", 1539, 1682, 1613.7, 20, 245.59),
    ("B12", 2078, 2320, 2202.4, 20, 85.25),
)
SCL_NAMES = ("NODATA", "SATURATED_DEFECTIVE", "DARK_FEATURE_SHADOW", "CLOUD_SHADOW",
             "VEGETATION", "NOT_VEGETATED", "WATER", "UNCLASSIFIED", "CLOUD_MEDIUM_PROBA",
             "CLOUD_HIGH_PROBA", "THIN_CIRRUS", "SNOW_ICE")
_QI_NAMES = ("NODATA_PIXEL", "SATURATED_DEFECTIVE_PIXEL", "DARK_FEATURES", "CLOUD_SHADOW",
             "VEGETATION", "NOT_VEGETATED", "WATER", "UNCLASSIFIED", "MEDIUM_PROBA_CLOUDS",
             "HIGH_PROBA_CLOUDS", "THIN_CIRRUS", "SNOW_ICE")
_ANGLE_STEP = 5000.0  # metres between the points of the sun angle grids


@dataclass(frozen=True)
class TileGrid:
    """The 10 m grid of the tile: CRS, upper-left corner (metres) and side (pixels)."""

    epsg: int
    ulx: float
    uly: float
    size: int

    def lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return Transformer.from_crs(self.epsg, 4326, always_xy=True).transform(x, y)

    def footprint(self) -> list[tuple[float, float]]:
        """Corners (lat, lon) clockwise from the upper left, closed."""
        side = self.size * 10.0
        xs = np.array([self.ulx, self.ulx + side, self.ulx + side, self.ulx, self.ulx])
        ys = np.array([self.uly, self.uly, self.uly - side, self.uly - side, self.uly])
        lon, lat = self.lonlat(xs, ys)
        return list(zip(lat.tolist(), lon.tolist()))


def scl_percentages(counts: np.ndarray) -> dict[str, float]:
    """Image_Content_QI percentages from a histogram of SCL codes (index = code).

    No data is a share of all pixels; every other class a share of the valid pixels.
    """
    counts = np.asarray(counts, dtype=np.float64)
    total, valid = counts.sum(), counts[1:].sum()
    out = {f"{_QI_NAMES[0]}_PERCENTAGE": 100 * counts[0] / total if total else 0.0}
    for code in range(1, len(_QI_NAMES)):
        out[f"{_QI_NAMES[code]}_PERCENTAGE"] = 100 * counts[code] / valid if valid else 0.0
    cloudy = 100 * counts[8:11].sum() / valid if valid else 0.0
    out["CLOUDY_PIXEL_PERCENTAGE"] = cloudy
    return out


def _sub(parent: ET.Element, tag: str, text: object = None, **attrib: object) -> ET.Element:
    node = ET.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        node.text = str(text)
    return node


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _document(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + ET.tostring(root)


def _root(namespace: str, name: str) -> ET.Element:
    ET.register_namespace("n1", namespace)
    ET.register_namespace("xsi", _XSI)
    return ET.Element(f"{{{namespace}}}{name}", {f"{{{_XSI}}}schemaLocation": namespace})


def _tile_id(acq: Acquisition, level: str = "L2A") -> str:
    centre = "2APS"
    return (f"{acq.spacecraft}_OPER_MSI_{level}_TL_{centre}_{acq.generation_time:%Y%m%dT%H%M%S}_"
            f"A{acq.absolute_orbit:06d}_T{acq.tile_id}_N{acq.baseline}")


def _datastrip_id(acq: Acquisition) -> str:
    return (f"{acq.spacecraft}_OPER_MSI_L2A_DS_2APS_{acq.generation_time:%Y%m%dT%H%M%S}_"
            f"S{acq.sensing_time:%Y%m%dT%H%M%S}_N{acq.baseline}")


def product_metadata(acq: Acquisition, *, image_files: list[str], image_format: str,
                     grid: TileGrid, scl_counts: np.ndarray) -> bytes:
    """``MTD_MSIL2A.xml`` of one product.

    Parameters
    ----------
    image_files : list of str
        Band files relative to the SAFE root, without suffix (``GRANULE/.../..._B02_10m``).
    image_format : str
        ``"JPEG2000"`` or ``"GeoTIFF"``.
    scl_counts : ndarray (256,)
        Histogram of the product's SCL codes (for the quality indicators).
    """
    ns = _PRODUCT_NS
    root = _root(ns, "Level-2A_User_Product")
    general = _sub(root, f"{{{ns}}}General_Info")
    info = _sub(general, "Product_Info")
    for tag in ("PRODUCT_START_TIME", "PRODUCT_STOP_TIME"):
        _sub(info, tag, _iso(acq.sensing_time))
    _sub(info, "PRODUCT_URI", acq.product_name + ".SAFE")
    _sub(info, "PROCESSING_LEVEL", "Level-2A")
    _sub(info, "PRODUCT_TYPE", "S2MSI2A")
    _sub(info, "PROCESSING_BASELINE", acq.baseline)
    _sub(info, "GENERATION_TIME", _iso(acq.generation_time))
    _sub(info, "PREVIEW_IMAGE_URL", "Not applicable")
    _sub(info, "PREVIEW_GEO_INFO", "Not applicable")
    take = _sub(info, "Datatake", datatakeIdentifier=f"G{acq.spacecraft}_"
                f"{acq.sensing_time:%Y%m%dT%H%M%S}_{acq.absolute_orbit:06d}_N{acq.baseline}")
    _sub(take, "SPACECRAFT_NAME", f"Sentinel-{acq.spacecraft[1:]}")
    _sub(take, "DATATAKE_TYPE", "INS-NOBS")
    _sub(take, "DATATAKE_SENSING_START", _iso(acq.sensing_time))
    _sub(take, "SENSING_ORBIT_NUMBER", acq.relative_orbit)
    _sub(take, "SENSING_ORBIT_DIRECTION", "DESCENDING")
    _sub(_sub(info, "Query_Options", completeSingleTile="true"), "PRODUCT_FORMAT", "SAFE_COMPACT")
    granule = _sub(_sub(_sub(info, "Product_Organisation"), "Granule_List"), "Granule",
                   datastripIdentifier=_datastrip_id(acq), granuleIdentifier=_tile_id(acq),
                   imageFormat=image_format)
    for name in image_files:
        _sub(granule, "IMAGE_FILE", name)

    image = _sub(general, "Product_Image_Characteristics")
    for text, index in (("NODATA", 0), ("SATURATED", 65535)):
        special = _sub(image, "Special_Values")
        _sub(special, "SPECIAL_VALUE_TEXT", text)
        _sub(special, "SPECIAL_VALUE_INDEX", index)
    order = _sub(image, "Image_Display_Order")
    for colour, band in (("RED", 3), ("GREEN", 2), ("BLUE", 1)):
        _sub(order, f"{colour}_CHANNEL", band)
    quant = _sub(image, "QUANTIFICATION_VALUES_LIST")
    _sub(quant, "BOA_QUANTIFICATION_VALUE", 10000, unit="none")
    _sub(quant, "AOT_QUANTIFICATION_VALUE", 1000.0, unit="none")
    _sub(quant, "WVP_QUANTIFICATION_VALUE", 1000.0, unit="cm")
    if acq.boa_add_offset:
        offsets = _sub(image, "BOA_ADD_OFFSET_VALUES_LIST")
        for band_id in range(len(BAND_IDS)):
            _sub(offsets, "BOA_ADD_OFFSET", int(acq.boa_add_offset), band_id=band_id)
    conversion = _sub(image, "Reflectance_Conversion")
    day = acq.day_of_year
    _sub(conversion, "U", 1.0 / (1 - 0.01672 * np.cos(np.radians(0.9856 * (day - 4)))) ** 2)
    irradiance = _sub(conversion, "Solar_Irradiance_List")
    spectral = _sub(image, "Spectral_Information_List")
    for band_id, (name, low, high, centre, resolution, sun) in enumerate(BAND_IDS):
        _sub(irradiance, "SOLAR_IRRADIANCE", sun, bandId=band_id, unit="W/m²/µm")
        band = _sub(spectral, "Spectral_Information", bandId=band_id, physicalBand=name)
        _sub(band, "RESOLUTION", resolution)
        wavelength = _sub(band, "Wavelength")
        for tag, value in (("MIN", low), ("MAX", high), ("CENTRAL", centre)):
            _sub(wavelength, tag, value, unit="nm")
    _sub(image, "REFERENCE_BAND", 3)
    classes = _sub(image, "Scene_Classification_List")
    for code, name in enumerate(SCL_NAMES):
        entry = _sub(classes, "Scene_Classification_ID")
        _sub(entry, "SCENE_CLASSIFICATION_TEXT", f"SC_{name}")
        _sub(entry, "SCENE_CLASSIFICATION_INDEX", code)

    geometry = _sub(root, f"{{{ns}}}Geometric_Info")
    footprint = _sub(geometry, "Product_Footprint")
    inner = _sub(_sub(footprint, "Product_Footprint"), "Global_Footprint")
    _sub(inner, "EXT_POS_LIST", " ".join(f"{lat} {lon}" for lat, lon in grid.footprint()))
    _sub(footprint, "RASTER_CS_TYPE", "POINT")
    _sub(footprint, "PIXEL_ORIGIN", 1)
    crs = _sub(geometry, "Coordinate_Reference_System")
    _sub(crs, "GEO_TABLES", "EPSG", version=1)
    _sub(crs, "HORIZONTAL_CS_TYPE", "GEOGRAPHIC")
    auxiliary = _sub(root, f"{{{ns}}}Auxiliary_Data_Info")
    _sub(auxiliary, "PRODUCTION_DEM_TYPE", "CopernicusDEM30")
    _sub(_quality(root, f"{{{ns}}}Quality_Indicators_Info", scl_counts, product=True),
         "Quality_Control_Checks")
    return _document(root)


def _quality(root: ET.Element, tag: str, scl_counts: np.ndarray, *, product: bool) -> ET.Element:
    quality = _sub(root, tag)
    percentages = scl_percentages(scl_counts)
    if product:
        _sub(quality, "Cloud_Coverage_Assessment", f"{percentages['CLOUDY_PIXEL_PERCENTAGE']:.6f}")
    content = _sub(quality, "Image_Content_QI")
    for key in ("CLOUDY_PIXEL_PERCENTAGE", *(f"{n}_PERCENTAGE" for n in _QI_NAMES)):
        if product and key == "CLOUDY_PIXEL_PERCENTAGE":
            continue
        _sub(content, key, f"{percentages[key]:.6f}")
    return quality


def tile_metadata(acq: Acquisition, *, grid: TileGrid, scl_counts: np.ndarray) -> bytes:
    """``GRANULE/<granule>/MTD_TL.xml``: tile id, sensing time, geocoding, sun angles."""
    ns = _TILE_NS
    root = _root(ns, "Level-2A_Tile_ID")
    general = _sub(root, f"{{{ns}}}General_Info")
    _sub(general, "L1C_TILE_ID", _tile_id(acq, "L1C"), metadataLevel="Brief")
    _sub(general, "TILE_ID", _tile_id(acq), metadataLevel="Brief")
    _sub(general, "DATASTRIP_ID", _datastrip_id(acq), metadataLevel="Standard")
    _sub(general, "DOWNLINK_PRIORITY", "NOMINAL", metadataLevel="Standard")
    _sub(general, "SENSING_TIME", acq.sensing_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
         metadataLevel="Standard")
    geometry = _sub(root, f"{{{ns}}}Geometric_Info")
    geocoding = _sub(geometry, "Tile_Geocoding", metadataLevel="Brief")
    crs = CRS.from_epsg(grid.epsg)
    zone = crs.utm_zone or ""
    _sub(geocoding, "HORIZONTAL_CS_NAME", f"WGS84 / UTM zone {zone.zfill(3)}")
    _sub(geocoding, "HORIZONTAL_CS_CODE", f"EPSG:{grid.epsg}")
    for resolution in (10, 20, 60):
        size = _sub(geocoding, "Size", resolution=resolution)
        _sub(size, "NROWS", -(-grid.size * 10 // resolution))
        _sub(size, "NCOLS", -(-grid.size * 10 // resolution))
    for resolution in (10, 20, 60):
        position = _sub(geocoding, "Geoposition", resolution=resolution)
        for tag, value in (("ULX", grid.ulx), ("ULY", grid.uly), ("XDIM", resolution),
                           ("YDIM", -resolution)):
            _sub(position, tag, f"{value:g}")
    angles = _sub(geometry, "Tile_Angles", metadataLevel="Standard")
    sun = _sub(angles, "Sun_Angles_Grid")
    zenith_grid, azimuth_grid = _sun_grids(acq, grid)
    for tag, values in (("Zenith", zenith_grid), ("Azimuth", azimuth_grid)):
        node = _sub(sun, tag)
        _sub(node, "COL_STEP", f"{_ANGLE_STEP:g}", unit="m")
        _sub(node, "ROW_STEP", f"{_ANGLE_STEP:g}", unit="m")
        rows = _sub(node, "Values_List")
        for row in values:
            _sub(rows, "VALUES", " ".join(f"{v:.4f}" for v in row))
    mean = _sub(angles, "Mean_Sun_Angle")
    _sub(mean, "ZENITH_ANGLE", repr(float(acq.sun_zenith)), unit="deg")
    _sub(mean, "AZIMUTH_ANGLE", repr(float(acq.sun_azimuth)), unit="deg")
    viewing = _sub(angles, "Mean_Viewing_Incidence_Angle_List")
    for band_id in range(len(BAND_IDS)):
        view = _sub(viewing, "Mean_Viewing_Incidence_Angle", bandId=band_id)
        _sub(view, "ZENITH_ANGLE", f"{4.5 + 0.05 * band_id:.4f}", unit="deg")
        _sub(view, "AZIMUTH_ANGLE", f"{104.0 + 0.3 * band_id:.4f}", unit="deg")
    quality = _quality(root, f"{{{ns}}}Quality_Indicators_Info", scl_counts, product=False)
    quality.set("metadataLevel", "Standard")
    return _document(root)


def _sun_grids(acq: Acquisition, grid: TileGrid) -> tuple[np.ndarray, np.ndarray]:
    """Sun zenith and azimuth every 5 km over the tile (rows north to south), degrees."""
    count = int(np.ceil(grid.size * 10.0 / _ANGLE_STEP)) + 1
    offsets = np.arange(count) * _ANGLE_STEP
    x, y = np.meshgrid(grid.ulx + offsets, grid.uly - offsets)
    lon, lat = grid.lonlat(x, y)
    return sun_position(np.datetime64(acq.sensing_time), lat, lon)


def manifest(acq: Acquisition, *, root: Path, grid: TileGrid) -> bytes:
    """``manifest.safe`` (XFDU) listing every file of the product under ``root``."""
    xfdu, safe = "urn:ccsds:schema:xfdu:1", "http://www.esa.int/safe/sentinel/1.1"
    ET.register_namespace("xfdu", xfdu)
    ET.register_namespace("safe", safe)
    document = ET.Element(f"{{{xfdu}}}XFDU", {
        "version": "esa/safe/sentinel/1.1/sentinel-2/msi/archive_l2a_user_product"})
    package = _sub(document, "informationPackageMap")
    unit = _sub(package, f"{{{xfdu}}}contentUnit", unitType="Product_Level-2A",
                textInfo="SENTINEL-2 MSI Level-2A User Product")
    metadata = _sub(document, "metadataSection")
    period = _wrap(metadata, "acquisitionPeriod", "Acquisition Period")
    _sub(_sub(period, f"{{{safe}}}acquisitionPeriod"), f"{{{safe}}}startTime",
         _iso(acq.sensing_time))
    orbit = _sub(_wrap(metadata, "measurementOrbitReference", "Orbit Reference"),
                 f"{{{safe}}}orbitReference")
    _sub(orbit, f"{{{safe}}}orbitNumber", f"{acq.absolute_orbit:06d}",
         groundTrackDirection="descending", type="start")
    _sub(orbit, f"{{{safe}}}relativeOrbitNumber", f"{acq.relative_orbit:03d}", type="start")
    platform = _sub(_wrap(metadata, "platform", "Platform Description"), f"{{{safe}}}platform")
    _sub(platform, f"{{{safe}}}familyName", "SENTINEL")
    _sub(platform, f"{{{safe}}}number", acq.spacecraft[1:])
    frame = _sub(_wrap(metadata, "measurementFrameSet", "Frame Set"), f"{{{safe}}}frameSet")
    _sub(_sub(frame, f"{{{safe}}}footPrint"), "coordinates",
         " ".join(f"{lat} {lon}" for lat, lon in grid.footprint()))
    objects = _sub(document, "dataObjectSection")
    for k, path in enumerate(sorted(p for p in root.rglob("*") if p.is_file())):
        relative = path.relative_to(root).as_posix()
        _sub(unit, "dataObjectPointer", dataObjectID=f"DataObject_{k}")
        stream = _sub(_sub(objects, "dataObject", ID=f"DataObject_{k}"), "byteStream",
                      mimeType="application/octet-stream", size=path.stat().st_size)
        _sub(stream, "fileLocation", locatorType="URL", href=f"./{relative}")
    return _document(document)


def _wrap(metadata: ET.Element, identifier: str, text: str) -> ET.Element:
    obj = _sub(metadata, "metadataObject", ID=identifier, category="DMD",
               classification="DESCRIPTION")
    wrap = _sub(obj, "metadataWrap", mimeType="text/xml", textInfo=text,
                vocabularyName="Sentinel-SAFE")
    return _sub(wrap, "xmlData")
