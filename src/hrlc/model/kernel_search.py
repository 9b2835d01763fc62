"""Cross-validated search of an RBF SVM's C, gamma and class weighting on shared kernels.

Plain ``GridSearchCV(SVC(kernel="rbf"))`` lets libsvm recompute the kernel for every C,
every fold and every weighting. Here, for each fold and gamma, the kernel matrices
K(train, train) and K(test, train) are computed once with one GEMM, in float64 and with
libsvm's own formula (``exp(-gamma * max(|x|^2 + |y|^2 - 2 x.y, 0))``), and shared by every
C and class weighting: ``SVC(kernel="precomputed")`` fits on them in threads (libsvm
releases the GIL, so the threads share one copy of the kernel instead of one per process).

Successive halving, as ``HalvingGridSearchCV``: the candidates are first scored with
models trained on a stratified subsample of each training fold (always scored on the
whole test part of the fold), the best ``1 / halving_factor`` go on with
``halving_factor`` times the rows, and the last round trains on the whole training folds
with at least ``min_final`` candidates. Its out-of-fold decision values are those of
``cross_val_predict`` on the same folds, so the calibration reuses them (no refit).

Where memory allows (``kernel_memory_mb``), the last round builds the kernel of all rows
once per gamma and slices the folds' kernels from it; the final model is a
precomputed-kernel fit on it, turned into the plain RBF ``SVC`` it equals
(:func:`svc_from_precomputed`: the same libsvm problem up to the rounding of the kernel,
so the same support vectors, and dual coefficients equal to ~1e-13). When one candidate is
left it is fitted on all rows while its fold fits run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from hrlc.model._checks import TrainingDataError
from hrlc.model._kernel_fits import Runner, rbf_kernel_inplace, svc_from_precomputed
from hrlc.threads import one_blas_thread

__all__ = ["Candidate", "SearchResult", "halving_schedule", "kernel_search",
           "rbf_kernel_inplace", "svc_from_precomputed"]


@dataclass(frozen=True)
class Candidate:
    """One point of the search: C, gamma (absolute) and the name of a class weighting."""

    C: float
    gamma: float
    weighting: str

    def params(self) -> dict:
        return {"C": self.C, "gamma": self.gamma, "class_weight": self.weighting}


@dataclass
class SearchResult:
    """Outcome of :func:`kernel_search`.

    Attributes
    ----------
    best : Candidate
    table : list of dict
        One row per candidate and round: ``C``, ``gamma``, ``class_weight``, ``round``,
        ``train_rows`` (training rows per fold, mean), ``folds`` (per-fold scores),
        ``mean``, ``std`` (over the folds), ``score`` (the selection score).
    oof_decision : ndarray (n_samples,) or (n_samples, n_classes)
        Out-of-fold decision values of ``best`` (last round: models trained on the whole
        training folds).
    selection_metric : str
        What ``score`` is.
    rounds : list of dict
        ``train_rows`` and ``candidates`` of each round.
    svc : sklearn.svm.SVC or None
        ``best`` fitted on all rows (RBF kernel), when asked for (``final_fit``).
    """

    best: Candidate
    table: list[dict]
    oof_decision: np.ndarray
    selection_metric: str
    rounds: list[dict] = field(default_factory=list)
    svc: object = None


def halving_schedule(n_train: int, n_candidates: int, *, factor: int, min_final: int,
                     min_rows: int) -> list[int]:
    """Training rows per fold of each round, first to last (the last is ``n_train``).

    Rounds are added while more than ``min_final`` candidates would reach the last round
    and the first round keeps at least ``min_rows`` training rows per fold.
    """
    rounds = 0
    while (n_candidates / factor ** rounds > min_final
           and n_train / factor ** (rounds + 1) >= min_rows):
        rounds += 1
    return [max(1, math.ceil(n_train / factor ** r)) for r in range(rounds, 0, -1)] + [n_train]


def _subsample(rows: np.ndarray, y: np.ndarray, size: int, rng) -> np.ndarray:
    """Stratified subsample of ``rows`` (each class keeps its share, at least 2 rows)."""
    if size >= len(rows):
        return rows
    keep = []
    for code in np.unique(y[rows]):
        members = rows[y[rows] == code]
        share = max(min(2, len(members)), round(size * len(members) / len(rows)))
        keep.append(rng.permutation(members)[:share])
    return np.sort(np.concatenate(keep))


def kernel_search(X: np.ndarray, y: np.ndarray, splits: Sequence, *, Cs: Sequence[float],
                  gammas: Sequence[float], weightings: Mapping[str, np.ndarray | None],
                  scoring: str = "f1_macro", pooled: bool = True, n_jobs: int | None = None,
                  cache_size: float = 500.0, halving_factor: int = 3, min_final: int = 1,
                  min_rows: int | None = None, kernel_memory_mb: float = 6144.0,
                  final_fit: bool = True, random_state: int = 0) -> SearchResult:
    """Best C, gamma and class weighting of an RBF ``SVC`` by grouped cross-validation.

    Parameters
    ----------
    X : ndarray (n_samples, n_features), float64
    y : ndarray (n_samples,)
        Labels (class codes, or 0/1 for a binary problem).
    splits : list of (train, test) index arrays
    Cs, gammas : sequence of float
        The grid (gamma absolute, 1 / distance^2 in the units of X).
    weightings : mapping
        Name -> per-sample weights (n_samples,) or None, e.g. ``{"none": None,
        "balanced": w}``; searched in this order (ties go to the first).
    scoring : str
        scikit-learn scorer name, applied per fold to the precomputed-kernel SVC as
        ``GridSearchCV`` applies it (unweighted).
    pooled : bool
        Select by macro-F1 of the out-of-fold predictions pooled over the folds (the
        ``scoring`` per fold is recorded beside it); else by the mean over the folds of
        ``scoring`` (folds scoring NaN left out).
    n_jobs : int or None
        Threads (joblib convention: -1 all cores).
    cache_size : float
        libsvm's kernel-row cache, MB.
    halving_factor, min_final, min_rows : int
        Successive halving (see the module); ``min_rows`` default 50 per class.
        ``halving_factor=1`` searches the whole grid on all rows.
    kernel_memory_mb : float
        Bound of the kernel matrices held at once, MB (float64: the kernel of all n
        rows takes 8 n^2 bytes); beyond it libsvm's own RBF kernel is used (slower).
    final_fit : bool
        Also fit the best candidate on all rows (``SearchResult.svc``).
    random_state : int
        Seed of the subsamples.

    Returns
    -------
    SearchResult

    Raises
    ------
    TrainingDataError
        Every candidate scored NaN in every fold.
    """
    # the search runs its own threads: a multithreaded BLAS beside them only contends (a
    # 2-thread OpenBLAS GEMM on 2 busy cores ran 4x slower than a 1-thread one)
    with one_blas_thread():
        return _search(X, y, splits, Cs=Cs, gammas=gammas, weightings=weightings,
                       scoring=scoring, pooled=pooled, n_jobs=n_jobs, cache_size=cache_size,
                       halving_factor=halving_factor, min_final=min_final, min_rows=min_rows,
                       kernel_memory_mb=kernel_memory_mb, final_fit=final_fit,
                       random_state=random_state)


def _search(X, y, splits, *, Cs, gammas, weightings, scoring, pooled, n_jobs, cache_size,
            halving_factor, min_final, min_rows, kernel_memory_mb, final_fit, random_state):
    from joblib import effective_n_jobs
    from sklearn.metrics import f1_score, get_scorer

    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y)
    scorer = get_scorer(scoring)
    candidates = [Candidate(float(C), float(g), name) for name in weightings
                  for C in Cs for g in gammas]
    n_train = min(len(train) for train, _ in splits)
    factor = max(1, int(halving_factor))
    sizes = ([n_train] if factor == 1 else halving_schedule(
        n_train, len(candidates), factor=factor, min_final=min_final,
        min_rows=min_rows or 50 * np.unique(y).size))
    rng = np.random.default_rng(random_state)
    run = Runner(X, y, splits, weightings, scorer, threads=max(1, effective_n_jobs(n_jobs)),
                  cache_size=cache_size, memory_mb=kernel_memory_mb)
    metric = (f"macro-F1 of the out-of-fold predictions, pooled over the {len(splits)} folds"
              if pooled else f"{scoring}, mean over the {len(splits)} folds")
    table, rounds, alive = [], [], candidates
    for r, size in enumerate(sizes):
        last = r == len(sizes) - 1
        trains = [_subsample(np.asarray(tr), y, round(size * len(tr) / n_train), rng)
                  for tr, _ in splits]
        if last:
            out = run.last_round(alive, final_fit=final_fit and len(alive) == 1)
        else:
            out = run.round(trains, alive)
        scores, decisions, labels = out[:3]
        selection, n_rows = {}, float(np.mean([len(t) for t in trains]))
        for cand in alive:
            folds = scores[cand]
            ok = np.isfinite(folds)
            mean = float(np.mean(folds[ok])) if ok.any() else float("nan")
            selection[cand] = (float(f1_score(y, labels[cand], average="macro")) if pooled
                               else mean)
            table.append({**cand.params(), "round": r, "train_rows": n_rows,
                          "folds": [float(v) for v in folds], "mean": mean,
                          "std": float(np.std(folds[ok])) if ok.any() else float("nan"),
                          "score": selection[cand]})
        rounds.append({"train_rows": n_rows, "candidates": len(alive)})
        if not any(np.isfinite(v) for v in selection.values()):
            raise TrainingDataError(f"no grid point scored in any fold ({scoring}); check "
                                    "that the test part of each cross-validation fold holds "
                                    "every class")
        ranked = sorted(alive, key=lambda c: (-np.nan_to_num(selection[c], nan=-np.inf),
                                              candidates.index(c)))
        if last:
            best = ranked[0]
            svc = out[3] if len(out) > 3 else (run.full_fit(best) if final_fit else None)
            return SearchResult(best=best, table=table, oof_decision=decisions[best],
                                selection_metric=metric, rounds=rounds, svc=svc)
        alive = sorted(ranked[:max(min_final, math.ceil(len(alive) / factor))],
                       key=candidates.index)
    raise AssertionError("unreachable")  # pragma: no cover
