"""Small HTML building blocks of the run report: escaped text, tables, embedded images.

Every value cell carries its exact number in ``data-value`` (the text shows it rounded),
so that a reader or a test can compare the page with the files it was made from.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence
from html import escape


class Html(str):
    """Markup that is already safe: inserted as is, never escaped again."""


def text(value: object) -> Html:
    """``value`` as escaped HTML text."""
    return value if isinstance(value, Html) else Html(escape(str(value), quote=True))


def tag(name: str, *children: object, **attributes: object) -> Html:
    """``<name attr="...">children</name>``; attributes with value None are left out.

    A trailing underscore is dropped from attribute names (``class_`` -> ``class``) and
    other underscores become hyphens (``data_value`` -> ``data-value``).
    """
    attrs = "".join(f' {key.rstrip("_").replace("_", "-")}="{escape(str(value), quote=True)}"'
                    for key, value in attributes.items() if value is not None)
    return Html(f"<{name}{attrs}>" + "".join(text(c) for c in children) + f"</{name}>")


def number(value: float | int | None, *, digits: int = 3, percent: bool = False,
           thousands: bool = False, style: str | None = None) -> Html:
    """A table cell with a number: rounded text, the exact value in ``data-value``.

    ``percent``: ``value`` is a fraction 0-1, shown as a percentage. None and NaN show
    as a dash (no ``data-value``). ``style``: inline CSS of the cell.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return tag("td", "–", class_="num")
    shown = 100 * value if percent else value
    if isinstance(value, int) and not percent:
        label = f"{value:,}" if thousands else str(value)
    else:
        label = f"{shown:,.{digits}f}" if thousands else f"{shown:.{digits}f}"
    return tag("td", label + (" %" if percent else ""), class_="num", data_value=repr(value),
               style=style)


def cell(value: object) -> Html:
    """A table cell: numbers through :func:`number`, ready cells as they are, else text."""
    if isinstance(value, Html) and value.startswith("<td"):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return tag("td", "–" if value is None else value)
    return number(value)


def table(header: Sequence[str], rows: Iterable[Sequence[object]], *, id: str,
          caption: str | None = None) -> Html:
    """An HTML table (in a box that scrolls sideways when too wide); ``rows`` hold values
    or ready ``<td>`` cells (:func:`number`)."""
    head = tag("tr", *(tag("th", h) for h in header))
    body = "".join(tag("tr", *(cell(v) for v in row)) for row in rows)
    return tag("div", tag("table", *([tag("caption", caption)] if caption else []),
                          tag("thead", head), tag("tbody", Html(body)), id=id), class_="scroll")


def image(data: bytes, *, alt: str, id: str | None = None, mime: str = "image/png") -> Html:
    """An ``<img>`` whose source is the image itself (a base64 ``data:`` URI)."""
    uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return Html(f'<img src="{uri}" alt="{escape(alt, quote=True)}"'
                + (f' id="{escape(id, quote=True)}"' if id else "") + ">")


def swatch(colour: str | None) -> Html:
    """A small square of ``colour`` (CSS colour) for legends and class tables."""
    return tag("span", "", class_="swatch", style=f"background:{colour or '#999'}")


def section(id: str, title: str, *body: object) -> Html:
    """A titled section of the page."""
    return tag("section", tag("h2", title), *body, id=id)


def note(message: str) -> Html:
    """A short grey remark (e.g. "stage not run")."""
    return tag("p", message, class_="note")
