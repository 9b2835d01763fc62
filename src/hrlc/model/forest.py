"""A fitted random forest as flat arrays, evaluated by a numba kernel, without pickle.

scikit-learn's ``RandomForestClassifier`` keeps its trees in Cython objects that only
pickle can store. :class:`ForestArrays` holds the same trees as plain arrays (all trees'
nodes concatenated, ``offsets`` giving where each tree starts), which the model bundle
writes into its npz archive, and predicts what the forest predicts, bit for bit:

- the features are rounded to float32 first, as scikit-learn does, and a node sends a
  pixel left when ``x <= threshold`` (float32 x against the float64 threshold);
- a missing value (NaN) goes to the side scikit-learn recorded for the node
  (``missing_go_to_left``), when the forest accepts missing values (``allow_nan``);
- a tree's probabilities are the class fractions of its leaf (``tree_.value``, weighted
  by ``class_weight`` and the bootstrap counts; normalised since scikit-learn 1.4), added
  over the trees in their order from 0.0 and divided by the number of trees, as
  ``RandomForestClassifier.predict_proba`` does with ``n_jobs=1`` (its threads add the
  trees in the order they finish: with ``n_jobs > 1`` its own results move by ~1e-16);
- labels are the first class of largest probability (``classes_[argmax]``).

The kernel walks a packed copy of the trees (16 bytes a node, so a node is one cache
access): the children as global node numbers, the feature and the missing-value side
in one int32, and the threshold rounded *down* to float32, which decides every float32
x as the float64 threshold does (x <= t exactly when x <= the largest float32 <= t).
Leaves point into ``value``, the distinct leaf rows (a fully grown forest's leaves are
mostly pure: a handful of rows). It runs over blocks of pixels in parallel
(``numba.prange``) from the main thread, and on the calling thread only from other
threads (dask's thread pool already runs one chunk per core; numba's default threading
layer may not be entered by two threads at once).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

import numba
import numpy as np

from hrlc.kernels import kernel_array

#: Pixels walked through one tree before the next tree, so that the tree stays in cache
#: (blocks of 64 pixels took about twice as long).
_BLOCK = 8192
#: A node as the kernel reads it (see the module docstring).
_NODE = np.dtype([("left", np.int32), ("right", np.int32), ("feature", np.int32),
                  ("threshold", np.float32)])


#: Parameter values kept as they are in :attr:`ForestArrays.params` (others as their repr).
_PLAIN = (type(None), bool, int, float, str, dict, list, tuple)


def _forest_proba(X, roots, nodes, value, out):
    """Mean leaf probability over the trees; X (n, f) float32, out (n, n_classes) float64."""
    n = X.shape[0]
    n_trees = roots.shape[0]
    n_classes = value.shape[1]
    for block in numba.prange((n + _BLOCK - 1) // _BLOCK):
        start = block * _BLOCK
        stop = min(start + _BLOCK, n)
        for i in range(start, stop):
            for k in range(n_classes):
                out[i, k] = 0.0
        for t in range(n_trees):
            for i in range(start, stop):
                node = nodes[roots[t]]
                while node.left >= 0:
                    x = X[i, node.feature >> 1]
                    if np.isnan(x):
                        go_left = (node.feature & 1) == 1
                    else:
                        go_left = x <= node.threshold
                    node = nodes[node.left] if go_left else nodes[node.right]
                for k in range(n_classes):
                    out[i, k] += value[node.right, k]
        for i in range(start, stop):
            for k in range(n_classes):
                out[i, k] /= n_trees


_parallel_kernel = numba.njit(parallel=True, nogil=True, cache=True)(_forest_proba)
_serial_kernel = numba.njit(nogil=True, cache=True)(_forest_proba)


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a float64 matrix (bit for bit) and each row's index in them."""
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return rows[first], inverse.ravel()


def _floor_float32(values: np.ndarray) -> np.ndarray:
    """The largest float32 <= each float64 value."""
    with np.errstate(over="ignore"):  # beyond float32: +-inf, whose floor is right too
        rounded = values.astype(np.float32)
    above = rounded.astype(np.float64) > values
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


