"""A CNN peer: ukis-csmask (DLR), and its combination with the SCL and the refinement.

`ukis-csmask <https://github.com/dlr-eoc/ukis-csmask>`_ (Wieland et al. 2019, RSE 230) is a
U-Net trained on CloudSEN12+ and SPARCS that ships its ONNX models and runs offline on
CPU (optional extra ``hrlc[cnn]``: ``ukis-csmask`` and ``onnxruntime``). Its 6-band L2A
model wants blue, green, red, NIR, SWIR 1 and SWIR 2 at about 30 m, as its authors
recommend: the 10 m reflectance is averaged over 3 x 3 pixels, classified, and each 30 m
class is given back to its 3 x 3 pixels. It has no thin-cloud class: its clouds are coded
thick (1).

Chunks are classified with a halo of ``halo`` 10 m pixels (the network sees context), so
results are close to, but not exactly, independent of the chunking; chunks should be
large (>= 768 px, 256 px at 30 m, the network's tile).

:func:`combine_masks` fuses three verdicts per observation, SCL, refinement and CNN, by
majority: cloud where at least two say cloud (thick if the refinement says thick), shadow
where at least two say shadow, else clear; no data where the refinement has none.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import dask.array as da
import numpy as np
import xarray as xr

from hrlc.errors import ConfigError, MissingBandError
from hrlc.masks.scl import CLEAR, NODATA, SHADOW, THICK_CLOUD, THIN_CLOUD

#: Bands of the 6-band model, in its order (ukis-csmask names).
CNN_BANDS = {"B02": "blue", "B03": "green", "B04": "red", "B08": "nir", "B11": "swir16",
             "B12": "swir22"}
_FACTOR = 3  # 10 m -> 30 m


def cnn_available() -> bool:
    """Whether the optional extra (ukis-csmask with onnxruntime) is installed."""
    try:
        import onnxruntime  # noqa: F401
        import ukis_csmask  # noqa: F401
    except ImportError:
        return False
    return True


def _block_mean(values: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor`` x ``factor`` cells of (bands, rows, cols), NaN-aware."""
    bands, rows, cols = values.shape
    pad = ((0, 0), (0, -rows % factor), (0, -cols % factor))
    padded = np.pad(values, pad, constant_values=np.nan)
    cells = padded.reshape(bands, padded.shape[1] // factor, factor,
                           padded.shape[2] // factor, factor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN
        return np.nanmean(cells, axis=(2, 4)).astype(np.float32)


def _classify_block(block: np.ndarray) -> np.ndarray:
    """CloudSEN12 codes of a (time, band, rows, cols) block with the 6-band L2A model."""
    from ukis_csmask.mask import CSmask

    n_time, _, rows, cols = block.shape
    out = np.full((n_time, rows, cols), NODATA, np.uint8)
    for t in range(n_time):
        coarse = _block_mean(block[t], _FACTOR)
        valid = np.isfinite(coarse).all(axis=0)
        if not valid.any():
            continue
        image = np.moveaxis(np.where(valid, coarse, 0.0), 0, -1).astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # small images: fine, just slower
            csm = CSmask(img=image, band_order=list(CNN_BANDS.values()), product_level="l2a",
                         nodata_value=None, intra_op_num_threads=1, inter_op_num_threads=1
                         ).csm[..., 0]
        codes = np.choose(np.clip(csm, 0, 2), [CLEAR, THICK_CLOUD, SHADOW]).astype(np.uint8)
        codes[~valid] = NODATA
        fine = np.repeat(np.repeat(codes, _FACTOR, axis=0), _FACTOR, axis=1)
        out[t] = fine[:rows, :cols]
    return out


def cnn_masks(reflectance: xr.DataArray, *, halo: int = 96) -> xr.DataArray:
    """Cloud/shadow masks of each scene by the ukis-csmask CNN (6-band L2A model, 30 m).

    Parameters
    ----------
    reflectance : DataArray (time, band, y, x), float32, 0-1
        With bands B02, B03, B04, B08, B11, B12 (other bands are ignored).
    halo : int
        Context added around each chunk, 10 m pixels (a multiple of 3).

    Returns
    -------
    DataArray (time, y, x), uint8: 0 clear, 1 cloud, 3 cloud shadow, 255 no data; lazy.

    Raises
    ------
    ConfigError
        The extra is not installed (``pip install hrlc[cnn]``).
    MissingBandError
        A band of the model is missing.
    """
    if not cnn_available():
        raise ConfigError("the CNN peer needs the optional extra: pip install 'hrlc[cnn]' "
                          "(ukis-csmask and onnxruntime)")
    have = [str(b) for b in reflectance["band"].values]
    missing = [b for b in CNN_BANDS if b not in have]
    if missing:
        raise MissingBandError(f"the CNN needs band(s) {', '.join(missing)} (6-band model: "
                               f"{', '.join(CNN_BANDS)}); read them too")
    stack = reflectance.sel(band=list(CNN_BANDS)).transpose("time", "band", "y", "x")
    data = stack.data if isinstance(stack.data, da.Array) else da.from_array(stack.values)
    data = data.rechunk({0: 1, 1: -1})
    # chunks and halo on the 30 m grid, so 3 x 3 cells never straddle a chunk border
    data = data.rechunk({a: tuple(_aligned(data.chunks[a])) for a in (2, 3)})
    depth = int(np.ceil(halo / _FACTOR)) * _FACTOR
    mask = da.map_overlap(_classify_block, data, depth={0: 0, 1: 0, 2: depth, 3: depth},
                          boundary="none", drop_axis=1, dtype=np.uint8,
                          meta=np.empty((0, 0, 0), np.uint8))
    coords = {k: c for k, c in reflectance.coords.items()
              if set(c.dims) <= {"time", "y", "x"} and k != "band"}
    out = xr.DataArray(mask, dims=("time", "y", "x"), coords=coords, name="cnn_mask",
                       attrs={"long_name": "ukis-csmask cloud mask (CloudSEN12 codes)",
                              "nodata": NODATA})
    return out.rio.write_crs(reflectance.rio.crs) if reflectance.rio.crs else out


def _aligned(chunks: Sequence[int]) -> list[int]:
    """Chunk sizes rounded to multiples of 3 (the last takes the rest)."""
    total, size = sum(chunks), max(_FACTOR, max(chunks) // _FACTOR * _FACTOR)
    sizes = [size] * (total // size)
    if total % size:
        sizes.append(total % size)
    return sizes


def combine_masks(scl: xr.DataArray, refined: xr.DataArray, cnn: xr.DataArray) -> xr.DataArray:
    """Majority of three CloudSEN12 masks (SCL-derived, refined, CNN), lazily.

    Returns
    -------
    DataArray (time, y, x), uint8 CloudSEN12 codes; no data where ``refined`` has none.
    """
    def votes(mask, codes):
        return sum((mask == c).astype(np.uint8) for c in codes)

    cloud = (votes(scl, (THICK_CLOUD, THIN_CLOUD)) + votes(refined, (THICK_CLOUD, THIN_CLOUD))
             + votes(cnn, (THICK_CLOUD, THIN_CLOUD))) >= 2
    shadow = (votes(scl, (SHADOW,)) + votes(refined, (SHADOW,)) + votes(cnn, (SHADOW,))) >= 2
    out = xr.where(cloud, xr.where(refined == THICK_CLOUD, THICK_CLOUD, THIN_CLOUD),
                   xr.where(shadow, SHADOW, CLEAR))
    out = xr.where(refined == NODATA, NODATA, out).astype(np.uint8)
    return out.rename("combined_mask").assign_attrs(
        long_name="majority of SCL, refined and CNN masks (CloudSEN12 codes)", nodata=NODATA)
