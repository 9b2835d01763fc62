"""Training time: 20,000 samples x 150 features with the default configuration and grid.

The samples are synthetic (``make_classification``: 8 classes, 40 informative features,
60 linear combinations of them, 50 noise features; 2 % label noise) in the layout of
``hrlc.dataset`` (spatial blocks, ``split`` column): 20,000 training rows plus 6,000
held-out rows. ``train_model`` runs with the defaults of ``TrainConfig``:
multicollinearity selection, standard scaler, multiclass SVM with the 3 x 3 C/gamma grid
(3 folds grouped by block, joblib on all cores), isotonic calibration, RandomForest
baseline (300 trees), evaluation. The time of every step is reported.

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_train.py --out benchmarks/results/train.json
    .venv/bin/python benchmarks/bench_train.py --samples 2000     # a quick check

``peak_rss_mb`` is the peak of the summed RSS of this process and its joblib workers
(sampled every 0.2 s); ``cpu_seconds`` counts this process and its workers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

import numpy as np
import pandas as pd


def samples(n_train: int = 20_000, n_test: int = 6_000, n_features: int = 150,
            seed: int = 0) -> pd.DataFrame:
    from sklearn.datasets import make_classification

    n = n_train + n_test
    X, y = make_classification(n, n_features, n_informative=40, n_redundant=60, n_classes=8,
                               n_clusters_per_class=2, class_sep=1.0, flip_y=0.02,
                               random_state=seed)
    rng = np.random.default_rng(seed)
    block = rng.integers(0, 400, n)
    table = pd.DataFrame({"class": y + 1, "class_name": [f"c{k + 1}" for k in y],
                          "polygon_id": -1, "block": block})
    order = np.argsort(rng.random(n))
    split = np.empty(n, dtype=object)
    split[order[:n_train]], split[order[n_train:]] = "train", "test"
    table["split"] = split
    features = pd.DataFrame(X.astype(np.float32), columns=[f"F{j:03d}" for j in range(n_features)])
    return pd.concat([table, features], axis=1)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="JSON file for the results")
    parser.add_argument("--samples", type=int, default=20_000,
                        help="training rows (plus 30 %% held out); default 20000")
    args = parser.parse_args(argv)

    from hrlc.benchmark import PeakRSS
    from hrlc.config.train import TrainConfig
    from hrlc.model import train_model

    table = samples(args.samples, round(args.samples * 0.3))
    config = TrainConfig().model_dump()
    marks: list[tuple[str, float]] = []
    cpu = _cpu_seconds()
    start = time.perf_counter()
    with PeakRSS(children=True) as tree:
        result = train_model(table, progress=lambda step: marks.append((step,
                                                                         time.perf_counter())),
                             **config)
    total = time.perf_counter() - start
    marks.append(("end", time.perf_counter()))
    steps = {name: round(t1 - t0, 1) for (name, t0), (_, t1) in zip(marks, marks[1:])}
    svm = result.variants["svm_multiclass"]
    out = {
        "rows": len(table), "n_train": result.data["n_train"], "features": 150,
        "selected_features": len(result.bundle.input_features),
        "grid": {"C": config["C"], "gamma_factors": config["gamma_factors"],
                 "cv_folds": config["cv_folds"]},
        "n_jobs": config["n_jobs"], "cpus": os.cpu_count(), "machine": platform.machine(),
        "total_seconds": round(total, 1), "steps_seconds": steps,
        "svm": {"fit_seconds": round(svm["fit_seconds"], 1), "best_params": svm["best_params"],
                "n_support_vectors": svm["n_support_vectors"],
                "test_overall_accuracy": round(svm["test"]["overall_accuracy"], 4),
                "test_macro_f1": round(svm["test"]["macro_f1"], 4),
                "test_ece": round(svm["test"]["ece"], 4)},
        "random_forest": {k: round(v, 4) if isinstance(v, float) else v for k, v in {
            "fit_seconds": result.variants["random_forest"]["fit_seconds"],
            "test_overall_accuracy": result.variants["random_forest"]["test"]["overall_accuracy"],
            "test_macro_f1": result.variants["random_forest"]["test"]["macro_f1"]}.items()},
        "peak_rss_mb_main_process": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_mb": round(max(tree.peak / 2**20, resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss / 1024), 1),
        "cpu_seconds": round(_cpu_seconds() - cpu + tree.children_cpu_seconds, 1),
        "load_average": round(os.getloadavg()[0], 2),
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
