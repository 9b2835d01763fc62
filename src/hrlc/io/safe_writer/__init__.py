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
from pathlib import Path

import dask
import dask.array as da
import numpy as np
from dask.callbacks import Callback

from hrlc.errors import ConfigError, OutputExistsError
from hrlc.io.atomic import atomic_output
from hrlc.io.bands import L2A_BANDS, NATIVE_RESOLUTION
from hrlc.io.safe_writer import _truth
from hrlc.io.safe_writer._metadata import (TileGrid, manifest, product_metadata,
                                           tile_metadata)
from hrlc.io.safe_writer._rasters import Layer, StagingTarget, create_staging, encode

FORMATS = ("safe", "safe-zip", "geotiff")
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
            f"multiple of 6 (a full tile is 10980), e.g. {size - size % 6} or {size + 6 - size % 6}")
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
    tracker = _Tracker(progress, series, format, len(clear))
    products = []
    for t in range(len(series.acquisitions)):
        products.append(_write_date(series, t, finals[t], truth, format=format,
                                    with_clear=t in clear, overwrite=overwrite, tracker=tracker))
    tracker.step("truth: land cover, DEM, polygons")
    _truth.write_static_truth(series, truth, overwrite=overwrite)
    if stac:
        from hrlc.io.stac import write_item_collection

        write_item_collection(products, out_dir / "stac" / "items.json", overwrite=overwrite)
    tracker.step("done")
    return products


class _Tracker:
    """Counts work units (rendered blocks, encoded files, product steps) for ``progress``."""

    def __init__(self, progress: Progress | None, series, format: str, clear_count: int):
        chunks = series.reflectance.chunks
        self.blocks = len(chunks[2]) * len(chunks[3])
        files = len(L2A_BANDS) + 2 + (format == "safe-zip")
        self.total = len(series.acquisitions) * (self.blocks + files + 1) + clear_count + 2
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


def _layers(series, t: int, staging: Path, with_clear: bool) -> list[tuple[str, Layer, object]]:
    """(role, staging layer, dask source) of every raster of date ``t``."""
    acq = series.acquisitions[t]
    layers = []
    for b, band in enumerate(L2A_BANDS):
        factor = NATIVE_RESOLUTION[band] // 10
        layer = Layer(str(staging / f"{band}.tif"), factor, 1, "uint16", acq.boa_add_offset, 0)
        layers.append((band, layer, series.reflectance.data[t, b]))
    layers.append(("SCL", Layer(str(staging / "SCL.tif"), 2, 1, "uint8", None, 0),
                   series.scl.data[t]))
    layers.append(("cloud_mask", Layer(str(staging / "cloud_mask.tif"), 1, 1, "uint8", None, 255),
                   series.cloud_mask.data[t]))
    if with_clear:
        layers.append(("clear", Layer(str(staging / "clear.tif"), 1, len(L2A_BANDS), "uint16",
                                      _truth.CLEAR_OFFSET, 0), series.clear_reflectance.data[t]))
    return layers


def _scl_histogram(scl: da.Array) -> da.Array:
    """Counts of each SCL code (256,), summed over the blocks of a (y, x) array."""
    per_block = scl.map_blocks(lambda b: np.bincount(b.ravel(), minlength=256)[None, None],
                               new_axis=2, chunks=(1, 1, 256), dtype=np.int64)
    return per_block.sum(axis=(0, 1))


def _write_date(series, t: int, final: Path, truth: Path, *, format: str, with_clear: bool,
                overwrite: bool, tracker: _Tracker) -> Path:
    acq = series.acquisitions[t]
    cfg = series.config
    grid = TileGrid(cfg.epsg, cfg.ulx, cfg.uly, cfg.size)
    crs, transform = series.reflectance.rio.crs, series.reflectance.rio.transform()
    staging = final.parent / f".hrlc-staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        with ExitStack() as outputs:
            layers = _layers(series, t, staging, with_clear)
            for role, layer, _ in layers:
                create_staging(
                    layer, size=cfg.size, crs=crs, transform=transform,
                    descriptions=list(L2A_BANDS) if role == "clear" else None,
                    colormap=_truth.CLOUD_MASK_COLOURS if role == "cloud_mask" else None)
            lock = str(staging / "write")
            store = da.store([source for _, _, source in layers],
                             [StagingTarget(layer, lock) for _, layer, _ in layers],
                             lock=False, compute=False)
            with tracker.blocks_callback(f"{acq.file_stem}: simulating"):
                _, counts = dask.compute(store, _scl_histogram(series.scl.data[t]))

            product = outputs.enter_context(atomic_output(final, overwrite=overwrite))
            root = staging / (acq.product_name + ".SAFE") if format == "safe-zip" else product
            granule = root / "GRANULE" / acq.granule_name
            jobs, image_files = [], []
            kind, suffix = ("gtiff", ".tif") if format == "geotiff" else ("jp2", ".jp2")
            for role, layer, _ in layers:
                if role == "cloud_mask":
                    target = outputs.enter_context(atomic_output(
                        _truth.cloud_mask_path(truth, acq.file_stem), overwrite=overwrite))
                    jobs.append((layer.path, target, "cog"))
                elif role == "clear":
                    path = _truth.clear_path(truth, acq.file_stem)
                    target = outputs.enter_context(atomic_output(path, overwrite=overwrite))
                    jobs.append((layer.path, target, "cog"))
                    _truth.write_clear_sidecar(path, acq, overwrite=overwrite)
                else:
                    res = layer.factor * 10
                    relative = f"GRANULE/{acq.granule_name}/IMG_DATA/R{res}m/{acq.file_stem}_{role}_{res}m"
                    image_files.append(relative)
                    (root / relative).parent.mkdir(parents=True, exist_ok=True)
                    jobs.append((layer.path, root / (relative + suffix), kind))
            _encode_all(jobs, tracker, acq.file_stem)

            (granule / "QI_DATA").mkdir(parents=True, exist_ok=True)
            (granule / "MTD_TL.xml").write_bytes(tile_metadata(acq, grid=grid, scl_counts=counts))
            (root / "MTD_MSIL2A.xml").write_bytes(product_metadata(
                acq, image_files=sorted(image_files, key=_image_order),
                image_format="GeoTIFF" if format == "geotiff" else "JPEG2000",
                grid=grid, scl_counts=counts))
            (root / "manifest.safe").write_bytes(manifest(acq, root=root, grid=grid))
            if format == "safe-zip":
                tracker.step(f"{acq.file_stem}: zipping")
                _zip(root, product)
            tracker.step(f"{acq.file_stem}: written")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _image_order(relative: str) -> tuple[int, str]:
    """R10m, then R20m, then R60m, bands in name order (as in real products)."""
    resolution = int(relative.split("/IMG_DATA/R")[1].split("m/")[0])
    return resolution, relative


def _encode_all(jobs: list[tuple[str, Path, str]], tracker: _Tracker, stem: str) -> None:
    """Encode the staged files; a few at a time (GDAL encoders are single-threaded)."""
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(encode, staging, final, kind) for staging, final, kind in jobs]
        for future in futures:
            future.result()
            tracker.step(f"{stem}: encoding")


def _zip(root: Path, archive: Path) -> None:
    """Zip a SAFE folder (members under ``NAME.SAFE/``, stored: bands are compressed)."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for path in sorted(p for p in root.rglob("*")):
            zf.write(path, (Path(root.name) / path.relative_to(root)).as_posix())

