"""Searching a STAC API for Sentinel-2 L2A items (pystac-client) and saving them.

The saved ItemCollection is what ``read_l2a`` and every config's ``sources:`` take.
Items are saved as the catalog sent them (hrefs unsigned: Planetary Computer hrefs are
signed when read, so that tokens do not expire in the file).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from hrlc.errors import HrlcError, InputError
from hrlc.io.atomic import atomic_output
from hrlc.io.stac_items import item_tile

#: Short names of the public catalogs, for ``--catalog``.
CATALOGS = {
    "earth-search": "https://earth-search.aws.element84.com/v1",
    "planetary-computer": "https://planetarycomputer.microsoft.com/api/stac/v1",
    "cdse": "https://stac.dataspace.copernicus.eu/v1",
}


def catalog_url(catalog: str) -> str:
    """The API root of ``catalog``: a short name of :data:`CATALOGS` or a URL."""
    url = CATALOGS.get(catalog, catalog)
    if not url.startswith(("http://", "https://")):
        raise InputError(f"unknown catalog {catalog!r}; give a STAC API URL or one of "
                         f"{', '.join(CATALOGS)}")
    return url.rstrip("/")


def _tile_query(url: str, tile: str) -> dict:
    """The catalog's own property for the MGRS tile (its items are filtered again here)."""
    if "planetarycomputer" in url:
        return {"s2:mgrs_tile": {"eq": tile}}
    return {"grid:code": {"eq": f"MGRS-{tile}"}}


def check_dates(dates: str) -> str:
    """Validate ``START/END`` (``YYYY-MM-DD``, either end may be ``..``)."""
    parts = dates.split("/")
    try:
        if len(parts) != 2 or parts == ["..", ".."]:
            raise ValueError
        for part in parts:
            if part != "..":
                np.datetime64(part, "D")
    except ValueError:
        raise InputError(f"dates {dates!r}: expected START/END such as "
                         "2021-01-01/2021-12-31 ('..' for an open end)") from None
    return dates


def search_items(catalog: str, collection: str, *, dates: str,
                 bbox: Sequence[float] | None = None, tile: str | None = None,
                 max_cloud: float | None = None, max_items: int | None = None,
                 on_item: Callable[[int], None] | None = None) -> list[dict]:
    """Items of ``collection`` in ``catalog`` over ``bbox`` (lon/lat) or MGRS ``tile``
    between the ``dates``, with cloud cover at most ``max_cloud`` percent.

    Returns
    -------
    list of dict
        The items as the catalog sent them, sorted by datetime.

    Raises
    ------
    InputError
        Neither or both of ``bbox`` and ``tile``, bad dates, pystac-client missing, the
        catalog unreachable or refusing the search (its message is quoted).
    """
    if (bbox is None) == (tile is None):
        raise InputError("give the area as --bbox WEST SOUTH EAST NORTH (lon/lat) or as "
                         "--tile (an MGRS tile such as 30UVD), one of the two")
    try:
        import requests
        from pystac_client import ItemSearch
        from pystac_client.exceptions import APIError
    except ImportError:
        raise HrlcError("searching STAC needs pystac-client; install it with "
                        "'pip install hrlc[stac]'") from None
    url = catalog_url(catalog)
    tile = tile.upper().removeprefix("T") if tile else None
    query = {**(_tile_query(url, tile) if tile else {}),
             **({"eo:cloud_cover": {"lte": max_cloud}} if max_cloud is not None else {})}
    search = ItemSearch(f"{url}/search", collections=[collection], bbox=bbox,
                        datetime=check_dates(dates), query=query or None,
                        max_items=max_items)
    items = []
    try:
        for item in search.items_as_dicts():
            props = item.get("properties", {})
            if tile and item_tile(props) not in (None, tile):
                continue
            cloud = props.get("eo:cloud_cover")
            if max_cloud is not None and cloud is not None and cloud > max_cloud:
                continue
            items.append(item)
            if on_item:
                on_item(len(items))
    except (APIError, requests.RequestException) as exc:
        reason = " ".join(str(exc).split())[:300]
        if getattr(exc, "status_code", None) is None:  # no answer: DNS, refused, timeout
            raise InputError(f"cannot reach {url} ({reason}); check the URL, the network "
                             "and any proxy settings") from None
        raise InputError(f"{url}: the catalog refused the search (HTTP {exc.status_code}: "
                         f"{reason}); check the collection name and options") from None
    return sorted(items, key=lambda i: i.get("properties", {}).get("datetime") or "")


def write_items(items: list[dict], path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Save ``items`` as a GeoJSON ItemCollection, atomically."""
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps({"type": "FeatureCollection", "features": items}, indent=1))
    return Path(path)
