"""Features for land-cover classification: spectral bands, 14 indices, GLCM textures, terrain.

``build_features(composites, dem=dem, preset="extended" | "reference", **options)`` gives
the lazy (feature, y, x) cube; the building blocks are public too.
"""

from hrlc.features.build import build_features, month_labels
from hrlc.features.glcm import DEFAULT_TEXTURES, TEXTURES, glcm_array, glcm_textures, quantize
from hrlc.features.indices import (
    INDEX_NAMES,
    INDICES,
    SpectralIndex,
    compute_index,
    resolve_indices,
)
from hrlc.features.presets import ANNUAL_COMPOSITE, PRESETS, REFERENCE_BANDS
from hrlc.features.sobel import sobel
from hrlc.features.temporal import STATISTICS, reduce_time
from hrlc.features.terrain import (
    FLAT_ASPECT,
    REFERENCE_TERRAIN_FEATURES,
    TERRAIN_CUBE_FEATURES,
    TERRAIN_FEATURES,
    metres_per_pixel,
    terrain,
    terrain_features,
)

__all__ = [
    "ANNUAL_COMPOSITE",
    "DEFAULT_TEXTURES",
    "FLAT_ASPECT",
    "INDEX_NAMES",
    "INDICES",
    "PRESETS",
    "REFERENCE_BANDS",
    "REFERENCE_TERRAIN_FEATURES",
    "STATISTICS",
    "TERRAIN_CUBE_FEATURES",
    "TERRAIN_FEATURES",
    "TEXTURES",
    "SpectralIndex",
    "build_features",
    "compute_index",
    "glcm_array",
    "glcm_textures",
    "metres_per_pixel",
    "month_labels",
    "quantize",
    "reduce_time",
    "resolve_indices",
    "sobel",
    "terrain",
    "terrain_features",
]
