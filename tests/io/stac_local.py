"""Real catalog items with their hrefs pointed at small rasters written here.

A real item is copied as it is; every single-band raster asset (COG or JP2) gets a
small GeoTIFF of random DNs in the item's CRS, at the asset's pixel size and origin,
and its href is replaced by that file. Assets of other kinds keep their remote hrefs,
so a reader that tried to open them would fail.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

DATA = Path(__file__).resolve().parents[1] / "data" / "stac"
SIZE_M = 240  # metres: 24 px at 10 m, 12 at 20 m, 4 at 60 m


def load(relative: str) -> dict:
    return json.loads((DATA / relative).read_text())


def _epsg(item: dict, asset: dict) -> int:
    for fields in (asset, item["properties"]):
        code = fields.get("proj:code") or fields.get("proj:epsg")
        if code:
            return int(str(code).upper().removeprefix("EPSG:"))
    raise KeyError("no EPSG in item")


def _pixel(asset: dict) -> tuple[float, float, float] | None:
    transform = asset.get("proj:transform")
    if not transform:
        return None
    return float(transform[0]), float(transform[2]), float(transform[5])


def _is_single_band_raster(asset: dict) -> bool:
    media = asset.get("type", "")
    bands = asset.get("eo:bands") or asset.get("bands") or [None]
    return ("tiff" in media or "jp2" in media) and len(bands) == 1 and \
        "visual" not in asset.get("roles", [])


def localise(item: dict, folder: Path, *, seed: int = 0, shift: tuple[float, float] = (0, 0)
             ) -> tuple[dict, dict[str, np.ndarray]]:
    """A copy of ``item`` whose raster assets are small local GeoTIFFs.

    Returns the item and the DNs written, by asset key. ``shift`` moves the origin
    (metres), to build items that are not on one grid.
    """
    item = copy.deepcopy(item)
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for key, asset in item["assets"].items():
        pixel = _pixel(asset)
        if pixel is None or not _is_single_band_raster(asset):
            continue
        res, ulx, uly = pixel
        n = int(SIZE_M // res)
        scl = key.lower().startswith("scl")
        dtype = np.uint8 if scl else np.uint16
        dn = rng.integers(1, 12 if scl else 12000, (n, n)).astype(dtype)
        dn[0, 0] = 0  # nodata in every band
        path = folder / f"{item['id']}_{key}.tif"
        with rasterio.open(path, "w", driver="GTiff", height=n, width=n, count=1, dtype=dtype,
                           crs=f"EPSG:{_epsg(item, asset)}", nodata=0,
                           transform=Affine(res, 0, ulx + shift[0], 0, -res, uly + shift[1])
                           ) as dst:
            dst.write(dn, 1)
        asset["href"] = str(path)
        written[key] = dn
    return item, written


def write_items(items: list[dict], path: Path) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": items}))
    return path