@dataclass(frozen=True, eq=False)
class ForestArrays:
    """A fitted ``RandomForestClassifier`` as arrays; predicts exactly as the forest.

    Attributes
    ----------
    classes : ndarray (n_classes,)
        Class codes, in the order of the probability columns.
    offsets : ndarray (n_trees + 1,), int64
        Tree t's nodes are rows ``offsets[t]:offsets[t + 1]`` of the node arrays.
    children_left, children_right : ndarray (n_nodes,), int32
        Children of each node, numbered within its tree (scikit-learn's ``tree_``
        arrays); -1 at the leaves.
    feature : ndarray (n_nodes,), int32
        Feature (column of X) tested by the node; -2 at the leaves.
    threshold : ndarray (n_nodes,), float64
        A pixel goes left when ``float32(x) <= threshold``.
    missing_go_to_left : ndarray (n_nodes,), uint8
        Side of a missing value (NaN), as recorded by scikit-learn.
    leaf_value : ndarray (n_nodes,), int32
        Row of ``value`` of each leaf; -1 at inner nodes.
    value : ndarray (n_distinct, n_classes), float64, 0-1
        The distinct class-fraction rows of the leaves (``tree_.value``: fractions of the
        leaf's weighted training samples).
    n_features : int
        Columns of X.
    allow_nan : bool
        The forest accepts NaN features (scikit-learn >= 1.4, default criterion);
        otherwise NaN is refused as scikit-learn refuses it.
    params : dict
        The forest's ``get_params()`` (a record: ``n_estimators``, ``class_weight`` ...).
    """

    classes: np.ndarray
    offsets: np.ndarray
    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_go_to_left: np.ndarray
    leaf_value: np.ndarray
    value: np.ndarray
    n_features: int
    allow_nan: bool = True
    params: dict = field(default_factory=dict)

    #: The arrays of a forest and their types (a bundle stores them under these names).
    ARRAYS = {"classes": None, "offsets": np.int64, "children_left": np.int32,
              "children_right": np.int32, "feature": np.int32, "threshold": np.float64,
              "missing_go_to_left": np.uint8, "leaf_value": np.int32, "value": np.float64}
    #: How the forest labels pixels (its most probable class) and that it needs no
    #: calibration (as a bundle's classifier).
    labels = "probability"
    calibration = None

    @classmethod
    def from_sklearn(cls, forest) -> ForestArrays:
        """The arrays of a fitted ``sklearn.ensemble.RandomForestClassifier``.

        Raises
        ------
        TypeError
            ``forest`` is not a RandomForestClassifier.
        ValueError
            It is not fitted, or has several outputs (one class column only).
        """
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.utils.validation import check_is_fitted

        if not isinstance(forest, RandomForestClassifier):
            raise TypeError(f"expected a fitted sklearn.ensemble.RandomForestClassifier, got "
                            f"{type(forest).__name__}")
        check_is_fitted(forest)
        if forest.n_outputs_ != 1:
            raise ValueError(f"the forest predicts {forest.n_outputs_} outputs; a land-cover "
                             "bundle holds one class per pixel: fit it on a 1-d y")
        trees = [estimator.tree_ for estimator in forest.estimators_]
        try:  # ask scikit-learn whether its trees take NaN
            forest.estimators_[0].predict_proba(np.full((1, forest.n_features_in_), np.nan,
                                                        np.float32))
            allow_nan = True
        except ValueError:
            allow_nan = False
        left = np.concatenate([t.children_left for t in trees])
        leaf = left == -1
        value, rows = _distinct_rows(np.concatenate([t.value[:, 0, :] for t in trees])[leaf])
        leaf_value = np.full(len(left), -1, np.int64)
        leaf_value[leaf] = rows

        def joined(name):
            return np.concatenate([getattr(t, name) for t in trees])

        return cls.from_arrays(
            {"classes": np.asarray(forest.classes_),
             "offsets": np.cumsum([0] + [t.node_count for t in trees]),
             "children_left": left, "children_right": joined("children_right"),
             "feature": joined("feature"), "threshold": joined("threshold"),
             "missing_go_to_left": joined("missing_go_to_left"), "leaf_value": leaf_value,
             "value": value},
            n_features=forest.n_features_in_, allow_nan=allow_nan,
            params={k: v if isinstance(v, _PLAIN) else repr(v)
                    for k, v in forest.get_params().items()})

    @classmethod
    def from_arrays(cls, arrays, *, n_features: int, allow_nan: bool,
                    params: dict | None = None) -> ForestArrays:
        """Build from the arrays of :data:`ARRAYS` (e.g. read from a bundle), checked by
        :meth:`check`.

        Raises
        ------
        ValueError
            The arrays do not form valid trees (see :meth:`check`).
        """
        typed = {name: np.ascontiguousarray(arrays[name], dtype=dtype)
                 for name, dtype in cls.ARRAYS.items()}
        forest = cls(**typed, n_features=int(n_features), allow_nan=bool(allow_nan),
                     params=dict(params or {}))
        forest.check()
        return forest

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by name (:data:`ARRAYS`)."""
        return {name: getattr(self, name) for name in self.ARRAYS}

    # ---- structure -------------------------------------------------------------------------
    @property
    def classes_(self) -> np.ndarray:
        return self.classes

    @property
    def n_features_in_(self) -> int:
        return self.n_features

    @property
    def n_trees(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_nodes(self) -> int:
        return len(self.feature)

    def _tree_of_nodes(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_trees), np.diff(self.offsets))

    def check(self) -> None:
        """Check that the arrays form valid trees, before the kernel walks them.

        Every tree has a node; a node's children are both -1 (a leaf, which points to a
        row of ``value``) or both nodes of the same tree after it (so every walk ends at
        a leaf); an inner node tests one of the ``n_features`` columns; ``value`` holds
        a class fraction (0-1) per class.

        Raises
        ------
        ValueError
            Naming the first broken rule.
        """
        offsets, n = self.offsets, self.n_nodes
        shapes = {name: getattr(self, name).shape for name in
                  ("children_left", "children_right", "feature", "threshold",
                   "missing_go_to_left", "leaf_value")}
        if set(shapes.values()) != {(n,)}:
            raise ValueError(f"the node arrays must be 1-d, of one length; got {shapes}")
        if (offsets.ndim != 1 or len(offsets) < 2 or offsets[0] != 0 or offsets[-1] != n
                or np.any(np.diff(offsets) < 1) or n >= 2 ** 31):
            raise ValueError(f"offsets must rise from 0 to the {n} nodes (< 2^31) by at "
                             f"least one node per tree; got {offsets[:3].tolist()} ... "
                             f"{offsets[-3:].tolist()}")
        tree = self._tree_of_nodes()
        local, size = np.arange(n) - offsets[tree], np.diff(offsets)[tree]
        left, right = self.children_left, self.children_right
        leaf = left == -1
        if np.any(leaf != (right == -1)):
            raise ValueError("a node has one child only: children_left and children_right "
                             "must both be -1 (a leaf) or both be nodes")
        checks = [(f"{name} must be a later node of the same tree", child, ~leaf & (
            (child <= local) | (child >= size))) for name, child in
            (("children_left", left), ("children_right", right))]
        checks += [(f"feature must be one of the {self.n_features} features", self.feature,
                    ~leaf & ((self.feature < 0) | (self.feature >= self.n_features))),
                   (f"leaf_value must be a row of the {len(self.value)} of value",
                    self.leaf_value, leaf & ((self.leaf_value < 0)
                                             | (self.leaf_value >= len(self.value))))]
        for rule, values, wrong in checks:
            if wrong.any():
                node = int(np.argmax(wrong))
                raise ValueError(f"{rule}; node {node} has {int(values[node])}")
        value = self.value
        if value.ndim != 2 or value.shape[1] != len(self.classes):
            raise ValueError(f"value must be (n_rows, {len(self.classes)} classes), got "
                             f"{value.shape}")
        if not (np.isfinite(value).all() and value.min() >= 0 and value.max() <= 1):
            raise ValueError("value must hold class fractions (0-1)")

    @cached_property
    def _packed(self) -> tuple[np.ndarray, np.ndarray]:
        """Tree roots and the nodes as the kernel reads them (module docstring)."""
        base = self.offsets[self._tree_of_nodes()]
        leaf = self.children_left == -1
        nodes = np.zeros(self.n_nodes, _NODE)
        nodes["left"] = np.where(leaf, -1, self.children_left + base)
        nodes["right"] = np.where(leaf, self.leaf_value, self.children_right + base)
        nodes["feature"] = np.where(leaf, 0, 2 * self.feature + (self.missing_go_to_left != 0))
        nodes["threshold"] = np.where(leaf, 0, _floor_float32(self.threshold))
        return self.offsets[:-1].astype(np.int64), nodes

    # ---- prediction ------------------------------------------------------------------------
    def _features(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected X of shape (n_pixels, {self.n_features}) (the forest's "
                             f"features, in order), got {X.shape}")
        with np.errstate(over="ignore"):  # beyond float32: inf, refused below
            X32 = kernel_array(X, np.float32)
        if np.isinf(X32).any():
            raise ValueError(f"X holds {int(np.isinf(X32).sum())} infinite value(s) (or values "
                             "beyond float32), which scikit-learn refuses too: replace them "
                             "by NaN or finite values")
        if not self.allow_nan and np.isnan(X32).any():
            raise ValueError(f"X holds {int(np.isnan(X32).sum())} NaN value(s), and this "
                             "forest does not accept missing values (nor does scikit-learn): "
                             "impute them first (nan_policy: impute)")
        return X32

    def predict_proba(self, X, *, parallel: bool | None = None) -> np.ndarray:
        """Class probabilities (n_pixels, n_classes), float64: the mean over the trees of
        the leaf's class fractions (scikit-learn's ``predict_proba``).

        Parameters
        ----------
        X : array (n_pixels, n_features), float32 or float64
            Features in the forest's column order (rounded to float32 first). NaN is a
            missing value.
        parallel : bool, optional
            Spread the pixels over numba's threads; default: only from the main thread.

        Raises
        ------
        ValueError
            Wrong number of features, infinite values, or NaN that the forest does not
            accept.
        """
        X32 = self._features(X)
        out = np.empty((len(X32), len(self.classes)), np.float64)
        if parallel is None:
            parallel = threading.current_thread() is threading.main_thread()
        roots, nodes = self._packed
        (_parallel_kernel if parallel else _serial_kernel)(X32, roots, nodes, self.value, out)
        return out

    def predict(self, X, *, parallel: bool | None = None) -> np.ndarray:
        """Class codes (n_pixels,): the first most probable class (scikit-learn's rule)."""
        return self.classes[np.argmax(self.predict_proba(X, parallel=parallel), axis=1)]

    def decision_scores(self, X) -> np.ndarray:
        """The probabilities (the scores a bundle records in its probe)."""
        return self.predict_proba(X)
