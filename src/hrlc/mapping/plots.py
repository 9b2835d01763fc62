"""Figures of class maps: quick-looks with legend and scale bar, distribution bars.

Shared by the map outputs and the map comparison. Every function returns a matplotlib
``Figure`` (no pyplot state); :func:`hrlc.io.small_files.write_figure` writes it as PNG.
Images are drawn from a decimated copy of the map (every n-th pixel, i.e. nearest
neighbour), never from the whole tile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with hrlc.mapping
    from matplotlib.figure import Figure

#: Colours of classes without one in the class table (matplotlib's tab20).
_FALLBACK = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
             "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896"]


def class_colours(class_table: Mapping, codes: Sequence[int]) -> dict[int, tuple[int, int, int]]:
    """code -> (r, g, b) 0-255 from a class table (code -> {"colour": "#rrggbb", ...})."""
    out = {}
    for i, code in enumerate(codes):
        colour = (class_table.get(int(code)) or {}).get("colour") or _FALLBACK[i % len(_FALLBACK)]
        colour = colour.lstrip("#")
        out[int(code)] = tuple(int(colour[k:k + 2], 16) for k in (0, 2, 4))
    return out


def class_name(class_table: Mapping, code: int) -> str:
    return str((class_table.get(int(code)) or {}).get("name", code))


def pixel_area_ha(data: xr.DataArray) -> float:
    """Area of one pixel of a projected (y, x) array, hectares."""
    from hrlc.errors import GridMismatchError

    crs = data.rio.crs
    if crs is None or not crs.is_projected:
        raise GridMismatchError(f"areas need a projected CRS (metres); the map's CRS is {crs}; "
                                "reproject the map to a UTM zone first")
    metres = crs.linear_units_factor[1]
    t = data.rio.transform(recalc=True)
    return abs(t.a * t.e - t.b * t.d) * metres**2 / 1e4


def _figure(small: xr.DataArray, *, title: str | None, extra_height: float = 0.0):
    from matplotlib.figure import Figure

    aspect = small.sizes["y"] / max(small.sizes["x"], 1)
    fig = Figure(figsize=(9, 7 * aspect + 0.8 + extra_height))
    ax = fig.add_subplot()
    if title:
        ax.set_title(title)
    return fig, ax


def _extent(small: xr.DataArray) -> tuple[float, float, float, float]:
    x, y = small["x"].values, small["y"].values
    dx = abs(x[1] - x[0]) if len(x) > 1 else 1.0
    dy = abs(y[1] - y[0]) if len(y) > 1 else 1.0
    return (x.min() - dx / 2, x.max() + dx / 2, y.min() - dy / 2, y.max() + dy / 2)


def scale_bar(ax, extent: tuple[float, float, float, float], *, unit_metres: float = 1.0) -> None:
    """A black-and-white scale bar of a round length (about a fifth of the width)."""
    from matplotlib.patches import Rectangle

    width = (extent[1] - extent[0]) * unit_metres
    target = width / 5
    magnitude = 10 ** math.floor(math.log10(target))
    length = max(s * magnitude for s in (1, 2, 5) if s * magnitude <= target)
    x0 = extent[0] + 0.05 * (extent[1] - extent[0])
    y0 = extent[2] + 0.05 * (extent[3] - extent[2])
    span = length / unit_metres
    height = 0.012 * (extent[3] - extent[2])
    for k, colour in enumerate(("black", "white")):
        ax.add_patch(Rectangle((x0 + k * span / 2, y0), span / 2, height, facecolor=colour,
                               edgecolor="black"))
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x0 + span / 2, y0 + 2 * height, label, ha="center", va="bottom",
            bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none"})


def _rgb(codes: np.ndarray, colours: Mapping[int, tuple[int, int, int]],
         nodata_rgb=(255, 255, 255)) -> np.ndarray:
    lut = np.tile(np.array(nodata_rgb, np.uint8), (256, 1))
    for code, rgb in colours.items():
        lut[code] = rgb
    return lut[codes]


def _legend(ax, entries: Sequence[tuple[str, tuple[int, int, int]]]) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=np.array(rgb) / 255, edgecolor="black", label=label)
               for label, rgb in entries]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)


def classes_figure(classes: xr.DataArray, *, class_table: Mapping, title: str | None = None,
                   max_side: int = 1500) -> Figure:
    """Quick-look of a (y, x) uint8 class map (0 = nodata, white): class colours, legend,
    scale bar, easting/northing axes; drawn from at most ``max_side`` px a side."""
    from hrlc.io.quicklook import decimate

    small = decimate(classes, max_side).compute()
    codes = np.asarray(small.values).astype(np.uint8)
    present = sorted(set(np.unique(codes).tolist()) - {0} | set(class_table))
    colours = class_colours(class_table, present)
    fig, ax = _figure(small, title=title)
    extent = _extent(small)
    ax.imshow(_rgb(codes, colours), extent=extent, interpolation="nearest")
    _legend(ax, [(f"{c} {class_name(class_table, c)}", colours[c]) for c in present])
    scale_bar(ax, extent, unit_metres=_unit(classes))
    _coordinate_axes(ax)
    fig.tight_layout()
    return fig


def _coordinate_axes(ax) -> None:
    """Easting/northing labels with whole coordinates (no "1e6" offset above the axis)."""
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.set_xlabel("easting")
    ax.set_ylabel("northing")


def disagreement_figure(agree: xr.DataArray, *, title: str | None = None,
                        max_side: int = 1500) -> Figure:
    """Where two maps agree (grey), disagree (red) or either is nodata (white).

    ``agree``: (y, x) uint8, 0 nodata, 1 agree, 2 disagree.
    """
    from hrlc.io.quicklook import decimate

    small = decimate(agree, max_side).compute()
    colours = {1: (200, 200, 200), 2: (215, 25, 28)}
    fig, ax = _figure(small, title=title)
    extent = _extent(small)
    ax.imshow(_rgb(np.asarray(small.values).astype(np.uint8), colours), extent=extent,
              interpolation="nearest")
    _legend(ax, [("agree", colours[1]), ("disagree", colours[2])])
    scale_bar(ax, extent, unit_metres=_unit(agree))
    _coordinate_axes(ax)
    fig.tight_layout()
    return fig


def _unit(data: xr.DataArray) -> float:
    crs = data.rio.crs
    return crs.linear_units_factor[1] if crs is not None and crs.is_projected else 1.0


def distribution_figure(tables: Mapping[str, pd.DataFrame], *, class_table: Mapping,
                        title: str = "class distribution") -> Figure:
    """Bar chart of the area share (%) per class; several maps side by side.

    ``tables``: map label -> :func:`hrlc.mapping.class_distribution` table.
    """
    from matplotlib.figure import Figure

    codes = sorted({int(c) for t in tables.values() for c in t["code"]})
    colours = class_colours(class_table, codes)
    fig = Figure(figsize=(max(6, 1.2 * len(codes) * len(tables)), 4.5))
    ax = fig.add_subplot()
    width = 0.8 / len(tables)
    positions = np.arange(len(codes))
    for k, (label, table) in enumerate(tables.items()):
        share = table.set_index("code")["percent"].reindex(codes).fillna(0).to_numpy()
        bars = ax.bar(positions + (k - (len(tables) - 1) / 2) * width, share, width,
                      color=[np.array(colours[c]) / 255 for c in codes], edgecolor="black",
                      hatch=["", "//", "..", "xx"][k % 4], label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(positions, [class_name(class_table, c) for c in codes], rotation=30,
                  ha="right")
    ax.set_ylabel("share of the mapped area (%)")
    ax.set_title(title)
    if len(tables) > 1:
        ax.legend()
    fig.tight_layout()
    return fig
