"""Training polygons drawn from the land-cover truth, with deliberate defects.

Rectangles of 4-12 pixels a side are placed where the land cover is a single class
(checked pixel by pixel), up to ``per_class`` per class and never touching each other.
Then, as in real reference data:

- a share ``mislabelled`` get a wrong ``class`` (``mislabelled=True``; ``true_class`` keeps
  the truth);
- a share ``overlapping`` get a twin shifted by half its size, labelled with the class
  most of its own pixels have; both are flagged ``overlapping=True``.

Only a few windows of the tile are rendered (one on each town, others at random), so
this stays cheap for a full tile.
"""

from __future__ import annotations

import numpy as np

from hrlc.simulate.noise import derive_seed
from hrlc.simulate.scene import SceneContext, render_static

_SHAPES = ((4, 6), (6, 6), (8, 5), (9, 9), (12, 8), (7, 12))
_WINDOW = 256
_GAP = 2  # pixels between polygons


def _windows(context: SceneContext, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    size = context.size
    side = min(size, _WINDOW)
    if side == size:
        return [(0, 0, size, size)]
    corners = [(r - side / 2, c - side / 2) for r, c, _ in context.landscape.towns]
    extra = int(np.clip(np.ceil((size / side) ** 2 * 0.15), 2, 24))
    corners += list(rng.uniform(0, size - side, (extra, 2)))
    return [(int(np.clip(r, 0, size - side)), int(np.clip(c, 0, size - side)), side, side)
            for r, c in corners]


def _pure_boxes(codes: np.ndarray, code: int, height: int, width: int) -> np.ndarray:
    """Top-left (row, col) of every height x width box holding only ``code``."""
    inside = np.pad((codes == code).astype(np.int32), ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    box = (inside[height:, width:] - inside[:-height, width:] - inside[height:, :-width]
           + inside[:-height, :-width])
    return np.argwhere(box == height * width)


def _majority(context: SceneContext, box: tuple[int, int, int, int]) -> int:
    codes = render_static(context, box)["landcover"]
    values, counts = np.unique(codes, return_counts=True)
    return int(values[np.argmax(counts)])


def training_polygons(context: SceneContext, *, class_table, crs, transform, per_class: int,
                      mislabelled: float, overlapping: float):
    """Rectangular training polygons in the tile CRS.

    Parameters
    ----------
    context : SceneContext of the series
    class_table : ClassTable
    crs, transform
        Georeferencing of the 10 m grid.
    per_class : int
        Polygons wanted per class (fewer where a class is rare in the sampled windows).
    mislabelled, overlapping : float
        Shares of the polygons to mislabel, and to give an overlapping twin.

    Returns
    -------
    GeoDataFrame
        Columns ``id``, ``class`` (code), ``class_name``, ``true_class``, ``mislabelled``,
        ``overlapping``, ``geometry`` (Polygon); CRS of the tile.
    """
    import geopandas as gpd
    from shapely.geometry import box as shapely_box

    rng = np.random.default_rng(derive_seed(context.seed, "polygons"))
    candidates: dict[int, list[tuple[int, int, int, int]]] = {c: [] for c in class_table.codes}
    for window in _windows(context, rng):
        codes = render_static(context, window)["landcover"]
        for code in candidates:
            height, width = _SHAPES[rng.integers(len(_SHAPES))]
            if height > codes.shape[0] or width > codes.shape[1]:
                continue
            for r, c in _pure_boxes(codes, code, height, width):
                candidates[code].append((window[0] + r, window[1] + c, height, width))

    taken = np.zeros((context.size + 1, context.size + 1), bool) if context.size <= 4096 else None
    chosen: list[dict] = []
    boxes: list[tuple[int, int, int, int]] = []
    for code, options in candidates.items():
        count = 0
        for k in rng.permutation(len(options)):
            r, c, h, w = options[k]
            if not _free(r, c, h, w, taken, boxes):
                continue
            boxes.append((r, c, h, w))
            if taken is not None:
                taken[max(r - _GAP, 0): r + h + _GAP, max(c - _GAP, 0): c + w + _GAP] = True
            chosen.append({"box": (r, c, h, w), "class": code, "true_class": code,
                           "mislabelled": False, "overlapping": False})
            count += 1
            if count >= per_class:
                break

    codes = class_table.codes
    for k in rng.permutation(len(chosen))[: int(round(mislabelled * len(chosen)))]:
        wrong = [c for c in codes if c != chosen[k]["true_class"]]
        chosen[k]["class"] = int(rng.choice(wrong))
        chosen[k]["mislabelled"] = True
    twins = []
    for k in rng.permutation(len(chosen))[: int(round(overlapping * len(chosen)))]:
        r, c, h, w = chosen[k]["box"]
        shifted = (min(r + h // 2, context.size - h), min(c + w // 2, context.size - w), h, w)
        truth = _majority(context, shifted)
        chosen[k]["overlapping"] = True
        twins.append({"box": shifted, "class": truth, "true_class": truth,
                      "mislabelled": False, "overlapping": True})

    records = chosen + twins
    geometry = [_rectangle(rec["box"], transform, shapely_box) for rec in records]
    return gpd.GeoDataFrame({
        "id": np.arange(1, len(records) + 1),
        "class": [int(rec["class"]) for rec in records],
        "class_name": [class_table.name(rec["class"]) for rec in records],
        "true_class": [int(rec["true_class"]) for rec in records],
        "mislabelled": [rec["mislabelled"] for rec in records],
        "overlapping": [rec["overlapping"] for rec in records],
    }, geometry=geometry, crs=crs)


def _free(r: int, c: int, h: int, w: int, taken: np.ndarray | None,
          boxes: list[tuple[int, int, int, int]]) -> bool:
    if taken is not None:
        return not taken[r: r + h, c: c + w].any()
    return all(r + h + _GAP <= br or br + bh + _GAP <= r or c + w + _GAP <= bc
               or bc + bw + _GAP <= c for br, bc, bh, bw in boxes)


def _rectangle(box: tuple[int, int, int, int], transform, shapely_box):
    r, c, h, w = box
    x0, y0 = transform @ (c, r)
    x1, y1 = transform @ (c + w, r + h)
    return shapely_box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
