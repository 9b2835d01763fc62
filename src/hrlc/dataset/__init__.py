"""Training datasets: labelled pixels and their features, from polygons and land-cover maps.

``build_dataset(cube, classes=..., polygons=..., lc_maps=..., **options)`` returns the
sample table (pandas) and its metadata; ``write_samples`` / ``read_samples`` store them
as CSV and Parquet with a JSON sidecar.

The sample table
----------------
``x, y`` (pixel centre, grid CRS), ``row, col``, ``class`` (int code), ``class_name``,
``polygon_id`` (int, -1 for land-cover-map samples), ``source`` (``polygon`` |
``lcmap``), ``block`` (int spatial block), ``split`` (``train`` | ``test`` | ``eval``),
then one float32 column per feature, named as the cube's ``feature`` coordinate.

Strategies (from the ESA CCI HRLC chain)
----------------------------------------
- ``standard``: annotated polygons only;
- ``enhanced``: polygons plus pixels drawn from land-cover maps (per-class counts,
  optional erosion away from class borders);
- ``fulllc``: samples from land-cover maps only; polygon pixels are the ``eval`` set.
"""

from hrlc.dataset.blocks import SPLITS, assign_split, block_ids, block_pixels, split_groups
from hrlc.dataset.build import COLUMNS, STRATEGIES, DatasetWarning, build_dataset
from hrlc.dataset.classes import ClassInfo, ClassTable, LCMapping
from hrlc.dataset.extract import extract_features
from hrlc.dataset.labels import infer_classes, label_values, polygon_labels
from hrlc.dataset.lcmap import Exclusion, lc_classes, merge_by_priority, sample_lc
from hrlc.dataset.rasterize import rasterize_labels
from hrlc.dataset.report import (
    key_features,
    plot_class_counts,
    plot_feature_distributions,
    report_markdown,
)
from hrlc.dataset.summary import class_summary, count_table
from hrlc.io.vectors import (
    read_class_table,
    read_lc_map,
    read_lc_mapping,
    read_samples,
    read_vectors,
    write_samples,
)

__all__ = [
    "COLUMNS",
    "SPLITS",
    "STRATEGIES",
    "ClassInfo",
    "ClassTable",
    "DatasetWarning",
    "Exclusion",
    "LCMapping",
    "assign_split",
    "block_ids",
    "block_pixels",
    "build_dataset",
    "class_summary",
    "count_table",
    "extract_features",
    "infer_classes",
    "key_features",
    "label_values",
    "lc_classes",
    "merge_by_priority",
    "plot_class_counts",
    "plot_feature_distributions",
    "polygon_labels",
    "rasterize_labels",
    "read_class_table",
    "read_lc_map",
    "read_lc_mapping",
    "read_samples",
    "read_vectors",
    "report_markdown",
    "sample_lc",
    "split_groups",
    "write_samples",
]
