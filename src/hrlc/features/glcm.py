"""Grey-level co-occurrence (GLCM) textures in a sliding window, with numba.

Definitions follow :func:`skimage.feature.graycomatrix` (``symmetric=True``,
``normed=True``) and :func:`skimage.feature.graycoprops`; the tests check every texture
against scikit-image to 1e-6 on random windows. For a window of ``window x window``
pixels around each pixel and each offset (distance ``d``, angle ``a``), the GLCM counts
the pairs of grey levels ``(q[r, c], q[r + dr, c + dc])`` with both pixels inside the
window, where ``dr = round(sin(a) d)`` and ``dc = round(cos(a) d)`` as in scikit-image.
The matrix is made symmetric (``P + P.T``) and normalised to ``P(i, j)`` summing to 1.

Textures (``P`` normalised, ``mu = sum P(i, j) i``, ``var = sum P(i, j) (i - mu)^2``):

============== ========================================= ===============================
name           formula                                   scikit-image ``graycoprops``
============== ========================================= ===============================
contrast       sum P (i - j)^2                           ``contrast``
dissimilarity  sum P |i - j|                             ``dissimilarity``
homogeneity    sum P / (1 + (i - j)^2)                   ``homogeneity``
ASM            sum P^2                                   ``ASM``
energy         sqrt(ASM)                                 ``energy``
correlation    sum P (i - mu)(j - mu) / var; 1 if var=0  ``correlation``
entropy        -sum P ln P (natural log, 0 ln 0 = 0)     ``entropy``
mean           mu                                        ``mean``
variance       var                                       ``variance``
std            sqrt(var)                                 ``std``
============== ========================================= ===============================

The default six are those of the HRLC reference chain: contrast, dissimilarity,
homogeneity, ASM, correlation and entropy. Each texture is computed per offset and
then averaged over all distances and angles (the mean of the properties, not the
property of the mean matrix).

Speed: instead of building a GLCM per pixel, each image row keeps one histogram per
offset and slides it one column at a time (remove the pairs of the column leaving the
window, add those of the column entering), updating running sums from which every
texture follows in O(1): the counts for contrast, dissimilarity, homogeneity, mean,
variance and correlation, ``sum n^2`` for ASM and ``sum n ln n`` for entropy. Rows run
in parallel (numba ``prange``); dask cuts the image into chunks with a halo of
``window // 2`` pixels.

Missing data: pixels that are NaN (or beyond the image edge) take part in no pair, so a
window at the image edge or next to nodata uses the pairs that remain. A pixel that is
itself NaN, or whose window has no valid pair for any offset, gets NaN. A constant
window gives contrast 0, dissimilarity 0, homogeneity 1, ASM 1, entropy 0 and
correlation 1 (scikit-image's convention), with no warning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import dask
import dask.array as da
import numpy as np
import xarray as xr
from numba import njit, prange

from hrlc.config.feature_names import DEFAULT_TEXTURES, TEXTURES
from hrlc.errors import ConfigError
from hrlc.features._window import map_window, run_parallel_kernel
from hrlc.kernels import kernel_array

_CODE = {name: k for k, name in enumerate(TEXTURES)}
#: Grey level that marks a missing pixel (no pair uses it).
INVALID = 255
# Scale of the fixed-point sums of n ln n and n / (1 + d^2).
_FIXED = float(2**32)

@njit(cache=True)
def _texture_values(code, n, con, dis, hom, sq, nln, si, sii, sij):
    """One texture of one offset from the running sums of its symmetric GLCM."""
    fn = float(n)
    var_n2 = sii * n - si * si  # N^2 * variance, exact in integers
    if code == 0:
        return con / fn
    if code == 1:
        return dis / fn
    if code == 2:
        return hom / (_FIXED * fn)
    if code == 3:
        return sq / (fn * fn)
    if code == 4:
        return math.sqrt(sq / (fn * fn))
    if code == 5:
        return 1.0 if var_n2 == 0 else (sij * n - si * si) / float(var_n2)
    if code == 6:  # one occupied cell (sum n^2 = N^2) has entropy 0, exactly
        return 0.0 if sq == n * n else max(math.log(fn) - nln / (_FIXED * fn), 0.0)
    if code == 7:
        return si / fn
    if code == 8:
        return var_n2 / (fn * fn)
    return math.sqrt(var_n2 / (fn * fn))


@njit(parallel=True, cache=True)
def _glcm_rows(q, r, offsets, levels, codes, nlogn, homw):
    """Textures (len(codes), rows, cols) float64 of a padded uint8 image; border r is NaN.

    Per row and offset, the histogram ``hist[a, b]`` (a <= b) counts unordered pairs; the
    symmetric GLCM holds ``2 hist[a, a]`` on the diagonal and ``hist[a, b]`` at both
    (a, b) and (b, a). Running sums are kept in scalars so that they live in registers,
    and all are integers (``n ln n`` and ``1 / (1 + d^2)`` in fixed point, see
    :func:`_tables`), so a value never depends on where the sliding started: chunked and
    one-chunk results are identical to the last bit.
    """
    rows, cols = q.shape
    n_codes = codes.shape[0]
    out = np.full((n_codes, rows, cols), np.nan)
    for row in prange(r, rows - r):
        total = np.zeros((n_codes, cols))
        used = np.zeros(cols, np.int64)
        hist = np.zeros((levels, levels), np.int32)
        for k in range(offsets.shape[0]):
            dr = offsets[k, 0]
            dc = offsets[k, 1]
            y0 = row - r + max(0, -dr)
            y1 = row + r - max(0, dr)
            x_first = max(0, -dc)  # left pair column of the window starting at column 0
            width = 2 * r + 1 - abs(dc)
            hist[:, :] = 0
            # int64 from the start: from a literal 0, numba's type inference also
            # compiled _texture_values for Literal[int](0) arguments on its way to int64
            n = con = dis = si = sii = sij = sq = hom = nln = np.int64(0)
            for col in range(r, cols - r):
                # the first window is filled column by column; then one column leaves
                # (sign -1) and one enters (sign +1)
                steps = width if col == r else 2
                for t in range(steps):
                    if col == r:
                        x, s = x_first + t, 1
                    elif t == 0:
                        x, s = col - 1 - r + x_first, -1
                    else:
                        x, s = col - 1 - r + x_first + width, 1
                    for y in range(y0, y1 + 1):
                        a = np.int64(q[y, x])
                        b = np.int64(q[y + dr, x + dc])
                        if a >= levels or b >= levels:
                            continue
                        if a > b:
                            a, b = b, a
                        u = np.int64(hist[a, b])
                        v = u + s
                        hist[a, b] = v
                        if a == b:
                            sq += 4 * (v * v - u * u)
                            nln += nlogn[2 * v] - nlogn[2 * u]
                        else:
                            sq += 2 * (v * v - u * u)
                            nln += 2 * (nlogn[v] - nlogn[u])
                        d = b - a
                        n += 2 * s
                        con += 2 * s * d * d
                        dis += 2 * s * d
                        si += s * (a + b)
                        sii += s * (a * a + b * b)
                        sij += 2 * s * a * b
                        hom += 2 * s * homw[d]
                if n == 0 or q[row, col] >= levels:
                    continue
                used[col] += 1
                for c in range(n_codes):
                    total[c, col] += _texture_values(codes[c], n, con, dis, hom, sq, nln,
                                                     si, sii, sij)
        for col in range(r, cols - r):
            if used[col] > 0:
                for c in range(n_codes):
                    out[c, row, col] = total[c, col] / used[col]
    return out


def glcm_offsets(distances: Sequence[int], angles: Sequence[float]) -> np.ndarray:
    """(row, col) pixel offsets of every (distance, angle), rounded as scikit-image does.

    Parameters
    ----------
    distances : sequence of int
        Pixel distances.
    angles : sequence of float
        Angles in degrees, counter-clockwise from the +column direction as in scikit-image
        (0 = right, 90 = down the rows).

    Returns
    -------
    ndarray (n_distances * n_angles, 2) int64, distance-major.
    """
    def c_round(value: float) -> int:  # C's round(): halves away from zero
        return int(math.copysign(math.floor(abs(value) + 0.5), value))

    pairs = [(c_round(math.sin(math.radians(a)) * d), c_round(math.cos(math.radians(a)) * d))
             for d in distances for a in angles]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _check(window: int, levels: int, distances: Sequence[int],
           textures: Sequence[str]) -> None:
    if window < 3 or window % 2 == 0:
        raise ConfigError(f"GLCM window must be an odd number of pixels >= 3; got {window}")
    if not 2 <= levels < INVALID:
        raise ConfigError(f"GLCM levels must be between 2 and {INVALID - 1}; got {levels}")
    if not distances or any(not 1 <= d < window for d in distances):
        raise ConfigError(
            f"GLCM distances must be >= 1 and smaller than the window ({window}); "
            f"got {list(distances)}")
    unknown = [t for t in textures if t not in TEXTURES]
    if unknown or not textures:
        raise ConfigError(f"unknown GLCM texture(s) {unknown or '(none given)'}; "
                          f"known: {', '.join(TEXTURES)}")


def _tables(window: int, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """``n ln n`` and ``1 / (1 + d^2)`` as int64 fixed point (x 2^32, error < 1e-9)."""
    n = np.arange(2 * window * window + 1, dtype=np.float64)
    nlogn = np.where(n > 0, n * np.log(np.maximum(n, 1)), 0.0)
    d = np.arange(levels, dtype=np.float64)
    return (np.round(nlogn * _FIXED).astype(np.int64),
            np.round(_FIXED / (1.0 + d * d)).astype(np.int64))


def _glcm_block(padded: np.ndarray, r: int, offsets: np.ndarray, levels: int,
                codes: np.ndarray, nlogn: np.ndarray, homw: np.ndarray) -> np.ndarray:
    out = run_parallel_kernel(_glcm_rows, kernel_array(padded, np.uint8), r,
                              offsets, levels, codes, nlogn, homw)
    return out.astype(np.float32)


def glcm_array(
    quantized: np.ndarray, *, window: int = 7, levels: int = 32,
    distances: Sequence[int] = (1,), angles: Sequence[float] = (0, 45, 90, 135),
    textures: Sequence[str] = DEFAULT_TEXTURES,
) -> np.ndarray:
    """GLCM textures of an already quantised numpy image, in float64 (the numba core).

    Parameters
    ----------
    quantized : ndarray (y, x) of int
        Grey levels ``0 .. levels - 1``; any value ``>= levels`` marks a missing pixel.
    window, levels, distances, angles, textures
        As in :func:`glcm_textures`.

    Returns
    -------
    ndarray (texture, y, x) float64.
    """
    _check(window, levels, distances, textures)
    r = window // 2
    q = np.asarray(quantized)
    q = np.where((q < 0) | (q >= levels), INVALID, q).astype(np.uint8)
    padded = np.pad(q, r, constant_values=INVALID)
    codes = np.array([_CODE[t] for t in textures], dtype=np.int64)
    out = run_parallel_kernel(_glcm_rows, padded, r, glcm_offsets(distances, angles), levels,
                              codes, *_tables(window, levels))
    return out[:, r:-r, r:-r]


def _robust_range(sample: np.ndarray, percentiles: tuple[float, float]) -> tuple[float, float]:
    values = sample[np.isfinite(sample)]
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(values, percentiles)
    return float(lo), float(hi)


def _quantize_block(block: np.ndarray, value_range: tuple[float, float],
                    levels: int) -> np.ndarray:
    lo, hi = value_range
    scale = levels / (hi - lo) if hi > lo else 0.0
    with np.errstate(invalid="ignore"):
        q = np.floor((block.astype(np.float64) - lo) * scale)
        q = np.clip(q, 0, levels - 1)
    return np.where(np.isfinite(block), q, INVALID).astype(np.uint8)


def quantize(
    band: xr.DataArray, *, levels: int = 32, value_range: tuple[float, float] | None = None,
    percentiles: tuple[float, float] = (2.0, 98.0), sample_pixels: int = 1_000_000,
) -> xr.DataArray:
    """Quantise a band to grey levels ``0 .. levels - 1`` between a robust min and max.

    Parameters
    ----------
    band : DataArray (y, x), float
        Reflectance (0-1) or any float; NaN is nodata.
    levels : int
        Number of grey levels (2-254).
    value_range : (float, float), optional
        Fixed (min, max) in the band's units. Use it when several tiles must share one
        quantisation (textures of tiles quantised on their own are not comparable).
    percentiles : (float, float)
        Percentiles (0-100) of the valid pixels taken as (min, max) when ``value_range``
        is not given; estimated lazily on a regular subsample of about
        ``sample_pixels`` pixels (the same pixels whatever the chunking).

    Returns
    -------
    DataArray (y, x) uint8: ``floor((v - min) / (max - min) * levels)`` clipped to the
    levels, 255 where the band is NaN. ``attrs["glcm_range"]`` holds the range when fixed.
    """
    data = band.data if isinstance(band.data, da.Array) else da.from_array(band.data, chunks=-1)
    if value_range is None:
        step = max(1, math.ceil(math.sqrt(band.size / sample_pixels)))
        span = dask.delayed(_robust_range, pure=True)(data[::step, ::step],
                                                      tuple(percentiles))
    else:
        span = tuple(float(v) for v in value_range)
    q = da.map_blocks(_quantize_block, data, span, levels, dtype=np.uint8)
    attrs = {"glcm_levels": levels, "nodata": INVALID}
    if value_range is not None:
        attrs["glcm_range"] = list(span)
    return band.copy(data=q).assign_attrs(attrs)


def glcm_textures(
    band: xr.DataArray, *, window: int = 7, levels: int = 32,
    distances: Sequence[int] = (1,), angles: Sequence[float] = (0, 45, 90, 135),
    textures: Sequence[str] = DEFAULT_TEXTURES,
    value_range: tuple[float, float] | None = None,
    percentiles: tuple[float, float] = (2.0, 98.0),
) -> xr.DataArray:
    """GLCM textures of one band in a sliding window, lazily (dask ``map_overlap``).

    Parameters
    ----------
    band : DataArray (y, x), float
        E.g. the NIR reflectance (0-1) of one composite; NaN is nodata.
    window : int
        Side of the square window in pixels (odd); the halo is ``window // 2``.
    levels : int
        Grey levels after quantisation (see :func:`quantize`).
    distances : sequence of int
        Pair distances in pixels, each smaller than ``window``.
    angles : sequence of float
        Pair angles in degrees (scikit-image convention); textures are averaged over
        all distances and angles.
    textures : sequence of str
        Names from :data:`TEXTURES`; default :data:`DEFAULT_TEXTURES`.
    value_range, percentiles
        Quantisation range, see :func:`quantize`.

    Returns
    -------
    DataArray (texture, y, x) float32, unitless, NaN where the pixel is NaN; coords
    and attrs of ``band`` carried over.
    """
    textures = list(textures)
    _check(window, levels, distances, textures)
    q = quantize(band, levels=levels, value_range=value_range, percentiles=percentiles)
    r = window // 2
    codes = np.array([_CODE[t] for t in textures], dtype=np.int64)
    out = map_window(_glcm_block, q.data, r, glcm_offsets(distances, angles), levels, codes,
                     *_tables(window, levels), depth=r, boundary=INVALID,
                     n_out=len(textures), dtype=np.float32)
    attrs = dict(band.attrs, glcm_window=window, glcm_levels=levels,
                 glcm_distances=list(distances), glcm_angles=list(angles))
    coords = {k: v for k, v in band.coords.items() if k not in ("band",)}
    # an explicit name: xarray would take the dask array's, a token of the chunking
    return xr.DataArray(out, dims=("texture", *band.dims), coords=coords, attrs=attrs,
                        name="glcm_textures").assign_coords(texture=textures)
