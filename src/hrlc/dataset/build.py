"""The training sample table: labels -> pixels -> strategy -> split -> features.

``build_dataset(cube, classes=..., polygons=..., lc_maps=[(lc, mapping)],
**DatasetConfig(...).model_dump())`` returns ``(table, metadata)``; see
:mod:`hrlc.dataset` for the table's columns and the strategies.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from hrlc.dataset.blocks import assign_split, block_ids, block_pixels
from hrlc.dataset.classes import ClassTable, LCMapping
from hrlc.dataset.extract import extract_features
from hrlc.dataset.labels import to_pyproj
from hrlc.dataset.lcmap import Exclusion, lc_classes, merge_by_priority, sample_lc
from hrlc.dataset.rasterize import rasterize_labels
from hrlc.dataset.summary import check_classes, count_table
from hrlc.errors import ConfigError, InputError
from hrlc.geo import grid_of
from hrlc.io.grid import Grid
from hrlc.io.vectors import SAMPLE_COLUMNS

STRATEGIES = ("standard", "enhanced", "fulllc")
#: Leading columns of the sample table, in order (then one column per feature).
COLUMNS = tuple(SAMPLE_COLUMNS)


class DatasetWarning(UserWarning):
    """Something in the labels deserves a look (also listed in ``metadata["warnings"]``)."""


def _sources(strategy: str, polygons, lc_maps, note: Callable[[str], None]) -> tuple[bool, bool]:
    """Which sources a strategy uses; errors for missing ones."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    has_poly, has_lc = polygons is not None, bool(lc_maps)
    if strategy in ("standard", "enhanced") and not has_poly:
        raise ConfigError(f"strategy {strategy!r} samples annotated polygons; give polygons "
                          "(or use 'fulllc' to sample land-cover maps only)")
    if strategy in ("enhanced", "fulllc") and not has_lc:
        raise ConfigError(f"strategy {strategy!r} samples land-cover maps; give lc_maps "
                          "(or use 'standard' for polygons only)")
    if strategy == "standard" and has_lc:
        note("strategy 'standard' uses polygons only: the land-cover maps are ignored")
    return has_poly, has_lc and strategy != "standard"


def _cap(pixels: pd.DataFrame, caps: Mapping[int, int | None],
         rng: np.random.Generator) -> tuple[pd.DataFrame, dict[int, int]]:
    """At most ``caps[class]`` random pixels per class (order kept); counts removed."""
    keep = np.ones(len(pixels), bool)
    removed = {}
    for code, index in pixels.groupby("class").indices.items():
        cap = caps.get(int(code))
        if cap is not None and len(index) > cap:
            drop = rng.choice(index, len(index) - cap, replace=False)
            keep[drop] = False
            removed[int(code)] = len(drop)
    return pixels[keep].reset_index(drop=True), removed


def _polygon_pixels(polygons: gpd.GeoDataFrame, classes: ClassTable, grid: Grid, *,
                    all_touched: bool, note: Callable[[str], None]) -> tuple[pd.DataFrame, dict]:
    missing = [c for c in ("class", "polygon_id") if c not in polygons.columns]
    if missing:
        raise InputError(f"polygons lack columns {missing}; label them with "
                         "hrlc.dataset.polygon_labels")
    if polygons.empty:
        raise InputError("no labelled polygons or points; check the vector file")
    classes.resolve(polygons["class"].unique().tolist(), what="polygon classes")
    if polygons.crs is None:
        raise InputError("the polygons have no CRS; set one so they can be reprojected")
    if not to_pyproj(polygons.crs).equals(to_pyproj(grid.crs)):
        polygons = polygons.to_crs(to_pyproj(grid.crs))
    pixels, diag = rasterize_labels(polygons, grid, all_touched=all_touched)
    if pixels.empty:
        raise InputError(f"none of the {len(polygons)} labelled geometries covers a pixel of "
                         f"the feature grid ({grid.describe()}); check their CRS and extent")
    if diag["outside"]:
        more = " ..." if len(diag["outside"]) > 10 else ""
        note(f"{len(diag['outside'])} of {len(polygons)} geometries lie outside the feature "
             f"grid (polygon ids {diag['outside'][:10]}{more})")
    if diag["without_pixels"]:
        note(f"{len(diag['without_pixels'])} geometries cover no pixel centre (too small or "
             f"thin; ids {diag['without_pixels'][:10]}); set all_touched to keep them")
    if diag["conflict_pixels"]:
        note(f"{diag['conflict_pixels']} pixels are claimed by polygons of different classes "
             "and were dropped")
    return pixels, diag


