"""Fast RBF-SVM kernel vs scikit-learn on the same 1-million-pixel chunk and model.

    python benchmarks/bench_predict.py [--pixels 1000000] [--features 40] [--classes 8]

Reports wall time, peak RSS and the speed-up of ``FastRbfPredictor`` (float32 GEMM)
against ``SVC.predict`` and ``SVC.decision_function``, and their label agreement.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import make_classification
from sklearn.svm import SVC

from hrlc.benchmark import measure, write_results
from hrlc.mapping.svm_kernel import FastRbfPredictor, RbfSvm


def _problem(pixels: int, features: int, classes: int, train: int):
    x, y = make_classification(n_samples=train + pixels, n_features=features,
                               n_informative=min(features, 20), n_classes=classes,
                               n_clusters_per_class=2, class_sep=0.7, random_state=0)
    x = (x - x[:train].mean(0)) / x[:train].std(0)
    svc = SVC(kernel="rbf", C=10, gamma="scale").fit(x[:train], y[:train])
    return svc, x[train:].astype(np.float32)


def _sklearn_predict(svc, x):
    return svc.predict(x)


def _sklearn_decision(svc, x):
    svc.decision_function(x)
    return None


def _fast(model, x, chunk=65536):
    from threadpoolctl import threadpool_limits

    predictor = FastRbfPredictor(model, dtype=np.float32)
    with threadpool_limits(2):
        return np.concatenate([predictor.predict(x[i:i + chunk]) for i in range(0, len(x), chunk)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument("--train", type=int, default=8000)
    args = parser.parse_args()
    svc, x = _problem(args.pixels, args.features, args.classes, args.train)
    model = RbfSvm.from_sklearn(svc)
    print(f"model: {svc.support_vectors_.shape[0]} support vectors, {args.features} features, "
          f"{args.classes} classes; chunk: {args.pixels} pixels")
    fast = measure(_fast, model, x)
    reference = measure(_sklearn_predict, svc, x.astype(np.float64))
    decision = measure(_sklearn_decision, svc, x.astype(np.float64))
    agreement = float(np.mean(fast["result"] == reference["result"]))
    rows = [
        {"case": "hrlc FastRbfPredictor.predict (float32)", "seconds": fast["seconds"],
         "peak_rss_mb": fast["peak_rss_mb"], "speed_up": reference["seconds"] / fast["seconds"],
         "label_agreement": agreement},
        {"case": "sklearn SVC.predict", "seconds": reference["seconds"],
         "peak_rss_mb": reference["peak_rss_mb"], "speed_up": 1.0, "label_agreement": 1.0},
        {"case": "sklearn SVC.decision_function", "seconds": decision["seconds"],
         "peak_rss_mb": decision["peak_rss_mb"], "speed_up": reference["seconds"] / decision["seconds"],
         "label_agreement": ""},
    ]
    write_results("bench_predict", rows)


if __name__ == "__main__":
    main()
