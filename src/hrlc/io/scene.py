"""What the readers know about one acquisition, whatever the container it came in."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class BandFile:
    """One raster band on disk.

    Attributes
    ----------
    path : str
        Path GDAL can open (a plain path or a ``/vsizip/`` path inside an archive).
    resolution : float
        Pixel size in metres (square pixels).
    index : int
        1-based band index inside the file (multi-band GeoTIFFs).
    """

    path: str
    resolution: float
    index: int = 1


@dataclass(frozen=True)
class Scene:
    """Metadata and band files of one L2A acquisition.

    ``bands`` maps each band id to its files at every resolution the product holds,
    finest first; ``scl`` likewise for the scene classification layer.
    Reflectance is ``(DN + boa_add_offset[band]) / quantification``; DN equal to
    ``nodata`` becomes NaN. ``sun_zenith`` and ``sun_azimuth`` are in degrees
    (azimuth clockwise from north), NaN when unknown.
    """

    source: str
    kind: str  # "safe", "safe-zip", "band-folder" or "multiband"
    product_name: str
    datetime: np.datetime64
    bands: dict[str, tuple[BandFile, ...]]
    scl: tuple[BandFile, ...] = ()
    tile_id: str | None = None
    processing_level: str = "Level-2A"
    processing_baseline: str | None = None
    quantification: float = 10000.0
    boa_add_offset: dict[str, float] = field(default_factory=dict)
    nodata: float | None = 0
    sun_zenith: float = float("nan")
    sun_azimuth: float = float("nan")
    cloud_cover: float | None = None
    epsg: int | None = None

    def offset(self, band: str) -> float:
        """BOA_ADD_OFFSET of ``band`` in DN (0 before processing baseline 04.00)."""
        return float(self.boa_add_offset.get(band, 0.0))

    @property
    def band_names(self) -> list[str]:
        """Band ids the scene holds, in canonical order."""
        from hrlc.io.bands import sort_bands

        return sort_bands(list(self.bands))