def _check_nan(samples: pd.DataFrame, values: np.ndarray, features: xr.DataArray,
               classes: ClassTable, diagnostics: dict, note: Callable[[str], None], *,
               drop: bool) -> np.ndarray:
    """Rows to keep; counts NaN pixels per class/source and per feature."""
    bad = ~np.isfinite(values)
    rows_bad = bad.any(axis=1)
    per_feature = {str(f): int(n) for f, n in zip(features["feature"].values, bad.sum(axis=0))
                   if n}
    per_class = samples[rows_bad].groupby(["class", "source"]).size()
    # accumulated over the sources (polygons, then maps), each checked before its split
    nan = diagnostics.setdefault("nan", {"pixels": 0, "dropped": bool(drop),
                                         "per_feature": {}, "per_class": {}})
    nan["pixels"] += int(rows_bad.sum())
    for name, n in per_feature.items():
        nan["per_feature"][name] = nan["per_feature"].get(name, 0) + n
    for (c, s), n in per_class.items():
        nan["per_class"][f"{classes.name_of(c)}/{s}"] = int(n)
    if rows_bad.any():
        worst = sorted(per_feature.items(), key=lambda kv: -kv[1])[:3]
        note(f"{int(rows_bad.sum())} of {len(samples)} sampled pixels have NaN features "
             f"(most in {', '.join(f'{k} ({v})' for k, v in worst)})"
             + ("; dropped" if drop else "; kept (drop_nan=False)"))
    return ~rows_bad if drop else np.ones(len(samples), bool)


