"""Training time: hrlc's search against the plain scikit-learn recipe, same rows and folds.

The samples are synthetic (``make_classification``: 8 classes, 2 clusters per class, 2 %
label noise; of the features 40/150 informative, 60/150 linear combinations of them, the
rest noise) in the layout of ``hrlc.dataset`` (spatial blocks, ``split`` column):
``--samples`` training rows plus 30 % held out. In one run:

1. ``hrlc``: ``train_model`` on the plain recipe's grid (C 1, 10, 100 x gamma factors
   0.3, 1, 3 of the scale heuristic, no class weights, isotonic calibration), standard
   scaler, no feature selection, no comparison variants: the same problem as (3);
2. ``hrlc_default``: ``train_model`` with its default search (5 x 5 grid, class weights
   none vs balanced, calibration chosen by the folds), otherwise as (1);
3. ``plain``: ``GridSearchCV(SVC(kernel="rbf"))`` (macro-F1, ``refit=False``) on the same
   scaled rows and the same block-grouped folds (``hrlc.model.svm.cv_splits``), then
   ``CalibratedClassifierCV(SVC(best), method="isotonic", ensemble=False)`` on those folds;
   joblib on all cores.

Held-out macro-F1 is that of the SVM's own vote (hrlc's ``labels: decision``) for both.
``speedup`` is the plain recipe's wall time over hrlc's SVM search + calibration + final
fit (``speedup_whole_call``: over the whole ``train_model`` call). ``peak_rss_mb`` is the
peak of the summed RSS of this process and its workers (sampled every 0.2 s) during each
recipe; ``cpu_seconds`` counts this process's threads and its workers.

``--render-docs`` writes the table of ``docs/train.md`` (between ``<!-- train-speed:start
-->`` and ``<!-- train-speed:end -->``) from the two result files.

Usage::

    .venv/bin/python benchmarks/bench_train.py --samples 6000 --features 60 \\
        --out benchmarks/results/train_6000x60.json --ensemble-check
    nice -n 10 .venv/bin/python benchmarks/bench_train.py --samples 20000 --features 150 \\
        --out benchmarks/results/train_20000x150.json
    .venv/bin/python benchmarks/bench_train.py --render-docs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

from pathlib import Path

import numpy as np
import pandas as pd

PLAIN_GRID = {"C": [1.0, 10.0, 100.0], "gamma_factors": [0.3, 1.0, 3.0]}
ROOT = Path(__file__).resolve().parent.parent
RESULTS = [ROOT / "benchmarks" / "results" / f"train_{size}.json"
           for size in ("6000x60", "20000x150")]
MARKERS = ("<!-- train-speed:start -->", "<!-- train-speed:end -->")


def samples(n_train: int = 20_000, n_test: int = 6_000, n_features: int = 150,
            seed: int = 0) -> pd.DataFrame:
    from sklearn.datasets import make_classification

    n = n_train + n_test
    X, y = make_classification(n, n_features, n_informative=round(n_features * 40 / 150),
                               n_redundant=round(n_features * 60 / 150), n_classes=8,
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


class _Measure:
    """Wall, CPU (this process and its workers) and peak RSS of a block."""

    def __enter__(self):
        from hrlc.benchmark import PeakRSS

        self.tree = PeakRSS(children=True).__enter__()
        self.cpu, self.start = _cpu_seconds(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.start
        self.tree.__exit__(*exc)
        self.cpu_seconds = _cpu_seconds() - self.cpu + self.tree.children_cpu_seconds
        self.peak_mb = self.tree.peak / 2**20

    def record(self) -> dict:
        return {"wall_seconds": round(self.wall, 1), "cpu_seconds": round(self.cpu_seconds, 1),
                "peak_rss_mb": round(self.peak_mb, 1)}


def run_hrlc(table: pd.DataFrame, **options) -> dict:
    """``train_model`` with the benchmark's fixed options (see the module)."""
    from hrlc.model import train_model

    marks: list[tuple[str, float]] = []
    with _Measure() as measure:
        result = train_model(table, selection="none", compare=[], scaler="standard",
                             progress=lambda s: marks.append((s, time.perf_counter())),
                             **options)
    marks.append(("end", time.perf_counter()))
    svm = result.variants["svm_multiclass"]
    return {**measure.record(),
            "steps_seconds": {a: round(t1 - t0, 1) for (a, t0), (_, t1) in zip(marks, marks[1:])},
            "svm_fit_seconds": round(svm["fit_seconds"], 1),
            "best_params": svm["best_params"], "calibration": svm["calibration"],
            "calibration_choice": svm.get("calibration_choice"),
            "selection_metric": svm["selection_metric"],
            "halving_rounds": sorted({(r["round"], r["train_rows"]) for r in svm["cv_results"]}),
            "candidates": len({(r["C"], r["gamma"], r["class_weight"])
                               for r in svm["cv_results"]}),
            "n_support_vectors": svm["n_support_vectors"],
            "test_macro_f1": round(svm["test"]["macro_f1"], 4),
            "test_overall_accuracy": round(svm["test"]["overall_accuracy"], 4),
            "test_ece": round(svm["test"]["ece"], 4),
            "test_log_loss": round(svm["test"]["log_loss"], 4),
            "n_train": result.data["n_train"]}


