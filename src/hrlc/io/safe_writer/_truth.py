"""The truth written beside simulated products (``<out>/truth/``).

======================================  =================================================
``landcover.tif``                        class codes, COG uint8 with colour table, 0 = no data
``dem.tif``                              elevation, metres, COG float32
``classes.yaml``                         class table: code, name, colour
``training_polygons.gpkg``               polygons with ``class``, ``class_name``,
                                         ``true_class``, ``mislabelled``, ``overlapping``
``cloud_mask/<stem>_cloud_mask.tif``     per date, CloudSEN12 codes, COG uint8, 255 = no data
``clear/<stem>_clear.tif`` + ``.yaml``   clear-sky reflectance of a few dates: 12-band COG of
                                         DN with BOA offset -1000, readable by ``read_l2a``
``simulation.yaml``                      every option and per-date facts (sun, clouds, shadows)
======================================  =================================================
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import yaml

from hrlc.io.atomic import atomic_output
from hrlc.io.bands import L2A_BANDS

#: Display colours of the CloudSEN12 codes in the cloud mask files.
CLOUD_MASK_COLOURS = {0: (60, 140, 60), 1: (250, 250, 250), 2: (150, 200, 250),
                      3: (60, 60, 60), 255: (0, 0, 0)}
CLEAR_OFFSET = -1000.0  # DN offset of the clear-sky files (keeps small negatives)


def cloud_mask_path(truth: Path, stem: str) -> Path:
    return truth / "cloud_mask" / f"{stem}_cloud_mask.tif"


def clear_path(truth: Path, stem: str) -> Path:
    return truth / "clear" / f"{stem}_clear.tif"


def clear_dates(series, count: int) -> list[int]:
    """Indices of the ``count`` cloudiest dates (most to restore), in time order."""
    covers = np.array([s.cloud_cover for s in series.skies])
    order = np.argsort(-covers, kind="stable")[:max(count, 0)]
    return sorted(int(i) for i in order)


def write_clear_sidecar(path: Path, acquisition, *, overwrite: bool) -> None:
    """YAML beside a clear-sky file telling ``read_l2a`` its bands, scaling, date and sun."""
    sidecar = path.with_suffix(".yaml")
    text = yaml.safe_dump({
        "band_names": list(L2A_BANDS),
        "quantification": 10000.0,
        "boa_add_offset": CLEAR_OFFSET,
        "nodata": 0,
        "datetime": acquisition.sensing_time.isoformat(),
        "sun_zenith": float(acquisition.sun_zenith),
        "sun_azimuth": float(acquisition.sun_azimuth),
    }, sort_keys=False)
    with atomic_output(sidecar, overwrite=overwrite) as tmp:
        tmp.write_text(text)


def write_static_truth(series, truth: Path, *, overwrite: bool) -> list[Path]:
    """Class table, training polygons and the simulation record.

    (The land cover and DEM rasters are staged with the first dates, which make them.)
    """
    table = series.class_table
    classes = truth / "classes.yaml"
    with atomic_output(classes, overwrite=overwrite) as tmp:
        tmp.write_text(yaml.safe_dump(table.as_dict(), sort_keys=False))
    polygons = truth / "training_polygons.gpkg"
    frame = series.training_polygons()
    with atomic_output(polygons, overwrite=overwrite) as tmp:
        named = tmp.with_name(tmp.name + ".gpkg")  # GDAL wants the extension
        frame.to_file(named, driver="GPKG", layer="training_polygons", engine="pyogrio")
        os.replace(named, tmp)
    record = truth / "simulation.yaml"
    with atomic_output(record, overwrite=overwrite) as tmp:
        tmp.write_text(yaml.safe_dump(simulation_record(series), sort_keys=False))
    return [classes, polygons, record]


def simulation_record(series) -> dict:
    """Options and per-date facts of a series as plain YAML-able values."""
    options = series.config.model_dump(mode="json")
    dates = []
    for acq, sky in zip(series.acquisitions, series.skies):
        dates.append({
            "product": acq.product_name,
            "sensing_time": acq.sensing_time.isoformat(),
            "processing_baseline": acq.baseline,
            "boa_add_offset": acq.boa_add_offset,
            "sun_zenith": round(acq.sun_zenith, 6),
            "sun_azimuth": round(acq.sun_azimuth, 6),
            "cloud_cover": round(sky.cloud_cover, 6),
            "cirrus_opacity": round(sky.cirrus_opacity, 6),
            "cloud_height_m": sky.cloud_height,
            "shadow_shift_px": [round(v, 3) for v in sky.shadow_shift],
            "swath_edge": sky.swath_edge is not None,
        })
    return {"options": options, "dates": dates}