def _finite(samples: pd.DataFrame, features: xr.DataArray, classes: ClassTable,
            diagnostics: dict, note: Callable[[str], None],
            drop: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """The samples' feature values (computing only the chunks that hold them), rows with
    NaN features dropped (or kept) and counted."""
    values = extract_features(features, samples["row"].to_numpy(), samples["col"].to_numpy())
    keep = _check_nan(samples, values, features, classes, diagnostics, note, drop=drop)
    return samples[keep].reset_index(drop=True), values[keep]


def _no_map_pixels(strategy: str, use_poly: bool, note: Callable[[str], None]) -> None:
    message = "the land-cover maps gave no eligible pixel"
    if use_poly:
        held = "evaluation polygons" if strategy == "fulllc" else "test samples"
        message += (f" outside polygon pixels and blocks holding {held} (a map rasterised "
                    "from the same polygons has none)")
    else:
        message += " (only no-data or ignored codes, or an erosion wider than the classes)"
    if strategy == "fulllc":
        raise InputError(message + "; strategy 'fulllc' has nothing to train on: use smaller "
                         "blocks, fewer evaluation polygons or another map")
    note(message)


def _with_blocks(pixels: pd.DataFrame, *, block_px: int, width: int, source: str) -> pd.DataFrame:
    return pixels.assign(block=block_ids(pixels["row"], pixels["col"], block_px=block_px,
                                         width=width), source=source)


def build_dataset(
    features: xr.DataArray,
    *,
    classes: ClassTable,
    polygons: gpd.GeoDataFrame | None = None,
    lc_maps: Sequence[tuple[xr.DataArray, LCMapping]] = (),
    strategy: str = "standard",
    all_touched: bool = False,
    max_per_class: int | Mapping[str | int, int] | None = None,
    min_per_class: int = 50,
    min_polygons_per_class: int = 3,
    drop_small_classes: bool = False,
    lc_per_class: int | Mapping[str | int, int] = 1000,
    lc_erosion: int = 0,
    block_size: float = 1000.0,
    split_by: str = "block",
    test_fraction: float = 0.3,
    drop_nan: bool = True,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict]:
    """Sample labelled pixels and their features: the training table of the classifier.

    Parameters
    ----------
    features : DataArray (feature, y, x) float32
        The feature cube with its CRS; only the chunks that hold samples are computed.
    classes : ClassTable
        Codes, names and colours of the classes.
    polygons : GeoDataFrame, optional
        Labelled polygons and/or points (``class`` code, ``polygon_id``, geometry in any
        CRS), e.g. from :func:`hrlc.dataset.polygon_labels`.
    lc_maps : sequence of (DataArray (y, x), LCMapping)
        Existing land-cover rasters (any CRS, put on the grid with nearest) and the
        mapping of their codes; several maps are merged by priority (first wins).
    strategy : {"standard", "enhanced", "fulllc"}
        ``standard``: polygons only, split train/test by block. ``enhanced``: polygons
        (split train/test) plus ``lc_per_class`` map pixels per class for training, drawn
        outside polygon pixels and outside blocks holding test samples. ``fulllc``: map
        pixels only for train/test (split by block); polygon pixels are the ``eval`` set,
        and map pixels are never drawn in blocks that hold polygon pixels.
    all_touched : bool
        Rasterise every pixel a polygon touches (default: pixel centres inside).
    max_per_class : int or mapping class -> int, optional
        Cap of polygon pixels per class (random, seeded); also caps map pixels.
    min_per_class : int
        Classes with fewer train + test samples are reported (and dropped if
        ``drop_small_classes``).
    min_polygons_per_class : int
        Classes labelled by fewer polygons are reported.
    drop_small_classes : bool
        Remove classes below ``min_per_class`` from the table.
    lc_per_class : int or mapping class -> int
        Pixels drawn from the maps per class (``enhanced``, ``fulllc``).
    lc_erosion : int
        Draw map pixels at least this many pixels away from another class (px).
    block_size : float
        Side of the square spatial blocks (m).
    split_by : {"block", "polygon"}
        Unit of the train/test split (see :func:`hrlc.dataset.assign_split`).
    test_fraction : float
        Share of samples per class in the test set, 0 <= f < 1.
    drop_nan : bool
        Drop pixels with any NaN feature (counted per class and feature); keep them
        when the classifier imputes.
    seed : int
        Seed of every random choice (caps, map draws, split).

    Returns
    -------
    (DataFrame, dict)
        The sample table, columns ``x, y`` (pixel centre, grid CRS), ``row, col``,
        ``class``, ``class_name``, ``polygon_id`` (-1 for map samples), ``source``
        (``polygon``/``lcmap``), ``block``, ``split`` (``train``/``test``/``eval``), then
        one float32 column per feature. Pixels with any NaN feature are counted,
        and dropped unless ``drop_nan=False``. The metadata holds the class table,
        CRS, grid, block size, strategy, seed, feature names, options, counts,
        diagnostics and warnings.

    Raises
    ------
    ConfigError
        Unknown strategy, a source the strategy needs is missing, unknown classes or
        land-cover codes (naming the mapping file).
    InputError
        No polygon overlaps the grid, polygons without CRS or labels.
    """
    notes: list[str] = []

    def note(message: str) -> None:
        notes.append(message)
        warnings.warn(message, DatasetWarning, stacklevel=3)

    use_poly, use_lc = _sources(strategy, polygons, lc_maps, note)
    grid = grid_of(features, "the feature cube", north_up=True)
    block_px = block_pixels(block_size, grid.resolution)
    width = grid.shape[1]
    cap_seed, split_seed, lc_seed, lc_split_seed = np.random.SeedSequence(seed).spawn(4)
    caps = classes.per_class(max_per_class, what="max_per_class")
    diagnostics: dict = {}
    parts = []
    exclusion = None
    if use_poly:
        pixels, diagnostics["rasterize"] = _polygon_pixels(
            polygons, classes, grid, all_touched=all_touched, note=note)
        diagnostics["labels"] = polygons.attrs.get("diagnostics", {})
        all_pixels = _with_blocks(pixels, block_px=block_px, width=width, source="polygon")
        poly, diagnostics["capped"] = _cap(all_pixels, caps, np.random.default_rng(cap_seed))
        # NaN pixels are dropped before the split, so that the split's guarantee (no class
        # without training samples) holds for the rows that are kept
        poly, poly_values = _finite(poly, features, classes, diagnostics, note, drop_nan)
        if strategy == "fulllc":
            poly["split"] = "eval"
            held_out = np.unique(all_pixels["block"])
        else:
            poly["split"] = assign_split(poly, test_fraction=test_fraction, seed=split_seed,
                                         by=split_by)
            held_out = np.unique(poly.loc[poly["split"] == "test", "block"])
        parts.append((poly, poly_values))
        exclusion = Exclusion(width=width, block_px=block_px,
                              pixels=np.unique(all_pixels["row"] * width + all_pixels["col"]),
                              blocks=held_out.astype(np.int64))
    if use_lc:
        on_grid = merge_by_priority([lc_classes(lc, mapping=mapping, classes=classes,
                                                like=features) for lc, mapping in lc_maps])
        wanted = classes.per_class(lc_per_class, what="lc_per_class")
        quotas = {c: min(v for v in (wanted[c], caps[c]) if v is not None)
                  for c in classes.codes if wanted[c] is not None or caps[c] is not None}
        drawn, diagnostics["lc_available"] = sample_lc(
            on_grid, quotas=quotas, erosion=lc_erosion, exclusion=exclusion, seed=lc_seed)
        if drawn.empty:
            _no_map_pixels(strategy, use_poly, note)
        drawn = _with_blocks(drawn.assign(polygon_id=-1), block_px=block_px, width=width,
                             source="lcmap")
        drawn, drawn_values = _finite(drawn, features, classes, diagnostics, note, drop_nan)
        drawn["split"] = (assign_split(drawn, test_fraction=test_fraction, seed=lc_split_seed,
                                       by=split_by) if strategy == "fulllc" else "train")
        parts.append((drawn, drawn_values))
    samples = pd.concat([p for p, _ in parts], ignore_index=True)
    values = np.concatenate([v for _, v in parts])
    if test_fraction > 0 and strategy != "fulllc" and not (samples["split"] == "test").any():
        note(f"no test samples: the {len(poly)} polygon samples form a single group of blocks "
             "(polygons spanning several blocks join them); use split_by='polygon' or "
             "another block_size")
    table = _assemble(samples, values, features, classes)
    table = check_classes(table, classes, min_per_class=min_per_class,
                          min_polygons=min_polygons_per_class if use_poly else 0,
                          drop_small=drop_small_classes, test_fraction=test_fraction,
                          note=note)
    metadata = _metadata(table, features, grid, classes, diagnostics, notes, dict(
        strategy=strategy, all_touched=all_touched, max_per_class=max_per_class,
        min_per_class=min_per_class, min_polygons_per_class=min_polygons_per_class,
        drop_small_classes=drop_small_classes, lc_per_class=lc_per_class,
        lc_erosion=lc_erosion, block_size=block_size, split_by=split_by,
        test_fraction=test_fraction, drop_nan=drop_nan, seed=seed), block_px)
    return table, metadata


def _assemble(samples: pd.DataFrame, values: np.ndarray, features: xr.DataArray,
              classes: ClassTable) -> pd.DataFrame:
    rows, cols = samples["row"].to_numpy(np.int64), samples["col"].to_numpy(np.int64)
    codes = samples["class"].to_numpy(np.int64)
    names = {c: classes.name_of(c) for c in np.unique(codes)}
    head = pd.DataFrame({
        "x": np.asarray(features["x"].values, np.float64)[cols],
        "y": np.asarray(features["y"].values, np.float64)[rows],
        "row": rows, "col": cols, "class": codes,
        "class_name": pd.array([names[c] for c in codes], dtype="str"),
        "polygon_id": samples["polygon_id"].to_numpy(np.int64),
        "source": pd.array(samples["source"].to_numpy(), dtype="str"),
        "block": samples["block"].to_numpy(np.int64),
        "split": pd.array(samples["split"].to_numpy(), dtype="str"),
    })
    names_f = [str(f) for f in features["feature"].values]
    body = pd.DataFrame(values, columns=names_f).astype(np.float32)
    return pd.concat([head, body], axis=1)


def _metadata(table: pd.DataFrame, features: xr.DataArray, grid: Grid, classes: ClassTable,
              diagnostics: dict, notes: list[str], options: dict, block_px: int) -> dict:
    from hrlc import __version__

    crs = to_pyproj(grid.crs)
    return {
        "hrlc_version": __version__,
        "strategy": options["strategy"],
        "seed": options["seed"],
        "classes": classes.to_records(),
        "crs": {"wkt": crs.to_wkt(), "epsg": crs.to_epsg()},
        "transform": list(grid.transform)[:6],
        "shape": list(grid.shape),
        "resolution": grid.resolution,
        "block_size": options["block_size"],
        "block_size_px": block_px,
        "features": [str(f) for f in features["feature"].values],
        "options": options,
        "counts": count_table(table).to_dict(orient="records"),
        "diagnostics": diagnostics,
        "warnings": notes,
    }
