"""The fits of one round of :func:`hrlc.model.kernel_search.kernel_search`: every candidate
on every fold, in threads sharing kernel matrices (see that module)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def rbf_kernel_inplace(A: np.ndarray, B: np.ndarray, gamma: float) -> np.ndarray:
    """RBF kernel (n_A, n_B), float64, ``exp(-gamma |a - b|^2)``: one GEMM, then in place.

    Squared distances ``|a|^2 + |b|^2 - 2 a.b`` are clipped at 0 (rounding can make them
    slightly negative); A, B (n, n_features) float64.
    """
    K = A @ B.T
    K *= -2.0
    K += np.einsum("ij,ij->i", A, A)[:, None]
    K += np.einsum("ij,ij->i", B, B)[None, :]
    np.maximum(K, 0.0, out=K)
    K *= -gamma
    return np.exp(K, out=K)


class _KernelStore:
    """Kernel matrices per (fold, gamma), built on first use by the thread that needs
    them, shared by that group's fits, dropped when its last fit ends; at most
    ``max_live`` groups are held at once."""

    def __init__(self, build, remaining: dict, max_live: int):
        self._build, self._remaining, self._max = build, dict(remaining), max(1, max_live)
        self._live: dict = {}
        self._cond = threading.Condition()

    def get(self, key):
        with self._cond:
            while key not in self._live and len(self._live) >= self._max:
                self._cond.wait()
            entry = self._live.setdefault(key, {"lock": threading.Lock(), "value": None})
        with entry["lock"]:
            if entry["value"] is None:
                entry["value"] = self._build(key)
        return entry["value"]

    def done(self, key) -> None:
        with self._cond:
            self._remaining[key] -= 1
            if self._remaining[key] == 0:
                self._live.pop(key, None)
                self._cond.notify_all()


def _fold_score(scorer, svc, X_test, y_test) -> float:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(scorer(svc, X_test, y_test))
    except ValueError:  # e.g. ROC AUC of a test part without positives: left out
        return float("nan")


def svc_from_precomputed(fitted, X: np.ndarray, *, gamma: float, cache_size: float = 500.0):
    """The RBF ``SVC`` that a ``SVC(kernel="precomputed")`` fitted on ``rbf_kernel(X, X,
    gamma)`` is: its fitted state, with ``X``'s rows as support vectors and ``gamma``.

    libsvm solves the same problem whether it reads the kernel from the matrix or
    computes it (the same formula, float64; only the rounding of the dot products
    differs), so the support vectors, dual coefficients and intercepts are those of
    ``SVC(kernel="rbf").fit(X)`` (measured: equal support, coefficients within 1e-13).
    """
    from sklearn.svm import SVC

    svc = SVC(kernel="rbf", C=fitted.C, gamma=gamma, cache_size=cache_size)
    params = svc.get_params()
    svc.__dict__.update({k: v for k, v in vars(fitted).items() if k not in params})
    svc.support_vectors_ = X[fitted.support_]
    svc._gamma, svc.shape_fit_, svc.n_features_in_ = float(gamma), X.shape, X.shape[1]
    return svc


class Runner:
    """Fits of the candidates of one round on every fold, in threads sharing kernels."""

    def __init__(self, X, y, splits, weightings, scorer, *, threads, cache_size, memory_mb):
        self.X, self.y, self.splits, self.weightings = X, y, splits, weightings
        self.scorer, self.threads, self.cache_size = scorer, threads, cache_size
        self.memory_mb = memory_mb

    def _weight(self, cand, rows):
        weight = self.weightings[cand.weighting]
        return None if weight is None else weight[rows]

    def _fit(self, cand, rows, test, kernels):
        """Fit on ``rows`` (kernels: (K_rows, K_test_rows) or None: libsvm's RBF), return
        the fold's decision values, labels and score."""
        from sklearn.svm import SVC

        if kernels is None:
            svc = SVC(kernel="rbf", C=cand.C, gamma=cand.gamma, cache_size=self.cache_size)
            X_fit, X_test = self.X[rows], self.X[test]
        else:
            svc = SVC(kernel="precomputed", C=cand.C, cache_size=self.cache_size)
            X_fit, X_test = kernels
        svc.fit(X_fit, self.y[rows], sample_weight=self._weight(cand, rows))
        return (svc.decision_function(X_test), svc.predict(X_test),
                _fold_score(self.scorer, svc, X_test, self.y[test]))

    def _collect(self, candidates, jobs, fit):
        """Run ``fit(job) -> (cand, fold, (values, labels, score))`` over the jobs."""
        n = len(self.y)
        scores = {c: np.full(len(self.splits), np.nan) for c in candidates}
        values: dict = {}
        labels = {c: np.empty(n, dtype=self.y.dtype) for c in candidates}
        with ThreadPoolExecutor(self.threads) as pool:
            for cand, f, (value, label, score) in pool.map(fit, jobs):
                test = np.asarray(self.splits[f][1])
                values.setdefault(cand, np.zeros((n, *value.shape[1:])))[test] = value
                labels[cand][test], scores[cand][f] = label, score
        return scores, values, labels

    def round(self, trains, candidates):
        """A subsampled round: kernels per (fold, gamma) on the fold's training rows."""
        jobs = sorted(((f, c) for c in candidates for f in range(len(self.splits))),
                      key=lambda job: (job[1].gamma, job[0]))
        groups: dict = {}
        for f, c in jobs:
            groups[(f, c.gamma)] = groups.get((f, c.gamma), 0) + 1
        group_mb = max(8 * len(t) * (len(t) + len(te)) / 2**20
                       for t, (_, te) in zip(trains, self.splits))
        precomputed = group_mb <= self.memory_mb

        def build(key):
            f, gamma = key
            rows, test = trains[f], np.asarray(self.splits[f][1])
            return (rbf_kernel_inplace(self.X[rows], self.X[rows], gamma),
                    rbf_kernel_inplace(self.X[test], self.X[rows], gamma))

        store = _KernelStore(build, groups, int(self.memory_mb // max(group_mb, 1e-9)))

        def fit(job):
            f, cand = job
            test = np.asarray(self.splits[f][1])
            if not precomputed:
                return cand, f, self._fit(cand, trains[f], test, None)
            try:
                return cand, f, self._fit(cand, trains[f], test, store.get((f, cand.gamma)))
            finally:
                store.done((f, cand.gamma))

        return self._collect(candidates, jobs, fit)

    def last_round(self, candidates, *, final_fit: bool):
        """All training rows: per gamma the kernel of all rows, the folds' kernels sliced
        from it (as many at once as memory allows); with ``final_fit`` (one candidate) its
        fit on all rows runs beside the fold fits. When the kernel of all rows and one
        fold's do not fit in memory together, the folds' kernels are built alone (as in
        :meth:`round`) and the final fit follows."""
        n = len(self.y)
        full_mb = 8 * n * n / 2**20
        fold_mb = max(8 * len(tr) * n / 2**20 for tr, _ in self.splits)
        if full_mb + fold_mb > self.memory_mb:  # not both at once: the folds' own kernels
            out = self.round([np.asarray(tr) for tr, _ in self.splits], candidates)
            return (*out, self.full_fit(candidates[0])) if final_fit else out
        slots = threading.BoundedSemaphore(max(1, int((self.memory_mb - full_mb) // fold_mb)))
        results, final = [], None
        for gamma in sorted({c.gamma for c in candidates}):
            K = rbf_kernel_inplace(self.X, self.X, gamma)
            group = [c for c in candidates if c.gamma == gamma]

            def fit(job, K=K):
                f, cand = job
                if f is None:  # the final model, on all rows
                    return cand, None, self._fit_full(cand, K)
                train, test = (np.asarray(s) for s in self.splits[f])
                with slots:
                    kernels = (K[np.ix_(train, train)], K[np.ix_(test, train)])
                    return cand, f, self._fit(cand, train, test, kernels)

            jobs = ([(None, group[0])] if final_fit else []) + [
                (f, c) for c in group for f in range(len(self.splits))]
            with ThreadPoolExecutor(self.threads) as pool:
                for cand, f, out in pool.map(fit, jobs):
                    if f is None:
                        final = out
                    else:
                        results.append((cand, f, out))
            del K
        out = self._collect(candidates, results, lambda item: item)
        return (*out, final) if final_fit else out

    def _fit_full(self, cand, K):
        from sklearn.svm import SVC

        fitted = SVC(kernel="precomputed", C=cand.C, cache_size=self.cache_size).fit(
            K, self.y, sample_weight=self._weight(cand, np.arange(len(self.y))))
        return svc_from_precomputed(fitted, self.X, gamma=cand.gamma,
                                    cache_size=self.cache_size)

    def full_fit(self, cand):
        """``cand`` fitted on all rows: through the kernel when it fits in memory."""
        from sklearn.svm import SVC

        n = len(self.y)
        if 8 * n * n / 2**20 <= self.memory_mb:
            return self._fit_full(cand, rbf_kernel_inplace(self.X, self.X, cand.gamma))
        return SVC(kernel="rbf", C=cand.C, gamma=cand.gamma, cache_size=self.cache_size).fit(
            self.X, self.y, sample_weight=self._weight(cand, np.arange(n)))
