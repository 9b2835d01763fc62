"""Comparing two land-cover maps: agreement, cross-tabulation with areas, figures.

Map B is put on map A's grid (nearest neighbour, :func:`hrlc.geo.reproject_match`) when
the grids differ. Pixels that are nodata (0) in either map are left out of every
figure but counted (``nodata_pixels``). The overlap, the share of A's mapped pixels that
B maps too, is always stated; under ``min_overlap`` the comparison is refused (an
agreement over a sliver of A reads like one over the whole map). Everything is computed
chunk by chunk. :func:`comparison_files` builds the files' contents (texts and figures);
:func:`write_comparison` has them written by :func:`hrlc.io.small_files.write_small_files`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hrlc.io.small_files import refuse_existing, write_small_files
from hrlc.mapping.outputs import class_distribution, code_counts
from hrlc.mapping.plots import (class_name, disagreement_figure, distribution_figure,
                                pixel_area_ha)

#: Files written by :func:`write_comparison`.
COMPARE_FILES = {"summary": "summary.json", "per_class": "per_class.csv",
                 "crosstab_pixels": "crosstab_pixels.csv", "crosstab_ha": "crosstab_ha.csv",
                 "distribution_plot": "distribution.png", "disagreement": "disagreement.png"}


@dataclass
class MapComparison:
    """Agreement of map A with map B.

    Attributes
    ----------
    overall_agreement : float
        Share (0-1) of the pixels mapped in both that carry the same code.
    overlap : float
        Share (0-1) of the pixels mapped in A that are mapped in B too (the pixels the
        agreement is computed over).
    mapped_a : int
        Pixels mapped (not nodata) in A.
    per_class : DataFrame
        Per code: ``pixels_a``, ``pixels_b``, ``area_a_ha``, ``area_b_ha``, ``agree_ha``,
        ``agreement_a`` (share of A's class also that class in B), ``agreement_b`` (the
        same seen from B) and ``jaccard`` (agree / union), over pixels mapped in both.
    crosstab : DataFrame
        Pixels, rows = A's codes, columns = B's codes (both mapped).
    pixel_area_ha : float
    nodata_pixels : int
        Pixels left out (nodata in A or B).
    aligned : bool
        Whether B was reprojected onto A's grid.
    agreement_map : DataArray (y, x), uint8
        0 nodata in either map, 1 agree, 2 disagree (lazy).
    distributions : dict label -> DataFrame
        :func:`hrlc.mapping.class_distribution` of A and B over the pixels mapped in both.
    class_table : dict
    """

    overall_agreement: float
    overlap: float
    mapped_a: int
    per_class: pd.DataFrame
    crosstab: pd.DataFrame
    pixel_area_ha: float
    nodata_pixels: int
    aligned: bool
    agreement_map: xr.DataArray
    distributions: dict = field(default_factory=dict)
    class_table: dict = field(default_factory=dict)

    @property
    def crosstab_ha(self) -> pd.DataFrame:
        """The cross-tabulation as areas, hectares."""
        return self.crosstab * self.pixel_area_ha

    def summary(self) -> dict:
        """JSON-ready overview."""
        return {"overall_agreement": self.overall_agreement, "overlap": self.overlap,
                "mapped_a_pixels": self.mapped_a,
                "compared_pixels": int(self.crosstab.to_numpy().sum()),
                "compared_ha": float(self.crosstab.to_numpy().sum() * self.pixel_area_ha),
                "nodata_pixels": self.nodata_pixels, "pixel_area_ha": self.pixel_area_ha,
                "aligned_b_to_a": self.aligned,
                "per_class": self.per_class.to_dict(orient="records")}


def _as_classes(data: xr.DataArray, role: str) -> xr.DataArray:
    from hrlc.errors import InputError

    data = data.squeeze(drop=True)
    if data.ndim != 2:
        raise InputError(f"map {role} must be one (y, x) class layer; got dims {data.dims}")
    if data.dtype != np.uint8:
        raise InputError(f"map {role} must hold uint8 class codes (0 = nodata); got "
                         f"{data.dtype}")
    nodata = data.rio.nodata
    if nodata is not None and not np.isnan(nodata) and nodata != 0:
        # one nodata code for both maps: 0 (a map reprojected elsewhere may use 255)
        data = xr.where(data == nodata, 0, data).astype(np.uint8).rio.write_crs(data.rio.crs)
    data = data.rio.write_nodata(0)
    return data if data.chunks else data.chunk(1024)


def _align(a: xr.DataArray, b: xr.DataArray) -> tuple[xr.DataArray, bool]:
    from hrlc.geo import grid_of, reproject_match

    if grid_of(a, "map A").same_as(grid_of(b, "map B")):
        return b.chunk(dict(zip(b.dims, a.chunks))), False
    return reproject_match(b, a, resampling="nearest"), True


def _check_overlap(compared: int, mapped_a: int, min_overlap: float) -> float:
    from hrlc.errors import InputError

    if compared == 0:
        raise InputError(f"no pixel is mapped in both maps (map A maps {mapped_a} pixels, none "
                         "of them mapped in map B); check that both cover the same area")
    overlap = compared / mapped_a
    if overlap < min_overlap:
        raise InputError(
            f"map B covers only {100 * overlap:.2f} % of the pixels mapped in map A ({compared} "
            f"of {mapped_a}), less than the minimum overlap of {100 * min_overlap:.2f} % "
            f"(--min-overlap {min_overlap:g}): an agreement over that sliver says nothing about "
            "the maps; check that both cover the same area, or lower --min-overlap to compare "
            "the overlap alone")
    return overlap


def compare_maps(a: xr.DataArray, b: xr.DataArray, *, class_table: Mapping | None = None,
                 min_overlap: float = 0.5) -> MapComparison:
    """Agreement, cross-tabulation and class distributions of two class maps.

    Parameters
    ----------
    a, b : DataArray (y, x), uint8, 0 = nodata
        Class maps with a CRS (``rioxarray.open_rasterio(path, chunks=True)``); ``b`` is
        put on ``a``'s grid with nearest-neighbour resampling when the grids differ.
    class_table : mapping code -> {"name", "colour"}, optional
        Names and colours of the codes (figures and tables).
    min_overlap : float, 0-1
        Least share of A's mapped pixels that B must map too (see ``overlap``).

    Returns
    -------
    MapComparison

    Raises
    ------
    InputError
        B maps less than ``min_overlap`` of A's mapped pixels, or none of them.
    ConfigError
        ``min_overlap`` is not a fraction from 0 to 1.
    GridMismatchError
        A map has no CRS, or A's CRS is not projected (areas in ha need metres).
    InputError
        A map is not a single uint8 layer.
    """
    from hrlc.errors import ConfigError

    if not 0 <= min_overlap <= 1:
        raise ConfigError(f"min_overlap (--min-overlap) must be a fraction from 0 to 1, got "
                          f"{min_overlap!r}; e.g. 0.5: B maps at least half of A's pixels")
    a, b = _as_classes(a, "A"), _as_classes(b, "B")
    b, aligned = _align(a, b)
    area = pixel_area_ha(a)
    pair = a.data.astype(np.uint16) * 256 + b.data.astype(np.uint16)
    counts = code_counts(pair, minlength=256 * 256).reshape(256, 256)
    nodata = int(counts[0, :].sum() + counts[:, 0].sum() - counts[0, 0])
    mapped_a = int(counts[1:, :].sum())
    counts[0, :] = 0
    counts[:, 0] = 0
    overlap = _check_overlap(int(counts.sum()), mapped_a, min_overlap)
    codes = sorted(set(np.flatnonzero(counts.sum(1)).tolist())
                   | set(np.flatnonzero(counts.sum(0)).tolist())
                   | {int(c) for c in (class_table or {})})
    table = counts[np.ix_(codes, codes)]
    names = [class_name(class_table or {}, c) for c in codes]
    crosstab = pd.DataFrame(table, index=pd.Index(codes, name="A"),
                            columns=pd.Index(codes, name="B"))
    total = max(int(table.sum()), 1)
    diag = np.diag(table)
    in_a, in_b = table.sum(1), table.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = pd.DataFrame({
            "code": codes, "name": names, "pixels_a": in_a, "pixels_b": in_b,
            "area_a_ha": in_a * area, "area_b_ha": in_b * area, "agree_ha": diag * area,
            "agreement_a": diag / in_a, "agreement_b": diag / in_b,
            "jaccard": diag / (in_a + in_b - diag)})
    both = (a > 0) & (b > 0)
    agreement_map = xr.where(both, xr.where(a == b, 1, 2), 0).astype(np.uint8)
    agreement_map = agreement_map.rio.write_crs(a.rio.crs)
    distributions = {}
    for label, totals in (("A", in_a), ("B", in_b)):
        full = np.zeros(256, np.int64)
        full[codes] = totals
        distributions[label] = class_distribution(a, class_table=class_table, counts=full)
    return MapComparison(overall_agreement=float(diag.sum() / total), overlap=overlap,
                         mapped_a=mapped_a, per_class=per_class,
                         crosstab=crosstab, pixel_area_ha=area, nodata_pixels=nodata,
                         aligned=aligned, agreement_map=agreement_map,
                         distributions=distributions,
                         class_table={int(k): dict(v) for k, v in (class_table or {}).items()})


def comparison_files(result: MapComparison, *, labels: tuple[str, str] = ("A", "B"),
                     ) -> dict[str, Any]:
    """The contents of a comparison's files, by role (see :data:`COMPARE_FILES`): the
    summary JSON and the CSV tables as text, the two PNGs as matplotlib figures.

    ``labels``: the names of map A and map B in the summary and the figures.
    """
    summary = {"A": labels[0], "B": labels[1], **result.summary()}
    named = dict(zip(labels, result.distributions.values()))
    return {
        "summary": json.dumps(summary, indent=2, default=float),
        "per_class": result.per_class.to_csv(index=False, float_format="%.6g"),
        "crosstab_pixels": result.crosstab.to_csv(),
        "crosstab_ha": result.crosstab_ha.to_csv(float_format="%.4f"),
        "distribution_plot": distribution_figure(
            named, class_table=result.class_table,
            title="class distribution (pixels mapped in both)"),
        "disagreement": disagreement_figure(
            result.agreement_map, title=f"{labels[0]} vs {labels[1]}: agreement "
                                        f"{100 * result.overall_agreement:.1f} %")}


def write_comparison(result: MapComparison, folder: str | os.PathLike, *,
                     labels: tuple[str, str] = ("A", "B"), overwrite: bool = False,
                     ) -> dict[str, Path]:
    """Write a comparison: summary JSON, per-class and cross-tab CSVs, two PNGs
    (:func:`comparison_files`, each file atomic).

    Raises
    ------
    OutputExistsError
        One of the files exists and ``overwrite`` is false (before anything is drawn or
        written).

    Returns
    -------
    dict role -> Path (see :data:`COMPARE_FILES`).
    """
    paths = {role: Path(folder) / name for role, name in COMPARE_FILES.items()}
    fix = "pass --overwrite to replace them, or choose another --out folder"
    refuse_existing(paths.values(), overwrite=overwrite, fix=fix)
    return write_small_files(comparison_files(result, labels=labels), paths,
                             overwrite=overwrite)
