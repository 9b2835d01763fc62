"""Exact RBF-SVM decision values as one float32 matrix product per chunk of pixels.

scikit-learn's ``SVC.predict`` evaluates the kernel pixel by pixel inside libsvm; for a
tile of 10^8 pixels and thousands of support vectors that is hours. Here the kernel
between a chunk of pixels X (n, f) and all support vectors S (m, f) is

    K = exp(-gamma * (|x|^2 - 2 X S^T + |s|^2))

(one GEMM), and the decision values of all one-vs-one class pairs are a second GEMM
``K @ W`` where W (m, n_pairs) holds the dual coefficients of each pair's support
vectors (libsvm's layout, zeros elsewhere). Votes and the one-vs-rest shaped decision
function follow libsvm and scikit-learn exactly: a pair (i, j) votes for i when its
decision value is > 0, else for j; the predicted class is the first class with the
most votes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrlc.model.svm_arrays import SvmArrays


@dataclass(frozen=True)
class RbfSvm(SvmArrays):
    """The arrays of a fitted RBF support-vector classifier, in libsvm's convention (the
    fields of :class:`hrlc.model.SvmArrays`), with the pair structure that the GEMM
    predictors need."""

    @classmethod
    def from_sklearn(cls, svc) -> RbfSvm:
        """Take the arrays of a fitted ``sklearn.svm.SVC(kernel="rbf")``."""
        if getattr(svc, "kernel", None) != "rbf":
            raise ValueError(f"only RBF kernels are supported, got kernel={svc.kernel!r}")
        return cls.from_svc(svc)

    @property
    def pairs(self) -> list[tuple[int, int]]:
        n = len(self.n_support)
        return [(i, j) for i in range(n) for j in range(i + 1, n)]

    def class_segments(self) -> list[tuple[int, int, list[int]]]:
        """(start, stop, pairs) of each class: its support vectors' rows of
        :meth:`pair_weights` and the pairs (columns) in which they weigh."""
        start = np.concatenate([[0], np.cumsum(self.n_support)])
        return [(int(start[c]), int(start[c + 1]),
                 [p for p, pair in enumerate(self.pairs) if c in pair])
                for c in range(len(self.n_support)) if start[c + 1] > start[c]]

    def pair_weights(self) -> np.ndarray:
        """W (n_sv, n_pairs): the dual coefficients of each pair's support vectors."""
        start = np.concatenate([[0], np.cumsum(self.n_support)])
        weights = np.zeros((self.support_vectors.shape[0], len(self.pairs)))
        for p, (i, j) in enumerate(self.pairs):
            si, sj = slice(start[i], start[i + 1]), slice(start[j], start[j + 1])
            weights[si, p] = self.dual_coef[j - 1, si]
            weights[sj, p] = self.dual_coef[i, sj]
        return weights


