"""Writing a simulated series as Sentinel-2 L2A SAFE products, with its truth beside them.

``write_series(series, out_dir, format=...)`` writes one product per date:

- ``safe``: a ``.SAFE`` folder with ``MTD_MSIL2A.xml``, ``manifest.safe`` and
  ``GRANULE/L2A_.../MTD_TL.xml``, bands at their native resolution in lossless JPEG 2000
  (``IMG_DATA/R10m/T31TCJ_..._B02_10m.jp2``, R20m, R60m) and the SCL at 20 m;
- ``safe-zip``: the same folder in a ``.zip`` (stored, as the archive distributes them);
- ``geotiff``: the same layout with tiled, DEFLATE-compressed GeoTIFF band files
  (much faster to write than JPEG 2000; ``read_l2a`` reads both).

Digital numbers are ``round(reflectance * 10000) - BOA_ADD_OFFSET`` (offset -1000 from
baseline 04.00, 0 before), 0 = no data. Everything is computed block by block and every
output is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
import shutil
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import rasterio
from dask.callbacks import Callback

from hrlc.errors import ConfigError, OutputExistsError
from hrlc.io.atomic import atomic_output
from hrlc.io.bands import L2A_BANDS, NATIVE_RESOLUTION
from hrlc.io.safe_writer import _truth
from hrlc.io.safe_writer._metadata import (TileGrid, manifest, product_metadata,
                                           tile_metadata)
from hrlc.io.safe_writer._rasters import (GDAL_CACHE_BYTES, Layer, StagingTarget,
                                          create_staging, encode)

FORMATS = ("safe", "safe-zip", "geotiff")
#: Bytes of staging files a batch of dates may use (dates computed together).
STAGING_BUDGET = 6e9
Progress = Callable[[str, int, int], None]

__all__ = ["FORMATS", "write_series"]


def write_series(series, out_dir: str | os.PathLike, *, format: str = "safe",
                 overwrite: bool = False, clear_dates: int = 3, stac: bool = False,
                 progress: Progress | None = None) -> list[Path]:
    """Write a :class:`~hrlc.simulate.SimulatedSeries` as L2A products plus truth files.

    Parameters
    ----------
    series : SimulatedSeries
    out_dir : path
        Folder for the products; the truth goes to ``out_dir/truth`` (see
        :mod:`hrlc.io.safe_writer._truth`) and the STAC items to ``out_dir/stac``.
    format : {"safe", "safe-zip", "geotiff"}
        JPEG 2000 SAFE folders, the same zipped, or SAFE folders of GeoTIFF bands.
    overwrite : bool
        Replace existing outputs; otherwise :class:`OutputExistsError` before any work.
    clear_dates : int
        Number of dates (the cloudiest) whose clear-sky reflectance is written.
    stac : bool
        Also write a STAC ItemCollection of the products (needs pystac).
    progress : callable, optional
        Called as ``progress(description, done, total)`` as work advances.

    Returns
    -------
    list of Path
        The products, in time order.
    """
    if format not in FORMATS:
        raise ConfigError(f"format {format!r} is not one of {', '.join(FORMATS)}; choose one")
    size = series.config.size
    if size % 6:
        raise ConfigError(
            f"size {size} is not a whole number of 60 m pixels; Sentinel-2 products need a "
            f"multiple of 6 (a full tile is 10980), e.g. {size - size % 6} or "
            f"{size + 6 - size % 6}")
    out_dir = Path(out_dir)
    suffix = ".zip" if format == "safe-zip" else ".SAFE"
    finals = [out_dir / (a.product_name + suffix) for a in series.acquisitions]
    truth = out_dir / "truth"
    if not overwrite:
        existing = [p for p in (*finals, truth / "landcover.tif") if p.exists()]
        if existing:
            raise OutputExistsError(
                f"{existing[0]} already exists; pass --overwrite (overwrite=True) to replace "
                "it, or choose another output folder")
    clear = set(_truth.clear_dates(series, clear_dates))
    tracker = _Tracker(progress, series, len(clear))
    products = []
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        for n, dates in enumerate(_batches(size, len(series.acquisitions), clear)):
            products += _write_batch(series, dates, finals, truth, format=format, clear=clear,
                                     static=n == 0, overwrite=overwrite, tracker=tracker)
        tracker.step("truth: class table, polygons")
        _truth.write_static_truth(series, truth, overwrite=overwrite)
    if stac:
        from hrlc.io.stac import write_item_collection

        write_item_collection(products, out_dir / "stac" / "items.json", overwrite=overwrite)
    tracker.step("done")
    return products


def _batches(size: int, dates: int, clear: set[int]) -> list[list[int]]:
    """Consecutive dates computed together: they share the terrain and land cover of each
    chunk. Their staging files (about 12.5 bytes a pixel, 24.5 more with clear-sky truth)
    stay within :data:`STAGING_BUDGET`."""
    batches: list[list[int]] = [[]]
    used = 0.0
    for t in range(dates):
        need = size * size * (12.5 + (24.5 if t in clear else 0.0))
        if batches[-1] and used + need > STAGING_BUDGET:
            batches.append([])
            used = 0.0
        batches[-1].append(t)
        used += need
    return batches


class _Tracker:
    """Counts work units (rendered blocks, encoded files, product steps) for ``progress``."""

    def __init__(self, progress: Progress | None, series, clear_count: int):
        chunks = series.reflectance.chunks
        blocks = len(chunks[2]) * len(chunks[3])
        files = len(L2A_BANDS) + 2  # bands, SCL, cloud mask
        self.total = len(series.acquisitions) * (blocks + files + 1) + clear_count + 4
        self.done = 0
        self.progress = progress

    def step(self, description: str, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        if self.progress is not None:
            self.progress(description, self.done, self.total)

    def blocks_callback(self, description: str) -> Callback:
        def posttask(key, result, dsk, state, worker_id):
            name = key[0] if isinstance(key, tuple) else key
            if str(name).startswith("simulate-scene-"):
                self.step(description)

        return Callback(posttask=posttask)


@dataclass(frozen=True)
class _Staged:
    """A raster of the batch: its role, date (None for static layers), layer and source."""

    role: str
    date: int | None
    layer: Layer
    source: da.Array


def _date_layers(series, t: int, staging: Path, with_clear: bool) -> list[_Staged]:
    acq = series.acquisitions[t]
    staged = []
    for b, band in enumerate(L2A_BANDS):
        factor = NATIVE_RESOLUTION[band] // 10
        layer = Layer(str(staging / f"{t}_{band}.tif"), factor, 1, "uint16", acq.boa_add_offset, 0)
        staged.append(_Staged(band, t, layer, series.reflectance.data[t, b]))
    staged.append(_Staged("SCL", t, Layer(str(staging / f"{t}_SCL.tif"), 2, 1, "uint8", None, 0),
                          series.scl.data[t]))
    staged.append(_Staged("cloud_mask", t, Layer(
        str(staging / f"{t}_cloud_mask.tif"), 1, 1, "uint8", None, 255,
        colormap=_truth.CLOUD_MASK_COLOURS), series.cloud_mask.data[t]))
    if with_clear:
        staged.append(_Staged("clear", t, Layer(
            str(staging / f"{t}_clear.tif"), 1, len(L2A_BANDS), "uint16", _truth.CLEAR_OFFSET, 0,
            descriptions=tuple(L2A_BANDS)), series.clear_reflectance.data[t]))
    return staged


def _static_layers(series, staging: Path) -> list[_Staged]:
    table = series.class_table
    tags = tuple((f"class_{c.code}", c.name) for c in table.classes)
    return [
        _Staged("landcover", None, Layer(str(staging / "landcover.tif"), 1, 1, "uint8", None, 0,
                                         colormap=table.colormap(), tags=tags),
                series.landcover.data),
        _Staged("dem", None, Layer(str(staging / "dem.tif"), 1, 1, "float32", None, None,
                                   tags=(("units", "m"),)), series.dem.data),
    ]


def _scl_histogram(path: str) -> np.ndarray:
    """Counts of each SCL code (256,) in a staged SCL file, read block by block."""
    counts = np.zeros(256, np.int64)
    with rasterio.open(path) as src:
        for _, window in src.block_windows(1):
            counts += np.bincount(src.read(1, window=window).ravel(), minlength=256)
    return counts


def _write_batch(series, dates: list[int], finals: list[Path], truth: Path, *, format: str,
                 clear: set[int], static: bool, overwrite: bool, tracker: _Tracker) -> list[Path]:
    """Compute dates together into staging files, then encode and assemble their products."""
    cfg = series.config
    grid = TileGrid(cfg.epsg, cfg.ulx, cfg.uly, cfg.size)
    crs, transform = series.reflectance.rio.crs, series.reflectance.rio.transform()
    staging = finals[0].parent / f".hrlc-staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        with ExitStack() as outputs:
            staged = [s for t in dates for s in _date_layers(series, t, staging, t in clear)]
            staged += _static_layers(series, staging) if static else []
            for item in staged:
                create_staging(item.layer, size=cfg.size, crs=crs, transform=transform)
            lock = str(staging / "write")
            store = da.store([s.source for s in staged],
                             [StagingTarget(s.layer, lock) for s in staged],
                             lock=False, compute=False)
            stems = ", ".join(series.acquisitions[t].file_stem for t in dates)
            with tracker.blocks_callback(f"{stems}: simulating"):
                dask.compute(store)
            # from the staged 20 m SCL, not in the graph: a reduction over every chunk
            # would make dask hold many chunks' results at once
            counts = [_scl_histogram(s.layer.path) for s in staged if s.role == "SCL"]
            roots, jobs = {}, []
            for t in dates:
                product = outputs.enter_context(atomic_output(finals[t], overwrite=overwrite))
                acq = series.acquisitions[t]
                zipped = format == "safe-zip"
                roots[t] = (staging / (acq.product_name + ".SAFE") if zipped else product, product)
            for item in staged:
                jobs.append(_job(item, series, roots, truth, format, outputs, overwrite))
            _encode_all(jobs, tracker)
            for t, histogram in zip(dates, counts):
                _assemble(series, t, *roots[t], format=format, grid=grid, scl_counts=histogram)
                tracker.step(f"{series.acquisitions[t].file_stem}: written")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [finals[t] for t in dates]


def _job(item: _Staged, series, roots, truth: Path, format: str, outputs: ExitStack,
         overwrite: bool) -> tuple[str, Path, str, str]:
    """(staging file, final file, encoding, overview resampling) of one staged raster."""
    if item.date is None:
        final = outputs.enter_context(atomic_output(truth / f"{item.role}.tif",
                                                    overwrite=overwrite))
        return item.layer.path, final, "cog", "mode" if item.role == "landcover" else "average"
    acq = series.acquisitions[item.date]
    if item.role == "cloud_mask":
        final = _truth.cloud_mask_path(truth, acq.file_stem)
        return item.layer.path, outputs.enter_context(atomic_output(final, overwrite=overwrite)), \
            "cog", "nearest"
    if item.role == "clear":
        final = _truth.clear_path(truth, acq.file_stem)
        _truth.write_clear_sidecar(final, acq, overwrite=overwrite)
        return item.layer.path, outputs.enter_context(atomic_output(final, overwrite=overwrite)), \
            "cog", "average"
    res = item.layer.factor * 10
    folder = roots[item.date][0] / "GRANULE" / acq.granule_name / "IMG_DATA" / f"R{res}m"
    folder.mkdir(parents=True, exist_ok=True)
    kind, suffix = ("gtiff", ".tif") if format == "geotiff" else ("jp2", ".jp2")
    return item.layer.path, folder / f"{acq.file_stem}_{item.role}_{res}m{suffix}", kind, ""


def _assemble(series, t: int, root: Path, product: Path, *, format: str, grid: TileGrid,
              scl_counts: np.ndarray) -> None:
    """Write the XML of a product whose band files are in place; zip it if asked."""
    acq = series.acquisitions[t]
    granule = root / "GRANULE" / acq.granule_name
    image_files = sorted((p.relative_to(root).with_suffix("").as_posix()
                          for p in granule.glob("IMG_DATA/R*m/*")), key=_image_order)
    (granule / "QI_DATA").mkdir(parents=True, exist_ok=True)
    (granule / "MTD_TL.xml").write_bytes(tile_metadata(acq, grid=grid, scl_counts=scl_counts))
    (root / "MTD_MSIL2A.xml").write_bytes(product_metadata(
        acq, image_files=image_files, image_format="GeoTIFF" if format == "geotiff" else "JPEG2000",
        grid=grid, scl_counts=scl_counts))
    (root / "manifest.safe").write_bytes(manifest(acq, root=root, grid=grid))
    if format == "safe-zip":
        _zip(root, product)


def _image_order(relative: str) -> tuple[int, str]:
    """R10m, then R20m, then R60m, bands in name order (as in real products)."""
    resolution = int(relative.split("/IMG_DATA/R")[1].split("m/")[0])
    return resolution, relative


def _encode_all(jobs: list[tuple[str, Path, str, str]], tracker: _Tracker) -> None:
    """Encode the staged files, a few at a time (GDAL encoders are single-threaded)."""
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(encode, staging, final, kind, resampling=resampling)
                   for staging, final, kind, resampling in jobs]
        for (_, final, _, _), future in zip(jobs, futures):
            future.result()
            tracker.step(f"encoded {Path(final).name}")


def _zip(root: Path, archive: Path) -> None:
    """Zip a SAFE folder (members under ``NAME.SAFE/``, stored: bands are compressed)."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for path in sorted(p for p in root.rglob("*")):
            zf.write(path, (Path(root.name) / path.relative_to(root)).as_posix())
