"""``simulate_series``: a lazy, chunked Sentinel-2 L2A time series with its truth."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from itertools import product

import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from pyproj import CRS, Transformer

from hrlc.config import validate_config
from hrlc.config.simulate import SimulateConfig
from hrlc.io.bands import L2A_BANDS
from hrlc.simulate.acquisitions import Acquisition, plan_acquisitions
from hrlc.simulate.atmosphere import Sky, plan_skies
from hrlc.simulate.landcover import ClassTable
from hrlc.simulate.scene import Ground, SceneContext, ground, render, static_layers
from hrlc.simulate.sen2cor import SclErrors
from hrlc.simulate.terrain import MOUNTAIN_RELIEF, PIXEL_SIZE, Landscape

#: Bound on the relief of a landscape (metres at full-tile scale): 1.1 x the mountain
#: range's relief was the largest seen over seeds; rays longer than it could give find
#: no higher terrain.
SHADOW_RELIEF = 1.25 * MOUNTAIN_RELIEF


@dataclass(frozen=True)
class SimulatedSeries:
    """A simulated L2A time series and its truth, all lazy (dask) on one 10 m UTM grid.

    Attributes
    ----------
    reflectance : DataArray (time, band, y, x), float32
        Surface reflectance (0-1) as an L2A product holds it: terrain illumination,
        clouds, cirrus and shadows, sensor noise, 20/60 m bands averaged over their
        native pixels, whole DN steps; NaN outside the swath. Bands B01-B12 with B8A,
        without B10. Coordinates as :func:`hrlc.io.read_l2a` gives them, plus
        ``cloud_cover`` (drawn) and ``cloud_height`` (metres) per time.
    clear_reflectance : DataArray (time, band, y, x), float32
        The same without clouds and cloud shadows (same noise), and without gaps.
        Terrain illumination (and terrain cast shadows, with ``cast_shadows``) is kept.
    scl : DataArray (time, y, x), uint8
        Sen2Cor-like scene classification with Sen2Cor-like errors (20 m pixels).
    cloud_mask : DataArray (time, y, x), uint8
        Truth in the CloudSEN12 convention: 0 clear, 1 thick cloud, 2 thin cloud,
        3 cloud shadow, 255 no data.
    landcover : DataArray (y, x), uint8
        Class codes of ``class_table``.
    dem : DataArray (y, x), float32
        Elevation, metres.
    class_table : ClassTable
    config : SimulateConfig
        Every option the series was made with.
    acquisitions : tuple of Acquisition
        Product names, baselines, orbits and sun angles per time.
    skies : tuple of Sky
        Cloud cover, cloud height and shadow displacement per time.
    context : SceneContext
        What renders any window (``hrlc.simulate.scene.render(context, t, window)``),
        e.g. to generate a small window of a full tile without the dask graph.
    flat_reflectance : DataArray (time, band, y, x), float32
        The clear-sky reflectance under flat illumination (no terrain effect, no terrain
        shadow: what a perfect topographic correction gives), same noise and DN steps.
    """

    reflectance: xr.DataArray
    clear_reflectance: xr.DataArray
    scl: xr.DataArray
    cloud_mask: xr.DataArray
    landcover: xr.DataArray
    dem: xr.DataArray
    class_table: ClassTable
    config: SimulateConfig
    acquisitions: tuple[Acquisition, ...]
    skies: tuple[Sky, ...]
    context: SceneContext
    flat_reflectance: xr.DataArray | None = None

    def training_polygons(self):
        """Training polygons (GeoDataFrame); see :func:`hrlc.simulate.polygons.training_polygons`.
        """
        from hrlc.simulate.polygons import training_polygons

        cfg = self.config
        return training_polygons(
            self.context, class_table=self.class_table, crs=self.landcover.rio.crs,
            transform=self.landcover.rio.transform(), per_class=cfg.polygons_per_class,
            mislabelled=cfg.mislabelled_polygons, overlapping=cfg.overlapping_polygons)


def simulate_series(*, size: int, dates: int, seed: int, start: str = "2019-01-01",
                    chunks: int = 1024, **options) -> SimulatedSeries:
    """Simulate a Sentinel-2 L2A time series of one tile, with its truth.

    Nothing is computed here: every array is a dask graph whose chunks are generated
    independently from global pixel coordinates, so the values do not depend on
    ``chunks``, any window can be computed alone, and a full tile streams in bounded
    memory.

    Parameters
    ----------
    size : int
        Tile side in 10 m pixels (10980 for a full Sentinel-2 tile).
    dates : int
        Number of acquisitions.
    seed : int
        Random seed; the same seed and options give the same series.
    start : str or date
        First acquisition day (ISO 8601).
    chunks : int
        Spatial chunk size in pixels (``time`` and ``band`` chunks are 1 and 12).
    **options
        Any field of :class:`hrlc.config.simulate.SimulateConfig`: cloud cover range,
        cloud height, cirrus and swath-edge probabilities, noise, Sen2Cor error rates,
        tile id and position, processing baselines, training polygons.

    Returns
    -------
    SimulatedSeries

    Raises
    ------
    ConfigError
        An unknown option or a value out of range (the message names both).
    """
    cfg = validate_config(dict(size=size, dates=dates, seed=seed, start=start, chunks=chunks,
                               **options), SimulateConfig, source="simulate_series")
    crs = CRS.from_epsg(cfg.epsg)
    centre = (cfg.ulx + cfg.size * PIXEL_SIZE / 2, cfg.uly - cfg.size * PIXEL_SIZE / 2)
    lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(*centre)
    acquisitions = tuple(plan_acquisitions(
        start=cfg.start, dates=cfg.dates, interval_days=cfg.interval_days,
        baselines=cfg.baselines, tile_id=cfg.tile_id, relative_orbit=cfg.relative_orbit,
        latitude=lat, longitude=lon))
    landscape = Landscape.create(size=cfg.size, seed=cfg.seed)
    skies = tuple(plan_skies(
        seed=cfg.seed, size=cfg.size, macro=landscape.macro,
        sun=[(a.sun_zenith, a.sun_azimuth) for a in acquisitions],
        cloud_cover=cfg.cloud_cover, clear_date_probability=cfg.clear_date_probability,
        cloud_height=cfg.cloud_height, thin_cloud_opacity=cfg.thin_cloud_opacity,
        cirrus_probability=cfg.cirrus_probability,
        swath_edge_probability=cfg.swath_edge_probability))
    context = SceneContext(
        landscape=landscape, acquisitions=acquisitions, skies=skies, noise_std=cfg.noise_std,
        thick_cloud_opacity=cfg.thick_cloud_opacity, thin_cloud_opacity=cfg.thin_cloud_opacity,
        shadow_threshold=cfg.shadow_threshold,
        scl_errors=SclErrors(cfg.missed_thin_cloud, cfg.missed_thick_cloud, cfg.missed_shadow,
                             cfg.bright_as_cloud, cfg.dark_area,
                             cfg.persistent_bright_as_cloud),
        cast_shadows=cfg.cast_shadows,
        shadow_reach=_shadow_reach(landscape, acquisitions) if cfg.cast_shadows else 0.0)
    transform = Affine(PIXEL_SIZE, 0, cfg.ulx, 0, -PIXEL_SIZE, cfg.uly)
    layers = _dask_layers(context, cfg.chunks)
    coords = _coords(cfg.size, transform)
    time = _time_coords(acquisitions, skies)
    band = {"band": np.array(L2A_BANDS, dtype=object),
            "boa_add_offset": (("time", "band"), np.repeat(
                [[a.boa_add_offset] for a in acquisitions], len(L2A_BANDS), axis=1))}

    def wrap(name, dims, extra, attrs):
        array = xr.DataArray(layers[name], dims=dims, coords={**coords, **extra}, attrs=attrs,
                             name=name)
        return array.rio.write_crs(crs).rio.write_transform(transform)

    reflectance_attrs = {"long_name": "surface reflectance", "units": "1"}
    return SimulatedSeries(
        reflectance=wrap("reflectance", ("time", "band", "y", "x"), {**time, **band},
                         reflectance_attrs),
        clear_reflectance=wrap("clear_reflectance", ("time", "band", "y", "x"),
                               {**time, **band},
                               {**reflectance_attrs, "long_name": "clear-sky surface reflectance"}),
        scl=wrap("scl", ("time", "y", "x"), time,
                 {"long_name": "Sen2Cor scene classification", "nodata": 0}),
        cloud_mask=wrap("cloud_mask", ("time", "y", "x"), time,
                        {"long_name": "cloud mask (CloudSEN12: 0 clear, 1 thick cloud, "
                         "2 thin cloud, 3 cloud shadow, 255 nodata)", "nodata": 255}),
        landcover=wrap("landcover", ("y", "x"), {}, {"long_name": "land cover", "nodata": 0}),
        dem=wrap("dem", ("y", "x"), {}, {"long_name": "elevation", "units": "m"}),
        class_table=ClassTable.load(), config=cfg, acquisitions=acquisitions, skies=skies,
        context=context,
        flat_reflectance=wrap("flat_reflectance", ("time", "band", "y", "x"), {**time, **band},
                              {**reflectance_attrs, "long_name": "clear-sky surface reflectance "
                               "under flat illumination"}),
    )


def _shadow_reach(landscape: Landscape, acquisitions) -> float:
    """Longest terrain shadow of the series, metres (a bound on the landscape's relief)."""
    from hrlc.restore.shadow import shadow_reach

    relief = SHADOW_RELIEF * landscape.relief_scale
    return shadow_reach(relief, [a.sun_zenith for a in acquisitions])


def _coords(size: int, transform: Affine) -> dict[str, np.ndarray]:
    centres = np.arange(size) + 0.5
    return {"y": transform.f + centres * transform.e, "x": transform.c + centres * transform.a}


def _time_coords(acquisitions, skies) -> dict[str, object]:
    def per_time(values, dtype):
        return ("time", np.array(values, dtype=dtype))

    return {
        "time": np.array([np.datetime64(a.sensing_time, "ns") for a in acquisitions]),
        "product_name": per_time([a.product_name for a in acquisitions], object),
        "tile_id": per_time([a.tile_id for a in acquisitions], object),
        "processing_baseline": per_time([a.baseline for a in acquisitions], object),
        "sun_zenith": per_time([a.sun_zenith for a in acquisitions], np.float64),
        "sun_azimuth": per_time([a.sun_azimuth for a in acquisitions], np.float64),
        "cloud_cover": per_time([s.cloud_cover for s in skies], np.float64),
        "cloud_height": per_time([s.cloud_height for s in skies], np.float64),
    }


_SCENE_FIELDS = {  # name -> (dtype, leading dims of a block besides (rows, cols))
    "reflectance": (np.float32, (1, len(L2A_BANDS))),
    "clear_reflectance": (np.float32, (1, len(L2A_BANDS))),
    "flat_reflectance": (np.float32, (1, len(L2A_BANDS))),
    "scl": (np.uint8, (1,)),
    "cloud_mask": (np.uint8, (1,)),
}
_STATIC_FIELDS = {"landcover": np.uint8, "dem": np.float32}


def _static_field(land: Ground, window: tuple[int, int, int, int], field: str) -> np.ndarray:
    return static_layers(land, window)[field]


def _dask_layers(context: SceneContext, chunk: int) -> dict[str, da.Array]:
    """Dask arrays of a series, sharing work between them.

    One ``ground`` task per chunk (terrain, land cover) feeds the land cover and DEM and
    the ``render`` task of every date on that chunk; each render feeds the four per-date
    arrays. Computing several arrays (or dates) together renders each chunk only once.
    """
    size, dates = context.size, len(context.acquisitions)
    starts = list(range(0, size, chunk))
    sides = tuple(min(chunk, size - s) for s in starts)
    token = tokenize(context, chunk)
    scene, static = f"simulate-scene-{token}", f"simulate-ground-{token}"
    tiles = [((i, j), (r0, c0, sides[i], sides[j]))
             for (i, r0), (j, c0) in product(enumerate(starts), enumerate(starts))]
    layers = {
        static: {(static, *ij): (ground, context, window) for ij, window in tiles},
        scene: {(scene, t, *ij): (render, context, t, window, (static, *ij))
                for t in range(dates) for ij, window in tiles},
    }
    dependencies = {static: set(), scene: {static}}
    arrays = {}
    for field, (dtype, lead) in _SCENE_FIELDS.items():
        name = f"simulate-{field}-{token}"
        zeros = (0,) * (len(lead) - 1)
        layer = {(name, t, *zeros, *ij): (operator.getitem, (scene, t, *ij), field)
                 for t in range(dates) for ij, _ in tiles}
        graph = HighLevelGraph({**layers, name: layer}, {**dependencies, name: {scene}})
        chunks = ((1,) * dates, *((n,) for n in lead[1:]), sides, sides)
        arrays[field] = da.Array(graph, name, chunks, meta=np.empty((0,) * len(chunks), dtype))
    for field, dtype in _STATIC_FIELDS.items():
        name = f"simulate-{field}-{token}"
        layer = {(name, *ij): (_static_field, (static, *ij), window, field) for ij, window in tiles}
        graph = HighLevelGraph({static: layers[static], name: layer},
                               {static: set(), name: {static}})
        arrays[field] = da.Array(graph, name, (sides, sides), meta=np.empty((0, 0), dtype))
    return arrays
