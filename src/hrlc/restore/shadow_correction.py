r"""Statistical correction of terrain-shadowed pixels from the lit pixels of the same surface.

In shadow a pixel receives diffuse light only, so the C-correction's linear model does
not hold (and cast shadows are not even a function of ``cos i``). Following the reference
chain ("adjusted based on statistical relationships between shadowed and non-shadowed
regions"), each shadowed value is mapped, per month, band, **stratum** (surface type) and
**slope class**, so that the shadowed pixels get the mean and standard deviation of the
lit pixels of the same stratum and slope class::

    x' = mean_lit + (x - mean_shadow) * std_lit / std_shadow        (>= 0)

Strata are a land-cover map when given (its codes), else clusters of the month's lit
spectra: K-means on log reflectance (all bands) fitted on a strided sample of lit
pixels. A shadow darkens each band by about a constant factor (the diffuse share of the
light, larger in blue than in SWIR), i.e. shifts log reflectance by a vector whose shape
is about constant while its level (the depth of the shadow) varies from pixel to pixel.
The shape of that ``shift`` is estimated on the sample's shadowed pixels (alternately:
nearest centre after removing it, then the mean level-free offset from their centres);
a shadowed pixel then gets the centre nearest in shape once the shift is removed
(docs/restore.md compares this with perfect assignment on the simulator). Slope classes
(``slope_bins``, degrees) keep the comparison to ground of comparable slope (steep slopes
hold other covers, and other mixtures, than valley floors).

A (stratum, slope class) cell with fewer than ``min_pixels`` lit or shadowed pixels uses
the stratum over all slopes, then the month over all strata; with none, the pixels keep
their values (``level`` 3 in the fit).
"""

from __future__ import annotations

from functools import partial

import dask.array as da
import numpy as np
import xarray as xr

from hrlc.composite.validate import check_same_grid, require_dims
from hrlc.errors import ConfigError, InputError
from hrlc.kernels import kernel_array
from hrlc.restore import _shadow_kernels as _k
from hrlc.threads import one_openmp_thread

#: Where the statistics of a cell come from (the fit's ``level``).
LEVELS = ("cell", "stratum", "month", "none")


def _validate(reflectance, terrain_shadow, slope, strata) -> None:
    require_dims(reflectance, ("time", "band", "y", "x"), what="composites")
    require_dims(terrain_shadow, ("time", "y", "x"), what="terrain shadow")
    require_dims(slope, ("y", "x"), what="slope")
    for name, layer in (("terrain-shadow", terrain_shadow), ("slope", slope),
                        ("strata", strata)):
        if layer is not None:
            check_same_grid(layer, reflectance, what=f"the {name} layer",
                            reference_name="the composites")
    if terrain_shadow.sizes["time"] != reflectance.sizes["time"]:
        raise InputError(f"the terrain-shadow layer has {terrain_shadow.sizes['time']} months, "
                         f"the composites {reflectance.sizes['time']}")


def _strata_codes(strata: xr.DataArray | None, like: xr.DataArray) -> xr.DataArray:
    """(y, x) int32 stratum codes (>= 0), -1 to cluster (no map, or no class there)."""
    if strata is None:
        return xr.full_like(like.isel(time=0, band=0, drop=True), -1, dtype=np.int32)
    require_dims(strata, ("y", "x"), what="strata")
    values = strata.where(np.isfinite(strata) & (strata >= 0), -1) if strata.dtype.kind == "f" \
        else strata
    return values.astype(np.int32)