class _KernelGemm:
    """``K(X, S) @ W + b`` for one gamma: the RBF kernel by GEMM, then the weights.

    The exponent ``2 gamma x.s - gamma |s|^2 - gamma |x|^2`` comes out of a single GEMM of
    the pixels augmented with ``[1, -gamma |x|^2]`` and the support vectors with
    ``[-gamma |s|^2, 1]``, then ``exp`` in place. The support vectors are taken ``SLAB`` at
    a time, so that a batch's slab of kernel values stays in cache between the GEMM, the
    ``exp`` and its product with the weights. The support vectors come in ``segments``
    (see :class:`_Segment`: a multiclass SVM's classes), and a slab is multiplied only
    by its segment's columns of W. The product is taken ``SUM_SPAN`` support vectors at
    a time (one stacked GEMM per slab) and the partial sums are added in float64: the
    decision value of a noisy model is a small difference of large sums (its dual
    coefficients add up to hundreds), and a float32 sum over all support vectors moved
    it by up to ~1.5e-4 (over a slab of 256, by 4e-5 to 1.3e-4, depending on the BLAS
    kernel that the batch size selects); summed in spans of 64 the error is about that
    of the float32 kernel values (~2e-5 on the benchmarks' models, ~1e-6 on cleaner
    ones) at ~10 % more time.
    (An exponent that rounding pushes just above 0 gives ``K`` a few 1e-7 above 1: below
    float32 noise, so it is not clamped.) :class:`hrlc.mapping.BundlePredictor`
    recomputes in float64 the pixels whose result the remaining error could change. The
    pixels are taken ``batch`` rows at a time; every GEMM has the same shape (the last
    batch is padded), so no pixel depends on the chunking.
    """

    #: Support vectors per kernel slab.
    SLAB = 256
    #: Support vectors per partial sum of the weights product (a divisor of ``SLAB``).
    SUM_SPAN = 64

    def __init__(self, support_vectors, weights, intercept, gamma, *, dtype, batch,
                 segments=None):
        self.dtype = np.dtype(dtype)
        self.gamma = float(gamma)
        self.batch = int(batch)
        # distances are translation invariant: centring on the support vectors' mean
        # keeps |x|^2 and |s|^2 small, so less is lost in |x|^2 - 2 x.s + |s|^2
        self._centre = support_vectors.mean(axis=0)
        centred = support_vectors - self._centre
        norms = -self.gamma * np.einsum("ij,ij->i", centred, centred)
        self._sv = np.column_stack([2 * self.gamma * centred, norms,
                                    np.ones(len(centred))]).astype(self.dtype)
        weights = np.asarray(weights)
        self.n_outputs = weights.shape[1]
        if segments is None:
            segments = [(0, len(weights), np.arange(self.n_outputs))]
        self._segments = [_Segment.of(weights, start, stop, columns, self.dtype)
                          for start, stop, columns in segments]
        self._intercept = np.asarray(intercept, dtype=np.float64)

    @property
    def n_support_vectors(self) -> int:
        return self._sv.shape[0]

    def __call__(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features)
        out = np.empty((x.shape[0], self.n_outputs))
        # the work arrays of one batch, reused by every batch
        buffers = (np.empty((self.batch, x.shape[1] + 2), self.dtype),
                   np.empty((self.batch, self.SLAB), self.dtype))
        for start in range(0, x.shape[0], self.batch):
            part = x[start:start + self.batch]
            out[start:start + len(part)] = self._block(part, *buffers)[:len(part)]
        return out

    def _block(self, x: np.ndarray, augmented: np.ndarray, slab: np.ndarray) -> np.ndarray:
        n_features = x.shape[1]
        augmented[len(x):] = 0  # the padding of the last batch
        centred = augmented[:len(x), :n_features]
        np.subtract(x, self._centre, out=centred, casting="unsafe")
        augmented[:len(x), n_features] = 1
        augmented[:len(x), n_features + 1] = -self.gamma * np.einsum(
            "ij,ij->i", centred, centred, dtype=np.float64)
        total = np.zeros((self.batch, self.n_outputs))
        for segment in self._segments:
            sums = np.zeros((self.batch, len(segment.columns)))
            for start in range(segment.start, segment.stop, self.SLAB):
                stop = min(start + self.SLAB, segment.stop)
                kernel = slab[:, :stop - start]
                np.matmul(augmented, self._sv[start:stop].T, out=kernel)
                np.exp(kernel, out=kernel)
                whole = (stop - start) // self.SUM_SPAN * self.SUM_SPAN
                weights = segment.weights[start - segment.start:stop - segment.start]
                if whole:  # the spans of the slab as one stacked GEMM, summed in float64
                    spans = kernel[:, :whole].reshape(self.batch, -1, self.SUM_SPAN)
                    products = np.matmul(spans.transpose(1, 0, 2), weights[:whole].reshape(
                        -1, self.SUM_SPAN, weights.shape[1]))
                    sums += products.sum(axis=0, dtype=np.float64)
                if whole < stop - start:
                    sums += kernel[:, whole:] @ weights[whole:]
            total[:, segment.columns] += sums
        return total + self._intercept


@dataclass(frozen=True)
class _Segment:
    """Support vectors ``start:stop`` whose weights are zero outside ``columns``.

    A multiclass SVM's support vectors of class c weigh only in the pairs of c (n - 1 of
    the n (n - 1) / 2 columns of W), so each class is one segment and its kernel slabs
    are multiplied by its n - 1 columns only: n / 2 times less work than the full W.
    """

    start: int
    stop: int
    columns: np.ndarray
    weights: np.ndarray  # (stop - start, len(columns)), the kernel's dtype

    @classmethod
    def of(cls, weights: np.ndarray, start: int, stop: int, columns, dtype) -> _Segment:
        columns = np.asarray(columns, dtype=np.intp)
        outside = np.delete(weights[start:stop], columns, axis=1)
        if np.any(outside != 0):
            raise ValueError(f"support vectors {start}:{stop} have weights outside "
                             f"columns {columns.tolist()}")
        return cls(start, stop, columns,
                   np.ascontiguousarray(weights[start:stop, columns], dtype=dtype))


