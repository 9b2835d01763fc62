"""Raster grids and the lazy, windowed reading of one band onto a target grid."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from hrlc.errors import CorruptFileError


@dataclass(frozen=True)
class RasterHeader:
    """What a raster file's header tells without decoding pixels."""

    path: str
    crs: CRS | None
    transform: Affine
    shape: tuple[int, int]
    nodata: float | None
    descriptions: tuple[str, ...]
    count: int
    dtype: str

    @property
    def resolution(self) -> float:
        """Pixel size in CRS units (metres for projected CRSs)."""
        return abs(self.transform.a)


def open_header(path: str) -> RasterHeader:
    """Read a raster's header, failing with :class:`CorruptFileError` naming the file."""
    try:
        with rasterio.open(path) as src:
            return RasterHeader(
                path=path, crs=src.crs, transform=src.transform, shape=(src.height, src.width),
                nodata=src.nodata, descriptions=tuple(d or "" for d in src.descriptions),
                count=src.count, dtype=src.dtypes[0],
            )
    except rasterio.errors.RasterioError as exc:
        raise CorruptFileError(
            f"{path}: cannot open raster ({exc}); the file is corrupt, truncated or not a "
            "raster, replace it"
        ) from None


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: CRS, affine transform (pixel corner) and (rows, cols)."""

    crs: CRS | None
    transform: Affine
    shape: tuple[int, int]

    @property
    def resolution(self) -> float:
        return abs(self.transform.a)

    def y_coords(self) -> np.ndarray:
        """Pixel-centre northings, top row first."""
        return self.transform.f + (np.arange(self.shape[0]) + 0.5) * self.transform.e

    def x_coords(self) -> np.ndarray:
        """Pixel-centre eastings, left column first."""
        return self.transform.c + (np.arange(self.shape[1]) + 0.5) * self.transform.a

    def same_as(self, other: Grid) -> bool:
        tol = 1e-6 * self.resolution
        return (
            self.shape == other.shape
            and self.crs == other.crs
            and all(abs(a - b) <= tol for a, b in zip(self.transform[:6], other.transform[:6]))
        )

    def describe(self) -> str:
        epsg = self.crs.to_epsg() if self.crs else None
        t = self.transform
        return (f"EPSG:{epsg} origin ({t.c:.2f}, {t.f:.2f}) pixel {t.a:g} m "
                f"shape {self.shape[0]}x{self.shape[1]}")


class ResampledBand:
    """Array-like (rows, cols) view of one band of one file on a target grid.

    The source and target grids share their origin and differ in pixel size by an
    integer ratio. Coarser sources are up-sampled by pixel replication (nearest
    neighbour): each 20 m pixel covers exactly 2 x 2 pixels at 10 m, so values are
    kept unmixed across field and cloud edges and the band's radiometry is untouched.
    Finer sources are down-sampled by the mean of the valid pixels of each block for
    reflectance, and by the pixel just below and right of the block centre for
    categorical layers (SCL). Only the window asked for is decoded: dask calls
    ``__getitem__`` once per chunk.

    ``kind="reflectance"`` returns float32 ``(DN + offset) / quantification`` with NaN
    where DN equals ``nodata``; ``kind="categorical"`` returns the DNs as uint8.
    """

    def __init__(self, path: str, index: int, source_shape: tuple[int, int],
                 ratio: Fraction, target_shape: tuple[int, int], *, kind: str,
                 offset: float = 0.0, quantification: float = 1.0,
                 nodata: float | None = None):
        self.path, self.index, self.source_shape = path, index, source_shape
        self.ratio, self.shape, self.kind = ratio, target_shape, kind
        self.offset, self.quantification, self.nodata = offset, quantification, nodata
        self.ndim = 2
        self.dtype = np.dtype(np.float32 if kind == "reflectance" else np.uint8)

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        (r0, r1, _), (c0, c1, _) = (k.indices(n) for k, n in zip(key, self.shape))
        if r1 <= r0 or c1 <= c0:
            return np.empty((max(r1 - r0, 0), max(c1 - c0, 0)), self.dtype)
        if self.ratio >= 1:
            f = int(self.ratio)
            s0, s1 = r0 // f, -(-r1 // f)
            t0, t1 = c0 // f, -(-c1 // f)
            raw = self._read(s0, s1, t0, t1)
            raw = np.repeat(np.repeat(raw, f, axis=0), f, axis=1)
            raw = raw[r0 - s0 * f: r0 - s0 * f + (r1 - r0), c0 - t0 * f: c0 - t0 * f + (c1 - c0)]
            return self._convert(raw)
        d = int(1 / self.ratio)
        raw = self._read(r0 * d, r1 * d, c0 * d, c1 * d)
        if self.kind != "reflectance":
            return raw[d // 2::d, d // 2::d].astype(self.dtype)
        values = self._convert(raw).reshape(r1 - r0, d, c1 - c0, d)
        with np.errstate(invalid="ignore", divide="ignore"):
            valid = np.isfinite(values)
            total = np.where(valid, values, 0).sum(axis=(1, 3))
            count = valid.sum(axis=(1, 3))
            return np.where(count > 0, total / np.maximum(count, 1), np.nan).astype(np.float32)

    def _read(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """Read source rows [r0, r1) and cols [c0, c1), padding outside the file with nodata."""
        rows, cols = self.source_shape
        fill = 0 if self.nodata is None else self.nodata
        out = None
        rr0, rr1, cc0, cc1 = max(r0, 0), min(r1, rows), max(c0, 0), min(c1, cols)
        try:
            with rasterio.open(self.path) as src:
                if rr1 > rr0 and cc1 > cc0:
                    data = src.read(self.index, window=Window(cc0, rr0, cc1 - cc0, rr1 - rr0))
                else:
                    data = np.empty((0, 0), src.dtypes[self.index - 1])
        except rasterio.errors.RasterioError as exc:
            raise CorruptFileError(
                f"{self.path}: cannot decode rows {rr0}-{rr1}, cols {cc0}-{cc1} ({exc}); the "
                "file is corrupt or truncated, download it again"
            ) from None
        if data.shape == (r1 - r0, c1 - c0):
            return data
        out = np.full((r1 - r0, c1 - c0), fill, dtype=data.dtype)
        out[rr0 - r0: rr0 - r0 + data.shape[0], cc0 - c0: cc0 - c0 + data.shape[1]] = data
        return out

    def _convert(self, raw: np.ndarray) -> np.ndarray:
        if self.kind != "reflectance":
            return raw.astype(self.dtype, copy=False)
        out = raw.astype(np.float32)
        if self.offset:
            out += np.float32(self.offset)
        out /= np.float32(self.quantification)
        if self.nodata is not None:
            out[raw == self.nodata] = np.nan
        return out
