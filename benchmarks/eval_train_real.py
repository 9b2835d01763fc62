"""Real-data figures of the SVM stage: OA, macro-F1 and ECE of every classifier variant.

Two real data sets, each with a spatial-block split (the dataset's ``split`` column: whole
blocks held out) and with a pixel-random split of the same rows, to show the leakage gap
(neighbouring pixels of one polygon on both sides of a random split):

- Aberystwyth (bundled): 10-band S2 scene -> bands, 5 indices, 3 GLCM textures; 40
  hand-drawn polygons, 4 classes; 1 km blocks;
- eo-learn test patch (tests/data): 5 real L1C scenes x 13 bands; 88 RABA land-use
  polygons, 4 classes (cultivated land, 11 pixels, dropped); polygons span the blocks of
  this 1 km patch, so the held-out set and the folds are whole polygons.

Run: ``nice -n 10 .venv/bin/python benchmarks/eval_train_real.py`` (a few minutes on
2 cores); writes ``benchmarks/results/train_real.{json,md}``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
L1C_BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10",
             "B11", "B12"]


def aber_samples():
    from hrlc.dataset import build_dataset, polygon_labels, read_class_table, read_vectors
    from hrlc.features import build_features
    from hrlc.io import read_l2a
    from hrlc.testing import bundled, bundled_aber

    cube = build_features(read_l2a(bundled_aber(), chunks=512),
                          indices=["NDVI", "NDWI", "NDBI", "NDMI", "SAVI"],
                          glcm_textures=["contrast", "homogeneity", "entropy"])
    classes = read_class_table(ROOT / "configs" / "classes_aber.yaml")
    layers = {"cls_forest_smpls": "forest", "cls_grass_smpls": "grass",
              "cls_urban_smpls": "urban", "cls_water_smpls": "water"}
    vectors = read_vectors(bundled("aber", "training_polygons_aber.gpkg"))
    polygons = polygon_labels(vectors, classes=classes, crs=cube.rio.crs, layers=layers)
    return build_dataset(cube, classes=classes, polygons=polygons, strategy="standard",
                         block_size=1000, seed=0)


def eolearn_samples():
    import dask.array as da
    import xarray as xr
    from affine import Affine

    from hrlc.dataset import build_dataset, polygon_labels, read_class_table, read_vectors

    folder = ROOT / "tests" / "data" / "eolearn-testeopatch"
    box = json.loads((folder / "bbox.geojson").read_text())["coordinates"][0]
    xs, ys = [p[0] for p in box], [p[1] for p in box]
    h, w = 101, 100
    transform = Affine((max(xs) - min(xs)) / w, 0, min(xs), 0, -(max(ys) - min(ys)) / h,
                       max(ys))
    scenes = np.load(folder / "REFERENCE_SCENES.npy")          # (scene, y, x, band)
    values = scenes.transpose(0, 3, 1, 2).reshape(-1, h, w).astype(np.float32)
    names = [f"L1C_s{s + 1}_{b}" for s in range(scenes.shape[0]) for b in L1C_BANDS]
    cube = xr.DataArray(
        da.from_array(values, chunks=(13, 64, 64)), dims=("feature", "y", "x"),
        coords={"feature": names, "y": transform.f + transform.e * (np.arange(h) + 0.5),
                "x": transform.c + transform.a * (np.arange(w) + 0.5)},
    ).rio.write_crs("EPSG:32633").rio.write_transform(transform)
    classes = read_class_table(ROOT / "configs" / "classes_eolearn.yaml")
    polygons = polygon_labels(read_vectors(folder / "LULC_polygons.gpkg"), classes=classes,
                              crs=cube.rio.crs, class_field="LULC_ID", ignore=[0])
    # polygons span the 200 m blocks of this 1 km patch: split and cross-validate by polygon;
    # cultivated land (11 pixels) is too small to train on
    return build_dataset(cube, classes=classes, polygons=polygons, strategy="standard",
                         block_size=200, split_by="polygon", max_per_class=2000,
                         min_per_class=50, drop_small_classes=True, seed=0)


#: The product's defaults (TrainConfig): wide C/gamma search with successive halving,
#: class_weight and calibration chosen by the training folds; only the cores are set.
GRID = {"n_jobs": 2}


def evaluate(table, metadata, split: str, cv_groups: str) -> dict:
    """Every variant on one split, with the defaults of ``hrlc train``: the multiclass SVM
    (the bundle's), the one-vs-all SVM and the RandomForest."""
    from hrlc.model import train_model

    classes = {r["code"]: {"name": r["name"]} for r in metadata["classes"]}
    runs = [dict(classifier="multiclass", compare=["ova", "random_forest"])]
    figures = {}
    for options in runs:
        start = time.perf_counter()
        result = train_model(table, class_table=classes, split=split, test_fraction=0.3,
                             cv_groups=cv_groups, features=metadata["features"], **GRID,
                             **options)
        elapsed = time.perf_counter() - start
        for name, info in result.variants.items():
            if options.get("aggregation") == "softmax":
                name = "svm_ova_softmax"
            m = info["test"]
            other = m.get("other_labels")
            figures[name] = {"overall_accuracy": round(m["overall_accuracy"], 4),
                             "macro_f1": round(m["macro_f1"], 4),
                             "ece": None if m.get("ece") is None else round(m["ece"], 4),
                             "n_test": m["n"], "n_train": result.data["n_train"],
                             "cost": info.get("n_support_vectors", info.get("n_nodes")),
                             "run_seconds": round(elapsed, 1),
                             "labels": info.get("labels"),
                             "best_params": info.get("best_params"),
                             "calibration": info.get("calibration"),
                             "other_labels": None if other is None else {
                                 k: (round(v, 4) if isinstance(v, float) else v)
                                 for k, v in other.items()}}
        if split == "column":
            figures["svm_multiclass"]["calibration_methods"] = calibration_methods(
                result, table[table["split"] == "test"])
    return figures


def calibration_methods(result, test) -> dict | None:
    """Each calibration method of the bundle's multiclass SVM (``calibration: auto``):
    the out-of-fold log loss and ECE that chose among them, and the ECE each gives on the
    held-out rows (calibrators fitted on all out-of-fold values, as the chosen one)."""
    from hrlc.model import expected_calibration_error, probabilities_from_scores

    bundle = result.bundle
    svm = bundle.classifier
    candidates = getattr(svm, "calibration_candidates_", None)
    if not candidates:
        return None
    scores = bundle.decision_scores(test[list(bundle.input_features)])
    y_index = np.searchsorted(bundle.classes, test["class"].to_numpy())
    return {method: {"oof_log_loss": round(svm.calibration_scores_[method]["log_loss"], 4),
                     "oof_ece": round(svm.calibration_scores_[method]["ece"], 4),
                     "heldout_ece": round(expected_calibration_error(
                         y_index, probabilities_from_scores(scores, calibrators)), 4),
                     "chosen": method == svm.calibration_}
            for method, calibrators in candidates.items()}


def calibration_table(out: dict) -> list[str]:
    """Markdown rows: every calibration method of the multiclass SVM, spatial splits."""
    lines = ["| data | split | method | out-of-fold log loss | out-of-fold ECE | held-out ECE "
             "| chosen |", "|---|---|---|---|---|---|---|"]
    for name, info in out.items():
        for split, variants in info["splits"].items():
            methods = variants.get("svm_multiclass", {}).get("calibration_methods") or {}
            for method, m in methods.items():
                lines.append(f"| {name} | {split} | {method} | {m['oof_log_loss']:.3f} | "
                             f"{m['oof_ece']:.3f} | {m['heldout_ece']:.3f} | "
                             f"{'yes' if m['chosen'] else ''} |")
    return lines


def main() -> int:
    from hrlc.benchmark import load_average, machine_facts

    start_load = load_average()
    out = {}
    for name, make, groups in (("aber", aber_samples, "block"),
                               ("eolearn", eolearn_samples, "polygon")):
        table, metadata = make()
        counts = table.groupby(["class_name", "split"]).size().unstack(fill_value=0)
        print(f"{name}: {len(table)} samples, {len(metadata['features'])} features\n{counts}",
              flush=True)
        out[name] = {"samples": len(table), "features": len(metadata["features"]),
                     "blocks": int(table["block"].nunique()),
                     "polygons": int(table["polygon_id"].nunique()),
                     "splits": {}}
        spatial = "block" if groups == "block" else "polygon"
        for split, label in (("column", spatial), ("pixel", "pixel")):
            out[name]["splits"][label] = evaluate(table, metadata, split, groups)
            print(json.dumps(out[name]["splits"][label], indent=1), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    machine = machine_facts(load_at_start=start_load)
    (RESULTS / "train_real.json").write_text(json.dumps({**out, "machine": machine},
                                                        indent=1, default=str))
    lines = ["| data | split | variant | OA | macro-F1 | ECE | OA / macro-F1, labels = most "
             "probable class | SVs / nodes |", "|---|---|---|---|---|---|---|---|"]
    for name, info in out.items():
        for split, variants in info["splits"].items():
            for variant, m in variants.items():
                other = m["other_labels"]
                alt = "-" if other is None else (f"{other['overall_accuracy']:.3f} / "
                                                 f"{other['macro_f1']:.3f}")
                lines.append(f"| {name} | {split} | {variant} | {m['overall_accuracy']:.3f} | "
                             f"{m['macro_f1']:.3f} | "
                             + ("-" if m["ece"] is None else f"{m['ece']:.3f}")
                             + f" | {alt} | {m['cost']} |")
    lines += ["", "Calibration of the multiclass SVM (`calibration: auto` chooses by the "
              "out-of-fold `calibration_metric`, ECE by default; the held-out ECE is never "
              "seen by the choice):", ""] + calibration_table(out)
    lines += ["", f"Defaults of `hrlc train` (wide search, class_weight and calibration chosen "
              f"by the training folds); {machine['cores']} cores, load average "
              f"{machine['load_average_start'][0]} at start, "
              f"{machine['load_average_end'][0]} at end. Written by "
              "benchmarks/eval_train_real.py."]
    (RESULTS / "train_real.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