def _batch_rows(n_sv: int, memory_mb: float) -> int:
    """Pixels per GEMM: a multiple of 64, at most 2048, so that a batch's kernel values over
    all support vectors (float64 at most) would fit in ``memory_mb``; computed by slabs,
    a batch holds far less (``batch x SLAB`` values)."""
    rows = int(memory_mb * 2**20 / (8 * max(n_sv, 1)))
    return min(2048, max(64, rows // 64 * 64))


class FastRbfPredictor:
    """Pairwise decision values, votes and labels of an :class:`RbfSvm`, by GEMM.

    Parameters
    ----------
    model : RbfSvm
    dtype : numpy dtype
        Precision of the kernel: float32 (default; the speed) or float64 (the labels of
        libsvm).
    memory_mb : float
        Bound of the kernel matrix of one batch of pixels, MiB (pixels are processed
        in batches of ``memory_mb / (8 n_sv)``; small batches stay in cache).
    """

    def __init__(self, model: RbfSvm, *, dtype=np.float32, memory_mb: float = 32.0):
        self.model = model
        self.dtype = np.dtype(dtype)
        self._gemm = _KernelGemm(model.support_vectors, model.pair_weights(), model.intercept,
                                 model.gamma, dtype=dtype,
                                 batch=_batch_rows(len(model.support_vectors), memory_mb),
                                 segments=model.class_segments())

    def pairwise_decision(self, features: np.ndarray) -> np.ndarray:
        """libsvm decision values (n_pixels, n_pairs) for features (n_pixels, n_features)."""
        return self._gemm(features)

    def votes(self, decision: np.ndarray) -> np.ndarray:
        """One-vs-one votes (n_pixels, n_classes) from pairwise decision values."""
        n_classes = len(self.model.n_support)
        votes = np.zeros((decision.shape[0], n_classes), np.int32)
        for p, (i, j) in enumerate(self.model.pairs):
            wins_i = decision[:, p] > 0
            votes[:, i] += wins_i
            votes[:, j] += ~wins_i
        return votes

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Class labels (n_pixels,), as ``SVC.predict``."""
        return self.model.classes[np.argmax(self.votes(self.pairwise_decision(features)), axis=1)]

    def decision_function(self, features: np.ndarray) -> np.ndarray:
        """As ``SVC.decision_function`` with ``decision_function_shape="ovr"``.

        (n_pixels,) for two classes (positive favours ``classes[1]``), else
        (n_pixels, n_classes): votes plus a confidence term in (-1/3, 1/3).
        """
        return self.ovr_decision(self.pairwise_decision(features))

    def ovr_decision(self, pairwise: np.ndarray) -> np.ndarray:
        """:meth:`decision_function` from pairwise decision values (n_pixels, n_pairs)."""
        if len(self.model.n_support) == 2:
            return -np.asarray(pairwise, dtype=np.float64)[:, 0]
        votes, confidence = self.ovr_parts(pairwise)
        return votes + confidence_term(confidence)

    def ovr_parts(self, pairwise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Votes and summed confidences (n_pixels, n_classes) of :meth:`ovr_decision`
        (three classes or more): a class's confidence is the sum of its pairs' decision
        values, each signed towards the class."""
        decision = np.asarray(pairwise, dtype=np.float64)
        n_classes = len(self.model.n_support)
        votes = np.zeros((decision.shape[0], n_classes))
        confidence = np.zeros_like(votes)
        for p, (i, j) in enumerate(self.model.pairs):
            confidence[:, i] += decision[:, p]
            confidence[:, j] -= decision[:, p]
            votes[:, i] += decision[:, p] >= 0
            votes[:, j] += decision[:, p] < 0
        return votes, confidence


def confidence_term(confidence: np.ndarray) -> np.ndarray:
    """scikit-learn's transform of summed one-vs-one confidences into (-1/3, 1/3),
    added to the votes so that they break ties without changing them; increasing."""
    return confidence / (3 * (np.abs(confidence) + 1))


class StackedRbfPredictor:
    """Decision values of several binary RBF SVMs (one-vs-all) with one GEMM per gamma.

    The binary SVMs of a one-vs-all model share many training samples as support
    vectors; those that share a gamma are stacked over the union of their support
    vectors, so each kernel value is computed once and all their decision values come
    out of one ``K @ W`` (W: one column per SVM).

    Parameters
    ----------
    models : sequence of RbfSvm
        Binary SVMs (two classes each).
    dtype : numpy dtype
        float32 (default) or float64.
    memory_mb : float
        Bound of one batch's kernel matrix, MiB (see :class:`FastRbfPredictor`).
    """

    def __init__(self, models, *, dtype=np.float32, memory_mb: float = 32.0):
        models = list(models)
        if any(len(m.n_support) != 2 for m in models):
            raise ValueError("StackedRbfPredictor takes binary SVMs only; got "
                             f"{[len(m.n_support) for m in models]} classes")
        self.models = models
        self.dtype = np.dtype(dtype)
        self._groups = []  # (positions of the SVMs, _KernelGemm)
        for gamma in dict.fromkeys(m.gamma for m in models):
            members = [k for k, m in enumerate(models) if m.gamma == gamma]
            stacked = np.vstack([models[k].support_vectors for k in members])
            unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
            weights = np.zeros((len(unique), len(members)))
            offset = 0
            for column, k in enumerate(members):
                n_sv = len(models[k].support_vectors)
                np.add.at(weights[:, column], inverse.ravel()[offset:offset + n_sv],
                          models[k].pair_weights()[:, 0])
                offset += n_sv
            intercept = np.array([models[k].intercept[0] for k in members])
            self._groups.append((members, _KernelGemm(
                unique, weights, intercept, gamma, dtype=dtype,
                batch=_batch_rows(len(unique), memory_mb))))

    @property
    def n_kernel_columns(self) -> int:
        """Kernel evaluations per pixel (distinct support vectors summed over gammas)."""
        return sum(gemm.n_support_vectors for _, gemm in self._groups)

    def decision_function(self, features: np.ndarray) -> np.ndarray:
        """(n_pixels, n_models): column k as ``SVC.decision_function`` of model k
        (positive favours its ``classes[1]``)."""
        x = np.asarray(features)
        out = np.empty((x.shape[0], len(self.models)))
        for members, gemm in self._groups:
            out[:, members] = -gemm(x)
        return out
