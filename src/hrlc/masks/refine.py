"""``refine_masks``: cloud and shadow masks from the SCL, refined with the season.

Per spatial chunk (all dates at once, in bounded memory; :mod:`~hrlc.masks.evidence`):

1. the SCL gives the initial mask (:func:`~hrlc.masks.scl.scl_to_mask`) and so the
   clear observations;
2. the seasonal background (:mod:`~hrlc.masks.background`) of the blue, the K-means
   bands, the NDWI bands and the cloud-shadow index;
3. clouds: K-means on the deviation from the background (:mod:`~hrlc.masks.kmeans`),
   fitted on a sample of the scene (:func:`fit_cloud_clusters`);
4. shadow candidates: CSI and blue darker than their background, not water, not
   terrain shadow (:mod:`~hrlc.masks.shadows`).

Then, on the small (time, y, x) masks, with halos: opening/closing/buffer of the clouds
(:mod:`~hrlc.masks.morphology`), the geometric shadow test (candidates where the
clouds project away from the sun), and cleaning of the shadows.

Pixels with fewer than ``min_clear`` SCL-clear observations (bright surfaces Sen2Cor
calls cloud on most dates) get a background from all their observations in two passes
(``all_observations``, :mod:`~hrlc.masks.evidence`). Those still without one keep the
SCL's verdict (``fallback="scl"``) or become no data (``fallback="nodata"``).
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import xarray as xr

from hrlc.config import validate_config
from hrlc.config.masks import MasksConfig
from hrlc.errors import GridMismatchError, InputError, MissingBandError
from hrlc.features.indices import INDICES
from hrlc.masks.background import day_numbers
from hrlc.masks.evidence import (CANDIDATE, NO_BACKGROUND, THICK, THIN, Plan, candidates,
                                 combine_block, deviations, evidence_block, prepare)
from hrlc.masks.kmeans import CloudClusters, fit_clusters
from hrlc.masks.morphology import clean_mask
from hrlc.masks.scl import NODATA
from hrlc.masks.shadows import geometric_shadows, shadow_offsets


def _options(options: dict) -> dict:
    """Every option, validated and completed with defaults by :class:`MasksConfig`."""
    return validate_config(options, MasksConfig, source="refine_masks options").model_dump()


def _check_inputs(reflectance: xr.DataArray, scl: xr.DataArray, plan_bands: list[str],
                  dem: xr.DataArray | None) -> None:
    have = [str(b) for b in reflectance["band"].values]
    missing = [b for b in plan_bands if b not in have]
    if missing:
        raise MissingBandError(f"mask refinement needs band(s) {', '.join(missing)}, which the "
                               f"reflectance lacks (bands: {', '.join(have)}); read them too")
    if "tile_id" in reflectance.coords:
        tiles = sorted({str(t) for t in reflectance["tile_id"].values if str(t)})
        if len(tiles) > 1:
            raise GridMismatchError(
                f"the season mixes scenes of tiles {', '.join(tiles)}; the background is per "
                "pixel, so refine the scenes of each tile separately")
    if scl.sizes.get("time") != reflectance.sizes["time"] or any(
            scl.sizes.get(d) != reflectance.sizes[d] for d in ("y", "x")):
        raise GridMismatchError(
            f"the SCL ({dict(scl.sizes)}) does not match the reflectance "
            f"({dict(reflectance.sizes)}); read both from the same scenes (hrlc.read_scl)")
    for name in ("sun_zenith", "sun_azimuth"):
        values = np.asarray(reflectance.coords[name].values if name in reflectance.coords
                            else [np.nan], np.float64)
        if not np.isfinite(values).all():
            raise InputError(
                f"the scenes carry no {name} (degrees) for every date; the shadow geometry "
                "needs it: read products with MTD_TL.xml, give it in the source options, or "
                "estimate it with hrlc.restore.sun.estimate_sun_angles")
    if dem is not None and (dem.sizes.get("y") != reflectance.sizes["y"]
                            or dem.sizes.get("x") != reflectance.sizes["x"]):
        raise GridMismatchError(
            f"the DEM ({dict(dem.sizes)}) is not on the scenes' grid ({reflectance.sizes['y']} x "
            f"{reflectance.sizes['x']}); put it there with hrlc.geo.reproject_match(dem, scenes)")


def _resolution(reflectance: xr.DataArray) -> float:
    x = np.asarray(reflectance["x"].values, np.float64)
    return float(abs(x[1] - x[0])) if x.size > 1 else float(abs(reflectance.rio.resolution()[0]))


def _stack(reflectance: xr.DataArray, bands: list[str]) -> xr.DataArray:
    stack = reflectance.sel(band=bands).transpose("time", "band", "y", "x")
    if stack.chunks is None:
        return stack.chunk({"time": -1, "band": -1, "y": -1, "x": -1})
    return stack.chunk({"time": -1, "band": -1})


def required_bands(**options) -> list[str]:
    """Bands :func:`refine_masks` reads with these options (blue, K-means, CSI, NDWI)."""
    o = _options(options)
    return list(dict.fromkeys([o["blue"], *o["kmeans_bands"], o["nir"], o["swir"],
                               *INDICES["NDWI"].bands]))


def _plan(reflectance: xr.DataArray, options: dict) -> Plan:
    return Plan(bands=tuple(required_bands(**options)),
                 days=day_numbers(reflectance["time"].values), options=options)


def _sample_windows(shape: tuple[int, int], count: int, size: int) -> list[tuple[slice, slice]]:
    """``count`` windows of ``size`` px spread over a grid of the image (or the image)."""
    rows, cols = shape
    if rows * cols <= count * size * size:
        return [(slice(0, rows), slice(0, cols))]
    n = int(np.ceil(np.sqrt(count)))
    windows = []
    for i in range(n):
        for j in range(n):
            if len(windows) == count:
                break
            r0 = int(np.clip((i + 0.5) * rows / n - size / 2, 0, max(rows - size, 0)))
            c0 = int(np.clip((j + 0.5) * cols / n - size / 2, 0, max(cols - size, 0)))
            windows.append((slice(r0, r0 + size), slice(c0, c0 + size)))
    return windows


def fit_cloud_clusters(reflectance: xr.DataArray, scl: xr.DataArray, **options) -> CloudClusters:
    """Fit the K-means of the cloud refinement on a sample of the scenes.

    Computes ``sample_windows`` windows of ``sample_window_size`` pixels (all dates), so
    it reads a small part of the tile; everything else stays lazy.

    Parameters
    ----------
    reflectance : DataArray (time, band, y, x), float32, 0-1
    scl : DataArray (time, y, x), uint8
    **options
        Options of :func:`refine_masks`.

    Returns
    -------
    CloudClusters
    """
    o = _options(options)
    plan = _plan(reflectance, o)
    stack = _stack(reflectance, list(plan.bands))
    codes = scl.transpose("time", "y", "x")
    windows = _sample_windows((stack.sizes["y"], stack.sizes["x"]), o["sample_windows"],
                              o["sample_window_size"])
    parts = dask.compute(*[(stack.data[:, :, r, c], codes.data[:, r, c]) for r, c in windows])
    samples = []
    for values, classes in parts:
        block = prepare(np.asarray(values, np.float32), np.asarray(classes, np.uint8), plan)
        samples.append(deviations(values, block.background, plan, candidates(
            values, block.background, plan, block.valid & block.has_background)))
    sample = np.concatenate(samples) if samples else np.empty((0, len(plan.features)))
    sample = sample[np.isfinite(sample).all(axis=1) & (sample[:, 0] > o["candidate_delta"])]
    if len(sample) > o["sample_size"]:
        rng = np.random.default_rng(o["seed"])
        sample = sample[np.sort(rng.choice(len(sample), o["sample_size"], replace=False))]
    return fit_clusters(sample, features=plan.features, n_clusters=o["n_clusters"],
                        candidate_delta=o["candidate_delta"], cloud_delta=o["cloud_delta"],
                        blue_share=o["blue_share"], thick_delta=o["thick_delta"],
                        seed=o["seed"])


def refine_layers(reflectance: xr.DataArray, scl: xr.DataArray, *,
                  dem: xr.DataArray | None = None, clusters: CloudClusters | None = None,
                  **options) -> xr.Dataset:
    """:func:`refine_masks` and the pixels without a background, as one lazy Dataset.

    Parameters are those of :func:`refine_masks`. Computing both variables together (one
    ``dask.compute`` or ``to_zarr``) runs the refinement once.

    Returns
    -------
    Dataset
        ``mask`` (time, y, x) uint8, CloudSEN12 codes, and ``no_background`` (time, y, x)
        bool: valid observations whose pixel had fewer than ``min_clear`` clear
        observations (SCL-clear, or with ``all_observations`` also found clear by the
        first pass) in its season; its mask follows ``fallback``.
    """
    o = _options(options)
    plan = _plan(reflectance, o)
    _check_inputs(reflectance, scl, list(plan.bands), dem)
    if clusters is None:
        clusters = fit_cloud_clusters(reflectance, scl, **options)
    stack = _stack(reflectance, list(plan.bands))
    chunks = stack.data.chunks
    codes = scl.transpose("time", "y", "x").data
    codes = (codes.rechunk((-1, *chunks[2:])) if isinstance(codes, da.Array)
             else da.from_array(np.asarray(codes), chunks=(-1, *chunks[2:])))
    inputs = [stack.data, codes]
    if dem is not None:
        from hrlc.features.terrain import terrain
        from hrlc.restore.topographic import illumination

        relief = terrain(dem.transpose("y", "x").astype(np.float32))
        cos_i = illumination(relief.sel(feature="slope"), relief.sel(feature="aspect"),
                             sun_zenith=reflectance["sun_zenith"],
                             sun_azimuth=reflectance["sun_azimuth"]).transpose("time", "y", "x")
        data = cos_i.data if isinstance(cos_i.data, da.Array) else da.from_array(cos_i.values)
        inputs.append(data.rechunk((-1, *chunks[2:])))

    def evidence_of(values, classes, *rest):
        return evidence_block(values, classes, rest[0] if rest else None, plan=plan,
                              clusters=clusters)

    evidence = da.map_blocks(evidence_of, *inputs, dtype=np.uint8, drop_axis=1,
                             chunks=(chunks[0], *chunks[2:]), meta=np.empty((0, 0, 0), np.uint8))
    cloud = clean_mask((evidence & (THICK | THIN)) > 0, opening=o["opening"],
                       closing=o["closing"], buffer=o["cloud_buffer"])
    # map_overlap may merge a last chunk smaller than its halo: back to the evidence's chunks
    cloud = cloud.rechunk(evidence.chunks)
    offsets = shadow_offsets(reflectance["sun_zenith"].values, reflectance["sun_azimuth"].values,
                             cloud_heights=tuple(o["cloud_heights"]),
                             resolution=_resolution(reflectance))
    shadow = geometric_shadows((evidence & CANDIDATE) > 0, cloud, offsets=offsets)
    shadow = clean_mask(shadow.rechunk(cloud.chunks), opening=o["shadow_opening"],
                        closing=o["shadow_closing"], buffer=o["shadow_buffer"])
    mask = da.map_blocks(combine_block, evidence, cloud, shadow.rechunk(cloud.chunks),
                         fallback=o["fallback"], dtype=np.uint8)
    coords = {k: c for k, c in reflectance.coords.items()
              if set(c.dims) <= {"time", "y", "x"} and k != "band"}
    dims = ("time", "y", "x")
    attrs = {"long_name": "refined cloud mask (CloudSEN12: 0 clear, 1 thick cloud, "
             "2 thin cloud, 3 cloud shadow, 255 nodata)", "nodata": NODATA,
             "method": "hrlc.masks.refine_masks"}
    layers = xr.Dataset(
        {"mask": xr.DataArray(mask, dims=dims, coords=coords, attrs=attrs),
         "no_background": xr.DataArray(
             (evidence & NO_BACKGROUND) > 0, dims=dims, coords=coords,
             attrs={"long_name": f"no seasonal background (fewer than {o['min_clear']} "
                    "clear observations)"})})
    if reflectance.rio.crs is not None:
        layers = layers.rio.write_crs(reflectance.rio.crs)
    return layers


def refine_masks(reflectance: xr.DataArray, scl: xr.DataArray, *,
                 dem: xr.DataArray | None = None, clusters: CloudClusters | None = None,
                 **options) -> xr.DataArray:
    """Refined cloud and shadow masks of a season of scenes, lazily.

    Parameters
    ----------
    reflectance : DataArray (time, band, y, x), float32, 0-1
        Surface reflectance of one tile (:func:`hrlc.read_l2a`), NaN where no data, with
        per-time ``sun_zenith`` and ``sun_azimuth`` (degrees). Needs the blue, the
        K-means, NIR and SWIR bands and B03 (for the NDWI).
    scl : DataArray (time, y, x), uint8
        Sen2Cor scene classification of the same scenes (:func:`hrlc.read_scl`).
    dem : DataArray (y, x), float32, optional
        Elevation (metres) on the scenes' grid (:func:`hrlc.geo.reproject_match`): terrain
        shadow is then not taken for cloud shadow.
    clusters : CloudClusters, optional
        A fitted clustering (:func:`fit_cloud_clusters`); default: fitted here on a
        sample (``sample_windows`` windows are computed now; the rest is lazy).
    **options
        See :class:`hrlc.config.masks.MasksConfig` (every option, its unit and default).

    Returns
    -------
    DataArray (time, y, x), uint8
        CloudSEN12 codes: 0 clear, 1 thick cloud, 2 thin cloud, 3 cloud shadow, 255 no
        data; coords and CRS of ``reflectance``. Lazy (dask) and independent of the
        chunking.

    Raises
    ------
    MissingBandError, GridMismatchError, InputError
        A needed band is missing; SCL, DEM or tiles do not match; no sun angles.
    """
    return refine_layers(reflectance, scl, dem=dem, clusters=clusters, **options)["mask"]
