"""Land-cover mapping: streamed chunked prediction over a tile, map files, map comparison.

``predict_map(features, bundle)`` gives a lazy Dataset (classes, probabilities,
confidence, margin; one dask task per spatial chunk, SVM kernel by float32 GEMM);
``compute_blocks`` fills a resumable Zarr intermediate block by block;
``write_map_outputs`` writes the COGs, the quick-look and the class distribution;
``compare_maps`` compares two class maps.
"""

from hrlc.mapping.compare import MapComparison, compare_maps, write_comparison
from hrlc.mapping.outputs import (MAP_FILES, class_distribution, code_counts, read_class_table,
                                  write_map_outputs)
from hrlc.mapping.predict import CLASS_NODATA, PERCENT_NODATA, predict_map
from hrlc.mapping.predictor import BundlePredictor, PixelPredictions
from hrlc.mapping.resume import BlockRun, compute_blocks, map_fingerprint
from hrlc.model.svm_kernel import FastRbfPredictor, RbfSvm, StackedRbfPredictor

__all__ = [
    "CLASS_NODATA",
    "MAP_FILES",
    "PERCENT_NODATA",
    "BlockRun",
    "BundlePredictor",
    "FastRbfPredictor",
    "MapComparison",
    "PixelPredictions",
    "RbfSvm",
    "StackedRbfPredictor",
    "class_distribution",
    "code_counts",
    "compare_maps",
    "compute_blocks",
    "map_fingerprint",
    "predict_map",
    "read_class_table",
    "write_comparison",
    "write_map_outputs",
]