def _sample(reflectance: xr.DataArray, terrain_shadow: xr.DataArray, size: int):
    """A strided sample (time, band, n) and its shadow codes (time, n); computed now."""
    ny, nx = reflectance.sizes["y"], reflectance.sizes["x"]
    step = max(1, int(np.sqrt(ny * nx / size)))
    pick = {"y": slice(step // 2, None, step), "x": slice(step // 2, None, step)}
    values = reflectance.isel(pick).transpose("time", "band", "y", "x").values
    codes = terrain_shadow.isel(pick).transpose("time", "y", "x").values
    return values.reshape(*values.shape[:2], -1), codes.reshape(codes.shape[0], -1)


def _centres(lit: np.ndarray, shadowed: np.ndarray, n_strata: int, seed: int):
    """K-means centres (n_strata, band) of lit log spectra and the shadow shift (band,).

    Rows beyond the number of distinct spectra (a uniform scene) stay NaN: never nearest.
    """
    from sklearn.cluster import KMeans

    n_bands = lit.shape[1]
    centres, shift = np.full((n_strata, n_bands), np.nan), np.zeros(n_bands)
    k = min(n_strata, len(np.unique(lit.round(4), axis=0)))
    if len(lit) < 2 * n_strata or k < 1:
        return centres, shift
    with one_openmp_thread():  # short parallel regions: a second thread only spins
        model = KMeans(n_clusters=k, random_state=seed, n_init=3).fit(lit)
    order = np.argsort(model.cluster_centers_.mean(axis=1))  # darkest first: stable codes
    centres[:k] = found = model.cluster_centers_[order]
    if len(shadowed) == 0:
        return centres, shift
    shift = shadowed.mean(0) - lit.mean(0)
    for _ in range(20):
        residual = shadowed[:, None, :] - shift - found[None]
        residual -= residual.mean(-1, keepdims=True)  # the depth of shadow is free
        offset = shadowed - found[(residual ** 2).sum(-1).argmin(1)]
        new = (offset - offset.mean(1, keepdims=True)).mean(0)
        if np.allclose(new, shift, atol=1e-6):
            break
        shift = new
    return centres, shift


def _cluster(reflectance, terrain_shadow, *, n_strata, sample_size, seed):
    """Per-month centres (time, k, band) and shifts (time, band), in log reflectance."""
    values, codes = _sample(reflectance, terrain_shadow, sample_size)
    n_time, n_bands = values.shape[:2]
    centres = np.full((n_time, n_strata, n_bands), np.nan)
    shift = np.zeros((n_time, n_bands))
    for t in range(n_time):
        spectra = values[t].T
        ok = np.isfinite(spectra).all(1)
        logs = np.log(np.maximum(spectra, _k.LOG_FLOOR))
        centres[t], shift[t] = _centres(logs[ok & (codes[t] == 0)], logs[ok & (codes[t] > 0)],
                                        n_strata, seed)
    return centres, shift


def _blocks(reflectance, terrain_shadow, slope, codes):
    data = da.asarray(reflectance.transpose("time", "band", "y", "x").data)
    data = data.astype(np.float32).rechunk({0: -1, 1: -1})
    spatial = data.chunks[2:]
    shadow = da.asarray(terrain_shadow.transpose("time", "y", "x").data).astype(np.uint8)
    layers = [da.asarray(layer.data, chunks=spatial).rechunk(spatial)
              for layer in (slope.astype(np.float32), codes)]
    return data, shadow.rechunk((-1, *spatial)), *layers


def _kernel_blocks(block, shadow, slope, strata):
    """The four blocks of a task in the one layout the kernels are compiled for.

    dask gives views: a spatial chunk of numpy-backed composites or slope is strided and
    the strata of a run without a map are a read-only broadcast; each mix of layouts
    was a variant of its own of ``assign``, ``sums``, ``apply`` and ``slope_class``
    (see :func:`hrlc.kernels.kernel_array`).
    """
    return (kernel_array(block, np.float32), kernel_array(shadow, np.uint8),
            kernel_array(slope, np.float32), kernel_array(strata, np.int32))


def _sums_block(block, shadow, slope, strata, *, centres, shift, bins, n_strata):
    block, shadow, slope, strata = _kernel_blocks(block, shadow, slope, strata)
    stratum = _k.assign(block, shadow, strata, centres, shift)
    out = _k.sums(block, shadow, stratum, _k.slope_class(slope, bins), n_strata, len(bins) + 1)
    return out[..., None, None]


def _apply_block(block, shadow, slope, strata, *, centres, shift, bins, gain, offset):
    block, shadow, slope, strata = _kernel_blocks(block, shadow, slope, strata)
    stratum = _k.assign(block, shadow, strata, centres, shift)
    return _k.apply(block, shadow, stratum, _k.slope_class(slope, bins), gain, offset)


def _resolve(sums: np.ndarray, min_pixels: int):
    """Gain, offset and level (time, band, k, s) from the sums (time, band, k, s, 2, 3)."""
    levels = [sums, np.broadcast_to(sums.sum(3, keepdims=True), sums.shape),
              np.broadcast_to(sums.sum((2, 3), keepdims=True), sums.shape)]
    shape = sums.shape[:4]
    gain, offset = np.full(shape, np.nan), np.full(shape, np.nan)
    level = np.full(shape, len(LEVELS) - 1, np.int8)
    for i, s in reversed(list(enumerate(levels))):
        n = s[..., 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s[..., 1] / n
            std = np.sqrt(np.maximum(s[..., 2] / n - mean ** 2, 0))
            g = std[..., 0] / std[..., 1]
            ok = (n.min(-1) >= min_pixels) & np.isfinite(g) & (g > 0)
        gain = np.where(ok, g, gain)
        offset = np.where(ok, mean[..., 0] - g * mean[..., 1], offset)
        level = np.where(ok, i, level).astype(np.int8)
    return gain, offset, level


def fit_shadow_correction(reflectance: xr.DataArray, terrain_shadow: xr.DataArray,
                          slope: xr.DataArray, strata: xr.DataArray | None = None, *,
                          n_strata: int = 4, slope_bins: tuple[float, ...] = (10.0, 25.0),
                          min_pixels: int = 30, sample_size: int = 10000,
                          seed: int = 0) -> xr.Dataset:
    """Fit the per-stratum statistics of the shadow correction (see the module notes).

    Parameters
    ----------
    reflectance : DataArray (time, band, y, x), float32, 0-1
        Composites, lit slopes already corrected for illumination (the output of
        ``correct_topography``); NaN where missing.
    terrain_shadow : DataArray (time, y, x), uint8
        Codes of :func:`hrlc.restore.terrain_shadow`: 0 lit, 1 self, 2 cast shadow.
    slope : DataArray (y, x), degrees
    strata : DataArray (y, x), integer codes >= 0, optional
        A land-cover map on the composites' grid (NaN or negative: cluster there);
        without it strata are K-means clusters of each month's lit spectra.
    n_strata : int
        Clusters per month (ignored with ``strata``).
    slope_bins : tuple of float, degrees
        Inner edges of the slope classes (``(10, 25)``: below 10, 10-25, 25 and more).
    min_pixels : int
        Fewest lit and fewest shadowed pixels of a cell whose statistics are used.
    sample_size : int
        About how many pixels (a regular grid over the tile) the clusters are fitted on.
    seed : int
        Seed of the K-means.

    Returns
    -------
    Dataset, in memory (small)
        ``gain``, ``offset`` (time, band, stratum, slope_class), float64: NaN where the
        pixels are left unchanged; ``level`` (same dims), int8: 0 cell, 1 stratum over
        all slopes, 2 month over all strata, 3 none; ``n_lit``, ``n_shadow`` (time,
        stratum, slope_class) pixel counts; ``centres`` (time, stratum, band) and
        ``shift`` (time, band), log reflectance (NaN with ``strata``). Attrs:
        ``slope_bins``, ``strata`` ("clusters" or "land cover").

    Notes
    -----
    Computes now: a strided sample of about ``sample_size`` pixels (all months), then one
    pass of per-block sums over the composites; memory stays at a few blocks.
    """
    _validate(reflectance, terrain_shadow, slope, strata)
    if int(n_strata) != n_strata or n_strata < 1:
        raise ConfigError(f"n_strata must be a whole number >= 1, got {n_strata}")
    bins = np.asarray(sorted(slope_bins), np.float64)
    codes = _strata_codes(strata, reflectance)
    if strata is None:
        centres, shift = _cluster(reflectance, terrain_shadow, n_strata=int(n_strata),
                                  sample_size=sample_size, seed=seed)
        k = int(n_strata)
    else:
        k = max(int(codes.max().compute()) + 1, 1)
        n_time, n_bands = reflectance.sizes["time"], reflectance.sizes["band"]
        centres, shift = np.full((n_time, 0, n_bands), np.nan), np.zeros((n_time, n_bands))
    data, shadow, s, c = _blocks(reflectance, terrain_shadow, slope, codes)
    kernel = partial(_sums_block, centres=centres, shift=shift, bins=bins, n_strata=k)
    sums = da.blockwise(kernel, "tbksvmyx", data, "tbyx", shadow, "tyx", s, "yx", c, "yx",
                        new_axes={"k": k, "s": len(bins) + 1, "v": 2, "m": 3},
                        adjust_chunks={"y": 1, "x": 1}, dtype=np.float64,
                        meta=np.empty((0,) * 8, np.float64)).sum(axis=(-2, -1)).compute()
    gain, offset, level = _resolve(sums, int(min_pixels))
    dims4 = ("time", "band", "stratum", "slope_class")
    coords = {"time": reflectance.time.values, "band": reflectance.band.values,
              "stratum": np.arange(k), "slope_class": np.arange(len(bins) + 1)}
    counts = sums[:, 0, :, :, :, 0]
    return xr.Dataset(
        {"gain": (dims4, gain), "offset": (dims4, offset), "level": (dims4, level),
         "n_lit": (dims4[:1] + dims4[2:], counts[..., 0].astype(np.int64)),
         "n_shadow": (dims4[:1] + dims4[2:], counts[..., 1].astype(np.int64)),
         "centres": (("time", "stratum_cluster", "band"), centres),
         "shift": (("time", "band"), shift)},
        coords=coords,
        attrs={"slope_bins": bins.tolist(),
               "strata": "clusters" if strata is None else "land cover"})


def correct_terrain_shadow(reflectance: xr.DataArray, terrain_shadow: xr.DataArray,
                           slope: xr.DataArray, fit: xr.Dataset,
                           strata: xr.DataArray | None = None) -> xr.DataArray:
    """Give shadowed pixels the statistics of the lit pixels of their stratum and slope.

    ``x' = offset + gain * x`` (>= 0) per month, band, stratum and slope class (see the
    module notes) where ``terrain_shadow`` is 1 or 2; other pixels are unchanged.

    Parameters
    ----------
    reflectance, terrain_shadow, slope, strata
        As in :func:`fit_shadow_correction` (the same ``strata`` as the fit).
    fit : Dataset
        From :func:`fit_shadow_correction` on these composites.

    Returns
    -------
    DataArray (time, band, y, x), float32
        Coords and attrs carried over, ``terrain_shadow_correction = "statistical"``;
        lazy, one task per spatial block (time and band in one chunk).
    """
    _validate(reflectance, terrain_shadow, slope, strata)
    if (strata is None) != (fit.attrs.get("strata") == "clusters") or \
            fit.sizes["time"] != reflectance.sizes["time"] or \
            not np.array_equal(fit.band.values, reflectance.band.values):
        raise InputError("the shadow-correction fit does not match these composites or "
                         "strata; fit it on them with fit_shadow_correction(...)")
    codes = _strata_codes(strata, reflectance)
    data, shadow, s, c = _blocks(reflectance, terrain_shadow, slope, codes)
    kernel = partial(_apply_block, bins=kernel_array(fit.attrs["slope_bins"], np.float64),
                     **{name: kernel_array(fit[name].values, np.float64)
                        for name in ("centres", "shift", "gain", "offset")})
    out = da.blockwise(kernel, "tbyx", data, "tbyx", shadow, "tyx", s, "yx", c, "yx",
                       dtype=np.float32, meta=np.empty((0,) * 4, np.float32))
    result = reflectance.transpose("time", "band", "y", "x").copy(data=out)
    result.attrs = {**reflectance.attrs, "terrain_shadow_correction": "statistical"}
    return result.rename("reflectance")