def training_rows(table: pd.DataFrame, *, folds: int = 3, seed: int = 0):
    """The rows, scaling and folds ``train_model`` uses (split column, block groups)."""
    from sklearn.preprocessing import StandardScaler

    from hrlc.model.samples import (cap_training, feature_columns, holdout_masks,
                                    sample_groups)
    from hrlc.model.svm import cv_splits

    names = feature_columns(table, None)
    masks = holdout_masks(table, rule="column", test_fraction=0.3, seed=seed)
    train = table.loc[masks["train"]]
    train = train.iloc[cap_training(train["class"].to_numpy(), max_samples=20_000, seed=seed)]
    scaler = StandardScaler().fit(train[names].to_numpy(np.float64))
    test = table.loc[masks["test"]]
    y = train["class"].to_numpy()
    splits = cv_splits(y, sample_groups(train, by="block"), n_folds=folds, random_state=seed)
    return (scaler.transform(train[names].to_numpy(np.float64)), y,
            scaler.transform(test[names].to_numpy(np.float64)), test["class"].to_numpy(),
            splits)


def run_plain(X, y, X_test, y_test, splits, *, Cs, gammas, n_jobs: int = -1) -> dict:
    """GridSearchCV(SVC(rbf)) + CalibratedClassifierCV(isotonic, ensemble=False)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.metrics import accuracy_score, f1_score, log_loss
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    from hrlc.model import expected_calibration_error

    with _Measure() as measure:
        search = GridSearchCV(SVC(kernel="rbf", cache_size=500), {"C": Cs, "gamma": gammas},
                              scoring="f1_macro", cv=splits, n_jobs=n_jobs, refit=False).fit(X, y)
        ccv = CalibratedClassifierCV(SVC(kernel="rbf", cache_size=500, **search.best_params_),
                                     method="isotonic", cv=splits, ensemble=False,
                                     n_jobs=n_jobs).fit(X, y)
    svc = ccv.calibrated_classifiers_[0].estimator
    labels, proba = svc.predict(X_test), ccv.predict_proba(X_test)
    return {**measure.record(),
            "best_params": {k: float(v) for k, v in search.best_params_.items()},
            "n_support_vectors": int(svc.n_support_.sum()),
            "test_macro_f1": round(float(f1_score(y_test, labels, average="macro")), 4),
            "test_overall_accuracy": round(float(accuracy_score(y_test, labels)), 4),
            "test_ece": round(expected_calibration_error(
                np.searchsorted(ccv.classes_, y_test), proba), 4),
            "test_log_loss": round(float(log_loss(y_test, proba, labels=ccv.classes_)), 4)}


def ensemble_check(X, y, X_test, y_test, groups_of, *, params: dict, sizes=(300, 1000),
                   seed: int = 0) -> list[dict]:
    """CalibratedClassifierCV(ensemble=True) vs ensemble=False on small training sets:
    held-out log loss, ECE and the SVMs a map would evaluate."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.metrics import log_loss
    from sklearn.svm import SVC

    from hrlc.model import expected_calibration_error
    from hrlc.model.samples import cap_training
    from hrlc.model.svm import cv_splits

    rows = []
    for size in sizes:
        keep = cap_training(y, max_samples=size, seed=seed)
        splits = cv_splits(y[keep], groups_of[keep], n_folds=3, random_state=seed)
        for ensemble in (False, True):
            start = time.perf_counter()
            ccv = CalibratedClassifierCV(SVC(**params), method="isotonic", cv=splits,
                                         ensemble=ensemble).fit(X[keep], y[keep])
            proba = ccv.predict_proba(X_test)
            rows.append({"train_rows": int(len(keep)), "ensemble": ensemble,
                         "svms_in_the_map": len(ccv.calibrated_classifiers_),
                         "fit_seconds": round(time.perf_counter() - start, 2),
                         "test_log_loss": round(float(log_loss(y_test, proba,
                                                               labels=ccv.classes_)), 4),
                         "test_ece": round(expected_calibration_error(
                             np.searchsorted(ccv.classes_, y_test), proba), 4)})
    return rows


