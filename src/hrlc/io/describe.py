"""Human-readable summaries of products (``hrlc info``)."""

from __future__ import annotations

from hrlc.io.bands import sort_bands
from hrlc.io.grid import open_header
from hrlc.io.scene import Scene


def describe_scene(scene: Scene) -> dict[str, object]:
    """Facts about one scene as plain values (JSON-serialisable), reading only headers."""
    files = [f for layer in scene.bands.values() for f in layer]
    finest = min(files, key=lambda f: f.resolution) if files else None  # sets the grid
    header = open_header(finest.path) if finest else None
    epsg = header.crs.to_epsg() if header is not None and header.crs is not None else scene.epsg
    offsets = sorted(set(scene.boa_add_offset.values())) or [0.0]
    return {
        "product": scene.product_name,
        "source": scene.source,
        "kind": scene.kind,
        "tile": scene.tile_id,
        "sensing_time": str(scene.datetime.astype("datetime64[s]")),
        "processing_level": scene.processing_level,
        "processing_baseline": scene.processing_baseline,
        "boa_add_offset": offsets[0] if len(offsets) == 1 else offsets,
        "quantification": scene.quantification,
        "nodata": scene.nodata,
        "crs": f"EPSG:{epsg}" if epsg else None,
        "shape": list(header.shape) if header else None,
        "pixel_size_m": header.resolution if header else None,
        "sun_zenith": scene.sun_zenith,
        "sun_azimuth": scene.sun_azimuth,
        "cloud_cover": scene.cloud_cover,
        "bands": {b: [f.resolution for f in scene.bands[b]] for b in sort_bands(list(scene.bands))},
        "scl": [f.resolution for f in scene.scl],
    }
