"""The contract every stage keeps (STYLE.md house rule 1), checked on every public stage.

For each public function of the stage packages that takes xarray inputs (found in their
``__all__``), on a small simulated season (``hrlc.simulate``, 48 x 48 px, 12 dates):

(a) lazy: called on dask-backed inputs it computes nothing and returns dask arrays;
(b) chunk-invariant: two chunkings (16 px with time and band in chunks of 1, and uneven
    spatial chunks smaller than some halos) and the in-memory inputs give the same
    result, bit for bit unless the case says ``rtol`` (float32 rounding, where sums over
    blocks change order with the chunking);
(c) the inputs (values, coords, attrs) are unchanged after the computed call;
(d) every (y, x) output carries the input's y/x coords, CRS and the attrs named.

Stages that fit on the whole tile (cloud clusters, C factors, shadow statistics, the
cast-shadow relief) are called with their fitted values, as their docstrings say to
stay lazy; the fits themselves compute by design and are not stages here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import dask
import numpy as np
import pytest
import xarray as xr

from hrlc import composite, dataset, features, mapping, masks, restore
from hrlc import testing as contract
from tests.mapping.conftest import _train, cube_from
from tests.model.conftest import make_samples

SIZE = 48
#: One feature or two of each family (bands, indices incl. SOBEL, statistics, GLCM, terrain).
FEATURES = {"bands": ["B04", "B08"], "indices": ["NDVI", "SOBEL"], "index_statistics": ["std"],
            "glcm_window": 5, "glcm_textures": ["contrast", "entropy"]}
CHUNKINGS = {"small": {"time": 1, "band": 1, "feature": 1, "y": 16, "x": 16},
             "uneven": {"y": (20, 28), "x": (9, 30, 9)}}


@pytest.fixture(scope="session")
def world() -> dict[str, Any]:
    """The inputs of every stage, in memory: a simulated season and what the stages and
    fits make of it (computed once)."""
    from hrlc.simulate import simulate_series

    series = simulate_series(size=SIZE, dates=12, seed=3, chunks=SIZE, interval_days=10)
    refl, scl, dem = dask.compute(series.reflectance, series.scl, series.dem)
    cloud = masks.scl_to_mask(scl).compute()
    composites = composite.monthly_composite(refl, cloud).compute()["reflectance"]
    relief = features.terrain(dem).compute()
    slope, aspect = (relief.sel(feature=f, drop=True) for f in ("slope", "aspect"))
    sun = {"sun_zenith": composites["sun_zenith"], "sun_azimuth": composites["sun_azimuth"]}
    shadow = restore.terrain_shadow(dem, slope, aspect, **sun).compute()
    # the C factors and shadow statistics of the chain, whose terrain shadow is `shadow`
    fitted = restore.fit_restoration(composites, slope, aspect, dem)
    topo = restore.correct_topography(composites, slope, aspect, fitted.c, shadow).compute()
    cube = features.build_features(composites, dem=dem, **FEATURES).compute()
    table = make_samples(600 + SIZE * SIZE, n_classes=4, seed=1, n_noise=2).sample(
        frac=1, random_state=0).reset_index(drop=True)
    names = [c for c in table.columns if c.startswith(("f", "dup_", "near_"))]
    rng = np.random.default_rng(0)
    return {
        "reflectance": refl, "scl": scl, "dem": dem, "clear": cloud == 0,
        "clusters": masks.fit_cloud_clusters(refl, scl),
        "composites": composites, "slope": slope, "aspect": aspect, "sun": sun,
        "relief": float(dem.max() - dem.min()), "shadow": shadow,
        "fitted": fitted, "topo": topo["reflectance"],
        "gap_flag": restore.fill_gaps(composites)["gap_flag"],
        "cube": cube, "rows": rng.integers(0, SIZE, 40), "cols": rng.integers(0, SIZE, 40),
        "bundle": _train(table), "map_cube": cube_from(table.iloc[600:], names, SIZE),
    }


@dataclass(frozen=True)
class Case:
    """A stage call: ``call(world) -> (function, args, kwargs)``; ``grid`` the input whose
    grid (and ``attrs``, on ``variables``) the output carries; ``rtol`` 0 for results
    equal bit for bit across chunkings."""

    call: Callable[[dict], tuple[Callable, tuple, dict]]
    grid: str
    attrs: tuple[str, ...] = ()
    variables: tuple[str, ...] | None = None
    rtol: float = 0.0
    spatial: bool = True
    lazy: bool = True
    marks: dict[str, str] = field(default_factory=dict)


def _stages() -> dict[str, Case]:
    w = lambda f, *a, **k: (f, a, k)  # noqa: E731
    cases = {
        # masks
        "masks.scl_to_mask": Case(lambda d: w(masks.scl_to_mask, d["scl"]), "scl"),
        "masks.seasonal_background": Case(lambda d: w(
            masks.seasonal_background, d["reflectance"], d["clear"],
            bands=["B02", "B11"]), "reflectance"),
        "masks.seasonal_background[window]": Case(lambda d: w(
            masks.seasonal_background, d["reflectance"], d["clear"], window_days=20),
            "reflectance"),
        "masks.refine_masks": Case(lambda d: w(
            masks.refine_masks, d["reflectance"], d["scl"], dem=d["dem"],
            clusters=d["clusters"]), "reflectance"),
        "masks.refine_layers": Case(lambda d: w(
            masks.refine_layers, d["reflectance"], d["scl"], clusters=d["clusters"]),
            "reflectance"),
        # composites
        "composite.stack_composites": Case(lambda d: w(
            composite.stack_composites,
            {str(t)[:7]: d["composites"].sel(time=t, drop=True)
             for t in d["composites"].time.values}), "composites", attrs=("units",)),
        # restore
        "restore.fill_gaps": Case(lambda d: w(restore.fill_gaps, d["composites"], reach=2),
                                  "composites", attrs=("units",), variables=("reflectance",)),
        # a mean of 0/1: sums of whole numbers are exact in any order
        "restore.gap_fractions": Case(lambda d: w(restore.gap_fractions, d["gap_flag"]),
                                      "gap_flag", spatial=False),
        "restore.illumination": Case(lambda d: w(
            restore.illumination, d["slope"], d["aspect"], **d["sun"]), "slope"),
        # least-squares sums over blocks (float64): their order follows the chunks
        "restore.fit_c_factors": Case(lambda d: w(
            restore.fit_c_factors, d["composites"], d["slope"], d["aspect"], d["shadow"]),
            "composites", rtol=contract.FLOAT32_RTOL, spatial=False),
        "restore.correct_topography": Case(lambda d: w(
            restore.correct_topography, d["composites"], d["slope"], d["aspect"],
            d["fitted"].c, d["shadow"]), "composites", attrs=("units",),
            variables=("reflectance",)),
        # C factors fitted in the graph: float64 sums whose order follows the chunks
        "restore.correct_topography[fit inside]": Case(lambda d: w(
            restore.correct_topography, d["composites"], d["slope"], d["aspect"]),
            "composites", attrs=("units",), variables=("reflectance",),
            rtol=contract.FLOAT32_RTOL),
        "restore.cast_shadow": Case(lambda d: w(
            restore.cast_shadow, d["dem"], relief=d["relief"], **d["sun"]), "dem"),
        "restore.terrain_shadow": Case(lambda d: w(
            restore.terrain_shadow, d["dem"], d["slope"], d["aspect"], relief=d["relief"],
            **d["sun"]), "dem"),
        "restore.correct_terrain_shadow": Case(lambda d: w(
            restore.correct_terrain_shadow, d["topo"], d["shadow"], d["slope"],
            d["fitted"].shadow), "topo", attrs=("units",)),
        "restore.restore_composites": Case(lambda d: w(
            restore.restore_composites, d["composites"], d["slope"], d["aspect"], d["dem"],
            fitted=d["fitted"]), "composites", attrs=("units",), variables=("reflectance",)),
        # features
        "features.build_features": Case(lambda d: w(
            features.build_features, d["composites"], dem=d["dem"], **FEATURES), "composites",
            attrs=("units",)),
        "features.compute_index": Case(lambda d: w(
            features.compute_index, d["composites"], "NDVI"), "composites", attrs=("units",)),
        "features.compute_index[SOBEL]": Case(lambda d: w(
            features.compute_index, d["composites"], "SOBEL"), "composites",
            attrs=("units",)),
        "features.sobel": Case(lambda d: w(
            features.sobel, d["composites"].isel(time=0).sel(band="B08", drop=True)),
            "composites", attrs=("units",)),
        "features.quantize": Case(lambda d: w(
            features.quantize, d["composites"].isel(time=0).sel(band="B08", drop=True)),
            "composites", attrs=("units",)),
        "features.glcm_textures": Case(lambda d: w(
            features.glcm_textures, d["composites"].isel(time=0).sel(band="B08", drop=True),
            window=5), "composites", attrs=("units",)),
        "features.reduce_time": Case(lambda d: w(
            features.reduce_time, d["composites"], "median"), "composites", attrs=("units",)),
        "features.terrain": Case(lambda d: w(features.terrain, d["dem"]), "dem",
                                 attrs=("units",)),
        "features.terrain_features": Case(lambda d: w(features.terrain_features, d["dem"]),
                                          "dem"),
        # dataset and mapping
        "dataset.extract_features": Case(lambda d: w(
            dataset.extract_features, d["cube"], d["rows"], d["cols"]), "cube",
            spatial=False, lazy=False),
        "mapping.predict_map": Case(lambda d: w(
            mapping.predict_map, d["map_cube"], d["bundle"]), "map_cube"),
    }
    for method in composite.METHODS:
        cases[f"composite.monthly_composite[{method}]"] = Case(lambda d, m=method: w(
            composite.monthly_composite, d["reflectance"], masks.scl_to_mask(d["scl"]),
            method=m, quantile=0.25), "reflectance", attrs=("units",),
            variables=("reflectance",))
    return cases


STAGES = _stages()
#: (stage, check) -> why it fails today (xfail, strict): the stage is not ours to fix here.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


def params(check: str, *, where: Callable[[Case], bool] = lambda case: True) -> list:
    return [pytest.param(name, id=name, marks=[pytest.mark.xfail(
        strict=True, reason=KNOWN_FAILURES[name, check])] if (name, check) in KNOWN_FAILURES
        else []) for name, case in STAGES.items() if where(case)]


def _call(world: dict, name: str, chunks) -> tuple[Any, list]:
    func, args, kwargs = STAGES[name].call(world)
    args, kwargs = contract.chunked(list(args), chunks), contract.chunked(kwargs, chunks)
    return func, args, kwargs


@dataclass
class _Called:
    """A stage called on the "small" chunks: its inputs, their snapshot taken before the
    call, the (lazy) result, and the AssertionError of the laziness check (None: lazy)."""

    args: list
    kwargs: dict
    before: list
    result: Any
    not_lazy: AssertionError | None


@pytest.fixture(scope="session")
def small_call(world):
    """Each stage called once on the "small" chunks, under :func:`contract.no_compute` when
    it must stay lazy: the laziness test checks that call, the grid test reads its result
    and ``results`` computes it (building a stage's graph is a good part of its cost)."""
    cache: dict[str, _Called] = {}

    def get(name: str) -> _Called:
        if name not in cache:
            func, args, kwargs = _call(world, name, CHUNKINGS["small"])
            before = contract.snapshot(args, kwargs)
            not_lazy = None
            try:
                result = (contract.assert_lazy(func, *args, **kwargs) if STAGES[name].lazy
                          else func(*args, **kwargs))
            except AssertionError as exc:  # computed during the call, or eager result
                not_lazy, result = exc, func(*args, **kwargs)
            cache[name] = _Called(args, kwargs, before, result, not_lazy)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def results(world, small_call):
    """Computed results per (stage, chunking), each computed once, and whether the call
    left its inputs unchanged (None) or the AssertionError saying what changed."""
    cache: dict[tuple[str, str], tuple[Any, AssertionError | None]] = {}

    def get(name: str, chunking: str) -> tuple[Any, AssertionError | None]:
        if (name, chunking) not in cache:
            if chunking == "small":
                called = small_call(name)
                args, kwargs, before = called.args, called.kwargs, called.before
                result = contract.computed(called.result)
            else:
                func, args, kwargs = _call(world, name, CHUNKINGS.get(chunking))
                before = contract.snapshot(args, kwargs)
                result = contract.computed(func(*args, **kwargs))
            try:
                contract.assert_unchanged(before, [args, kwargs])
                change = None
            except AssertionError as exc:
                change = exc
            cache[name, chunking] = result, change
        return cache[name, chunking]

    return get


@pytest.mark.parametrize("name", params("lazy", where=lambda case: case.lazy))
def test_lazy_on_dask_inputs(small_call, name):
    not_lazy = small_call(name).not_lazy
    if not_lazy is not None:
        raise not_lazy


@pytest.mark.parametrize("name", params("chunks"))
def test_chunk_invariant(results, name):
    rtol = STAGES[name].rtol
    small = results(name, "small")[0]
    contract.assert_same_values(results(name, "uneven")[0], small, rtol=rtol)
    contract.assert_same_values(results(name, "memory")[0], small, rtol=rtol)


@pytest.mark.parametrize("name", params("unchanged"))
@pytest.mark.parametrize("chunking", ["memory", "small"])
def test_inputs_unchanged(results, name, chunking):
    """In memory, a kernel writing into its block would write into the input itself."""
    change = results(name, chunking)[1]
    if change is not None:
        raise change


@pytest.mark.parametrize("name", params("grid", where=lambda case: case.spatial))
def test_grid_and_attrs_carried(world, small_call, name):
    case = STAGES[name]
    result = small_call(name).result
    if case.lazy:
        contract.assert_dask_backed(result)
    contract.assert_grid_carried(result, world[case.grid], attrs=case.attrs,
                                 variables=case.variables)


def test_every_public_stage_is_covered():
    """A new public function taking xarray in a stage package must join STAGES (or the
    list of non-stages below, with the reason)."""
    not_stages = {
        # helpers on numpy/dask arrays or numbers, fits that compute by design, readers
        "masks": {"clean_mask", "evaluate_masks", "fit_cloud_clusters", "fit_clusters",
                  "geometric_shadows", "scl_lookup", "score_rows", "shadow_offsets", "sweep"},
        "composite": {"month_labels", "month_range"},
        "restore": {"check_coverage", "dem_relief", "fit_restoration", "fit_shadow_correction",
                    "shadow_reach"},
        "features": {"glcm_array", "metres_per_pixel", "month_labels", "resolve_indices"},
        "dataset": None,  # only extract_features works on xarray; the rest on tables
        "mapping": None,  # only predict_map; the rest write files or compare maps
    }
    packages = {"masks": masks, "composite": composite, "restore": restore,
                "features": features, "dataset": dataset, "mapping": mapping}
    covered = {name.split("[")[0] for name in STAGES}
    for package, skip in not_stages.items():
        if skip is None:
            continue
        module = packages[package]
        functions = {n for n in module.__all__ if callable(getattr(module, n))
                     and not isinstance(getattr(module, n), type) and n.islower()}
        missing = functions - skip - {c.split(".", 1)[1] for c in covered
                                      if c.startswith(package + ".")}
        assert not missing, f"public {package} functions without a contract case: {missing}"
