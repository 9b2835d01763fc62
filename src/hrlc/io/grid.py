"""Raster grids and the lazy, windowed reading of one band onto a target grid."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from hrlc.errors import CorruptFileError, GridMismatchError


#: What to check when a remote raster (GDAL /vsicurl/, /vsis3/...) cannot be opened.
REMOTE_HINT = ("check the URL, the network and the credentials: AWS_NO_SIGN_REQUEST=YES for "
               "public buckets, AWS_S3_ENDPOINT and AWS keys for CDSE (eodata), the "
               "planetary-computer package for Planetary Computer hrefs (docs/read.md)")


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
        fix = (REMOTE_HINT if path.startswith("/vsi") and not path.startswith("/vsizip/")
               else "the file is corrupt, truncated or not a raster, replace it")
        raise CorruptFileError(f"{path}: cannot open raster ({exc}); {fix}") from None


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

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in CRS units."""
        t, (rows, cols) = self.transform, self.shape
        return t.c, t.f + rows * t.e, t.c + cols * t.a, t.f

    def window(self, row0: int, col0: int, rows: int, cols: int) -> Grid:
        """The sub-grid of ``rows x cols`` pixels starting at pixel (row0, col0)."""
        t = self.transform
        return Grid(self.crs, t * Affine.translation(col0, row0), (rows, cols))


def grid_at(header: RasterHeader, resolution: float) -> Grid:
    """The grid of a raster's extent at ``resolution`` (partial pixels count as whole)."""
    t, (rows, cols) = header.transform, header.shape
    scale = header.resolution / resolution
    shape = (int(np.ceil(rows * scale - 1e-9)), int(np.ceil(cols * scale - 1e-9)))
    return Grid(header.crs, Affine(resolution, 0, t.c, 0, -resolution, t.f), shape)


def pixel_ratio(header: RasterHeader, resolution: float) -> Fraction:
    """Source pixels per target pixel side as a fraction (2 for 20 m onto 10 m).

    Raises
    ------
    GridMismatchError
        The file's pixel size is not an integer multiple or fraction of ``resolution``.
    """
    ratio = Fraction(header.resolution / resolution).limit_denominator(64)
    if ratio.numerator != 1 and ratio.denominator != 1:
        raise GridMismatchError(
            f"{header.path}: pixel size {header.resolution:g} m is not an integer multiple "
            f"or fraction of the requested {resolution:g} m; choose resolution 10, 20 or 60"
        )
    return ratio


def check_on_grid(header: RasterHeader, grid: Grid, *, reference: str) -> None:
    """Check that a raster lies on ``grid`` up to less than one of its own pixels.

    Layers of one product share CRS and origin, but their extents differ by a partial
    coarse pixel when the 10 m size is not a multiple of 6 (an odd-sized crop: a 20 m SCL
    of 474 rows covers 948 rows at 10 m, the 10 m bands 947). Such a layer is cropped or
    padded with nodata to the grid by :class:`ResampledBand`; anything else is an error
    that says what differs.

    Raises
    ------
    GridMismatchError
        CRS, origin (by more than 1 % of a pixel) or extent (by a whole pixel of the
        coarser of file and grid) differ; the message names both and the fix.
    """
    problems = []
    if header.crs != grid.crs:
        problems.append(f"CRS {_epsg(header.crs)} vs {_epsg(grid.crs)}")
    t, g = header.transform, grid.transform
    tol = 0.01 * min(header.resolution, grid.resolution)
    if abs(t.b) > 1e-9 or abs(t.d) > 1e-9 or t.e > 0:
        problems.append("the raster is rotated or not north-up")
    if abs(t.c - g.c) > tol or abs(t.f - g.f) > tol:
        problems.append(f"origin ({t.c:.2f}, {t.f:.2f}) vs ({g.c:.2f}, {g.f:.2f})")
    coarse = max(header.resolution, grid.resolution)
    extent = (header.shape[0] * header.resolution, header.shape[1] * header.resolution)
    wanted = (grid.shape[0] * grid.resolution, grid.shape[1] * grid.resolution)
    if any(abs(a - b) >= coarse - tol for a, b in zip(extent, wanted)):
        problems.append(
            f"extent {extent[0]:g} x {extent[1]:g} m ({header.shape[0]}x{header.shape[1]} "
            f"pixels of {header.resolution:g} m) vs {wanted[0]:g} x {wanted[1]:g} m "
            f"({grid.shape[0]}x{grid.shape[1]} of {grid.resolution:g} m)")
    if problems:
        raise GridMismatchError(
            f"{header.path} is not on the grid of {reference}: " + "; ".join(problems)
            + ". Layers of one scene must share CRS and origin and cover the same area "
            "(to less than one pixel); read them from the same product, or reproject "
            "(gdalwarp -tr/-te) onto the reference grid first")


