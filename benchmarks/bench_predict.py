"""Fast RBF-SVM kernel vs scikit-learn on the same 1-million-pixel chunk and model.

    nice -n 10 python benchmarks/bench_predict.py [--pixels 1000000] [--features 40] [--classes 8]
    python benchmarks/bench_predict.py --size 256        # a 256 x 256 px chunk: a quick check

Reports wall time, CPU time, peak RSS and the speed-up of ``FastRbfPredictor`` (float32
kernel GEMM, float64 sums; and all-float64) against ``SVC.predict`` and
``SVC.decision_function``, with the label agreement and the largest difference of the
decision values. Each case runs in its own child process (``hrlc.benchmark.measure``).
scikit-learn's libsvm predicts on one core; ours runs chunks of 65,536 pixels on
``--threads`` worker threads with one BLAS thread each (as the map's dask tasks do), so
on a machine shared with other work the CPU-time ratio is the fairer figure.
"""

from __future__ import annotations

import argparse
import resource

import numpy as np
from sklearn.datasets import make_classification
from sklearn.svm import SVC

from hrlc.benchmark import load_average, machine_facts, measure, write_results
from hrlc.model.svm_kernel import FastRbfPredictor, RbfSvm


def _problem(pixels: int, features: int, classes: int, train: int):
    x, y = make_classification(n_samples=train + pixels, n_features=features,
                               n_informative=min(features, 20), n_classes=classes,
                               n_clusters_per_class=2, class_sep=0.7, random_state=0)
    x = (x - x[:train].mean(0)) / x[:train].std(0)
    svc = SVC(kernel="rbf", C=10, gamma="scale").fit(x[:train], y[:train])
    return svc, x[train:].astype(np.float32)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(func):
    """Run ``func`` and return its result with the CPU seconds it used (this process)."""
    def run(*args):
        start = _cpu()
        result = func(*args)
        return {"value": result, "cpu_seconds": _cpu() - start}
    return run


@_timed
def _sklearn_predict(svc, x):
    return svc.predict(x)


@_timed
def _sklearn_decision(svc, x):
    return svc.decision_function(x).astype(np.float32)


def _fast(model, x, dtype, threads, chunk=1 << 16):
    """Labels and one-vs-rest decision values, chunk by chunk on ``threads`` worker threads
    with one BLAS thread each, as the map's dask tasks run."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    predictor = FastRbfPredictor(model, dtype=dtype)

    def one(start):
        pairwise = predictor.pairwise_decision(x[start:start + chunk])
        return (model.classes[np.argmax(predictor.votes(pairwise), axis=1)],
                predictor.ovr_decision(pairwise).astype(np.float32))

    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(one, range(0, len(x), chunk)))
    return (np.concatenate([labels for labels, _ in parts]),
            np.concatenate([decision for _, decision in parts]))


_fast_timed = _timed(_fast)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument("--train", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=2,
                        help="worker threads of ours (one BLAS thread each)")
    parser.add_argument("--size", type=int, default=None,
                        help="a chunk of SIZE x SIZE px (instead of --pixels)")
    parser.add_argument("--name", default="bench_predict", help="results file name (.json)")
    parser.add_argument("--results", default="benchmarks/results", help="results folder")
    args = parser.parse_args()
    start = load_average()
    if args.size is not None:
        args.pixels = args.size * args.size
    svc, x = _problem(args.pixels, args.features, args.classes, args.train)
    model = RbfSvm.from_sklearn(svc)
    print(f"model: {svc.support_vectors_.shape[0]} support vectors, {args.features} features, "
          f"{args.classes} classes; chunk: {args.pixels} pixels", flush=True)
    ours = {name: measure(_fast_timed, model, x, dtype, args.threads)
            for name, dtype in (("float32", np.float32), ("float64", np.float64))}
    reference = measure(_sklearn_predict, svc, x.astype(np.float64))
    decision = measure(_sklearn_decision, svc, x.astype(np.float64))
    labels, scores = reference["result"]["value"], decision["result"]["value"]

    def row(case, report, **extra):
        return {"case": case, "pixels": args.pixels, "seconds": report["seconds"],
                "cpu_seconds": report["result"]["cpu_seconds"],
                "peak_rss_mb": report["peak_rss_mb"],
                "speed_up": reference["seconds"] / report["seconds"],
                "cpu_speed_up": (reference["result"]["cpu_seconds"]
                                 / report["result"]["cpu_seconds"]), **extra}

    rows = [row(f"hrlc FastRbfPredictor ({name})", report,
                label_agreement=float(np.mean(report["result"]["value"][0] == labels)),
                max_decision_difference=float(np.abs(report["result"]["value"][1]
                                                     - scores).max()))
            for name, report in ours.items()]
    rows.append(row("sklearn SVC.predict", reference, label_agreement=1.0))
    rows.append(row("sklearn SVC.decision_function", decision))
    write_results(args.name, rows, args.results, machine=machine_facts(load_at_start=start))


if __name__ == "__main__":
    main()
