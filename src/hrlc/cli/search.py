"""``hrlc search``: find Sentinel-2 L2A items in a STAC catalog and save them."""

from __future__ import annotations

from pathlib import Path

import typer

from hrlc.cli.options import Overwrite


def search(
    out: Path = typer.Option(..., "--output", "-o", "--out",
                             help="ItemCollection to write (.json)."),
    catalog: str = typer.Option(
        "earth-search", "--catalog",
        help="STAC API URL, or earth-search, planetary-computer, cdse."),
    collection: str = typer.Option(
        "sentinel-2-l2a", "--collection",
        help="Collection id (Earth Search: sentinel-2-l2a or sentinel-2-c1-l2a)."),
    bbox: tuple[float, float, float, float] | None = typer.Option(
        None, "--bbox", metavar="W S E N", help="Area in longitude/latitude."),
    tile: str | None = typer.Option(None, "--tile", help="MGRS tile, e.g. 30UVD."),
    dates: str = typer.Option(..., "--dates", help="START/END, e.g. 2021-01-01/2021-12-31."),
    max_cloud: float | None = typer.Option(None, "--max-cloud", min=0, max=100,
                                           help="Largest scene cloud cover, percent."),
    max_items: int | None = typer.Option(None, "--max-items", min=1,
                                         help="Stop after this many items."),
    overwrite: bool = Overwrite,
) -> None:
    """Search a STAC catalog for L2A items and save them as an ItemCollection that
    [bold]read_l2a[/], [bold]hrlc info[/] and every config's [bold]sources:[/] take.

    Example: [bold]hrlc search --catalog earth-search --collection sentinel-2-c1-l2a
    --tile 30UVD --dates 2021-01-01/2021-12-31 --max-cloud 60 --out items.json[/]

    Hrefs are read remotely through GDAL (/vsicurl/, /vsis3/); Planetary Computer hrefs
    are signed when read if the planetary-computer package is installed
    (pip install hrlc\\[stac]). See docs/read.md.
    """
    from rich.console import Console
    from rich.table import Table

    from hrlc.io.stac_search import catalog_url, search_items, write_items

    console = Console(stderr=True, soft_wrap=True)
    url = catalog_url(catalog)
    with console.status(f"searching {url} ...") as status:
        items = search_items(catalog, collection, dates=dates, bbox=bbox, tile=tile,
                             max_cloud=max_cloud, max_items=max_items,
                             on_item=lambda n: status.update(f"searching {url}: {n} items"))
    if not items:
        from hrlc.errors import InputError

        raise InputError(f"{url}: no {collection} item matches; widen the dates, the area "
                         "or --max-cloud")
    write_items(items, out, overwrite=overwrite)
    table = Table(title=f"{len(items)} items of {collection} -> {out}", title_justify="left")
    for column in ("date", "tile", "cloud %", "id"):
        table.add_column(column)
    from hrlc.io.stac_items import item_tile

    for item in items:
        props = item.get("properties", {})
        cloud = props.get("eo:cloud_cover")
        table.add_row(str(props.get("datetime", ""))[:19], item_tile(props) or "-",
                      "-" if cloud is None else f"{cloud:.1f}", str(item.get("id")))
    Console().print(table)