def _epsg(crs: CRS | None) -> str:
    if crs is None:
        return "none"
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_string()


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
    ``origin`` (row, col) is the target pixel that index (0, 0) stands for: an area of
    interest reads only its window of the file.
    """

    def __init__(self, path: str, index: int, source_shape: tuple[int, int],
                 ratio: Fraction, target_shape: tuple[int, int], *, kind: str,
                 offset: float = 0.0, quantification: float = 1.0,
                 nodata: float | None = None, origin: tuple[int, int] = (0, 0)):
        self.path, self.index, self.source_shape = path, index, source_shape
        self.ratio, self.shape, self.kind = ratio, target_shape, kind
        self.origin = origin
        self.offset, self.quantification, self.nodata = offset, quantification, nodata
        self.ndim = 2
        self.dtype = np.dtype(np.float32 if kind == "reflectance" else np.uint8)

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        (r0, r1, _), (c0, c1, _) = (k.indices(n) for k, n in zip(key, self.shape))
        if r1 <= r0 or c1 <= c0:
            return np.empty((max(r1 - r0, 0), max(c1 - c0, 0)), self.dtype)
        row0, col0 = self.origin
        r0, r1, c0, c1 = r0 + row0, r1 + row0, c0 + col0, c1 + col0
        if self.ratio >= 1:
            f = int(self.ratio)
            s0, s1 = r0 // f, -(-r1 // f)
            t0, t1 = c0 // f, -(-c1 // f)
            values = self._read(s0, s1, t0, t1)
            values = np.repeat(np.repeat(values, f, axis=0), f, axis=1)
            return values[r0 - s0 * f: r0 - s0 * f + (r1 - r0),
                          c0 - t0 * f: c0 - t0 * f + (c1 - c0)]
        d = int(1 / self.ratio)
        values = self._read(r0 * d, r1 * d, c0 * d, c1 * d)
        if self.kind != "reflectance":
            return values[d // 2::d, d // 2::d]
        values = values.reshape(r1 - r0, d, c1 - c0, d)
        with np.errstate(invalid="ignore", divide="ignore"):
            valid = np.isfinite(values)
            total = np.where(valid, values, 0).sum(axis=(1, 3))
            count = valid.sum(axis=(1, 3))
            return np.where(count > 0, total / np.maximum(count, 1), np.nan).astype(np.float32)

    def _read(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """Source rows [r0, r1) and cols [c0, c1), converted (:meth:`_convert`).

        Outside the file is no data: NaN reflectance, SCL 0.
        """
        rows, cols = self.source_shape
        rr0, rr1, cc0, cc1 = max(r0, 0), min(r1, rows), max(c0, 0), min(c1, cols)
        data = None
        if rr1 > rr0 and cc1 > cc0:
            try:
                with rasterio.open(self.path) as src:
                    data = src.read(self.index, window=Window(cc0, rr0, cc1 - cc0, rr1 - rr0))
            except rasterio.errors.RasterioError as exc:
                raise CorruptFileError(
                    f"{self.path}: cannot decode rows {rr0}-{rr1}, cols {cc0}-{cc1} ({exc}); "
                    "the file is corrupt or truncated, download it again"
                ) from None
            if data.shape == (r1 - r0, c1 - c0):
                return self._convert(data)
        out = np.full((r1 - r0, c1 - c0), np.nan if self.kind == "reflectance" else 0,
                      dtype=self.dtype)
        if data is not None:
            out[rr0 - r0: rr0 - r0 + data.shape[0], cc0 - c0: cc0 - c0 + data.shape[1]] = \
                self._convert(data)
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