def _params(run: dict) -> str:
    p = run["best_params"]
    weight = p.get("class_weight", None)
    text = f"C {p['C']:g}, gamma {p['gamma']:.3g}"
    if "class_weight" in p:
        text += f", class weight {weight or 'none'}"
    return text + (f", {run['calibration']}" if run.get("calibration") else "")


def markdown(results: list[dict]) -> str:
    """The table of docs/train.md (between ``MARKERS``) from the benchmark's JSON files."""
    lines = ["| rows x features | recipe | grid | wall s | of which SVM s | CPU s | peak RSS MB "
             "| held-out macro-F1 | log loss | chosen | speed-up (wall, SVM) | load average "
             "start / end |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    checks = []
    for data in results:
        size = f"{data['n_train']:,} x {data['features']}"
        load = (", ".join(f"{v:.1f}" for v in data["load_average_start"]) + " / "
                + ", ".join(f"{v:.1f}" for v in data["load_average_end"]))
        runs = [("hrlc", "3 x 3, none, isotonic", data["hrlc"], data.get("speedup")),
                ("plain scikit-learn", "3 x 3, none, isotonic", data.get("plain"), None),
                ("hrlc default", f"{data.get('hrlc_default', {}).get('candidates', '')} "
                 "candidates, auto, auto", data.get("hrlc_default"), None)]
        for name, grid, run, speed in runs:
            if run is None:
                continue
            rounds = (f" ({len(run['halving_rounds'])} rounds)"
                      if "halving_rounds" in run else "")
            lines.append(
                f"| {size} | {name} | {grid}{rounds} | {run['wall_seconds']:.1f} | "
                f"{run.get('svm_fit_seconds', run['wall_seconds']):.1f} | "
                f"{run['cpu_seconds']:.1f} | {run['peak_rss_mb']:.0f} | "
                f"{run['test_macro_f1']:.4f} | {run['test_log_loss']:.4f} | {_params(run)} | "
                f"{'' if speed is None else f'{speed:.1f}x'} | {load} |")
        for row in data.get("ensemble_check", []):
            checks.append(f"| {row['train_rows']} | {row['ensemble']} | "
                          f"{row['svms_in_the_map']} | {row['test_log_loss']:.4f} | "
                          f"{row['test_ece']:.4f} |")
    text = "\n".join(lines) + "\n"
    speed = ", ".join(f"{d['n_train']:,} x {d['features']}: {d['speedup']:.1f}x wall "
                      f"({d['speedup_whole_call']:.1f}x for the whole train_model call, "
                      f"{d['speedup_cpu']:.1f}x CPU), macro-F1 {d['macro_f1_difference']:+.4f}"
                      for d in results if "speedup" in d)
    text += f"\nSpeed-up over the plain recipe: {speed}.\n"
    if checks:
        text += ("\n`CalibratedClassifierCV(ensemble=True/False)` on small training sets "
                 "(6,000 x 60 data, the chosen C and gamma, held-out rows):\n\n"
                 "| training rows | ensemble | SVMs a map evaluates | log loss | ECE |\n"
                 "|---|---|---|---|---|\n" + "\n".join(checks) + "\n")
    return text


def render_docs(paths=RESULTS, docs: Path = ROOT / "docs" / "train.md") -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from eval_masks_persistent import rewrite_docs

    results = [json.loads(Path(p).read_text()) for p in paths if Path(p).exists()]
    rewrite_docs(markdown(results), docs, markers=MARKERS,
                 script="benchmarks/bench_train.py --render-docs")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="JSON file for the results")
    parser.add_argument("--samples", type=int, default=20_000,
                        help="training rows (plus 30 %% held out); default 20000")
    parser.add_argument("--features", type=int, default=150, help="default 150")
    parser.add_argument("--skip-plain", action="store_true",
                        help="hrlc only (no scikit-learn recipe, no speed-up)")
    parser.add_argument("--skip-default", action="store_true",
                        help="without the run of hrlc's default (wider) search")
    parser.add_argument("--ensemble-check", action="store_true",
                        help="also compare CalibratedClassifierCV(ensemble=True/False) "
                             "on 300 and 1000 training rows")
    parser.add_argument("--render-docs", action="store_true",
                        help="only write the table of docs/train.md from the JSON files of "
                             "benchmarks/results (train_6000x60, train_20000x150)")
    args = parser.parse_args(argv)
    if args.render_docs:
        render_docs()
        return 0

    from hrlc.model.samples import sample_groups
    from hrlc.model.svm import gamma_scale

    load_start = [round(v, 2) for v in os.getloadavg()]
    table = samples(args.samples, round(args.samples * 0.3), args.features)
    grid = dict(C=PLAIN_GRID["C"], gamma_factors=PLAIN_GRID["gamma_factors"],
                class_weight="none", calibration="isotonic")
    hrlc = run_hrlc(table, **grid)
    out = {"rows": len(table), "n_train": hrlc["n_train"], "features": args.features,
           "classes": 8, "cv_folds": 3, "plain_grid": PLAIN_GRID,
           "cpus": os.cpu_count(), "machine": platform.machine(),
           "load_average_start": load_start, "hrlc": hrlc}
    if not args.skip_default:
        out["hrlc_default"] = run_hrlc(table)
    X, y, X_test, y_test, splits = training_rows(table)
    if not args.skip_plain:
        gammas = [f * gamma_scale(X) for f in PLAIN_GRID["gamma_factors"]]
        plain = out["plain"] = run_plain(X, y, X_test, y_test, splits, Cs=PLAIN_GRID["C"],
                                         gammas=gammas)
        out["speedup"] = round(plain["wall_seconds"] / hrlc["svm_fit_seconds"], 2)
        out["speedup_whole_call"] = round(plain["wall_seconds"] / hrlc["wall_seconds"], 2)
        out["speedup_cpu"] = round(plain["cpu_seconds"] / hrlc["cpu_seconds"], 2)
        out["macro_f1_difference"] = round(hrlc["test_macro_f1"] - plain["test_macro_f1"], 4)
    if args.ensemble_check:
        train = table[table["split"] == "train"]
        out["ensemble_check"] = ensemble_check(
            X, y, X_test, y_test, np.asarray(sample_groups(train, by="block")),
            params={k: v for k, v in hrlc["best_params"].items() if k != "class_weight"})
    out["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    from hrlc.benchmark import machine_facts

    out["machine_facts"] = machine_facts(load_at_start=load_start)
    # the keys the benchmark suite reads (hrlc.bench_suite.stages), from run (1)
    out.update(total_seconds=hrlc["wall_seconds"], cpu_seconds=hrlc["cpu_seconds"],
               peak_rss_mb=hrlc["peak_rss_mb"], load_average=load_start[0],
               svm={"fit_seconds": hrlc["svm_fit_seconds"],
                    "n_support_vectors": hrlc["n_support_vectors"],
                    "test_overall_accuracy": hrlc["test_overall_accuracy"]})
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
