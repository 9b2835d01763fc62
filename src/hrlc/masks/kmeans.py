"""K-means cloud refinement on the deviation from the seasonal background.

Each observation is described by how much brighter (or darker) it is than the pixel's
seasonal background, band by band (blue first, then the configurable bands, e.g. red,
NIR and SWIR 1): ``deviation = reflectance - background``, reflectance units. Clouds
and haze brighten every visible band about equally and the blue most of all relative
to the surface; a harvest, bare soil or a flood changes the bands unevenly.

Only **candidates** are clustered: observations brighter than the background in blue
by more than ``candidate_delta``; the rest is clear. A scikit-learn
:class:`~sklearn.cluster.MiniBatchKMeans` is fitted on a sample of candidates (seeded),
then applied block by block by the nearest centre. A cluster is **cloud** when its
centre is bright in blue (``centre_blue >= cloud_delta``) and its brightening is white
(the blue deviation is at least ``blue_share`` times the largest band deviation of the
centre); other clusters are surface change. Within cloud clusters an observation is
thick cloud when its blue deviation reaches ``thick_delta``, thin cloud otherwise.

With fewer sampled candidates than ``min_sample`` (a clear season) no model is fitted
and the same rule is applied to each observation's own deviations instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np

from hrlc.masks.scl import CLEAR, THICK_CLOUD, THIN_CLOUD
from hrlc.threads import one_openmp_thread


@nb.njit(cache=True, nogil=True)
def _nearest(features, centres):  # pragma: no cover
    """Index of the nearest centre (squared Euclidean) of each row of (N, F) features."""
    n, f = features.shape
    labels = np.empty(n, np.int32)
    for i in range(n):
        best, arg = np.inf, 0
        for k in range(centres.shape[0]):
            d = 0.0
            for j in range(f):
                e = features[i, j] - centres[k, j]
                d += e * e
            if d < best:
                best, arg = d, k
        labels[i] = arg
    return labels


def white_and_bright(deviations: np.ndarray, *, cloud_delta: float,
                     blue_share: float) -> np.ndarray:
    """The cloud rule on (..., F) deviations whose first feature is blue.

    Bright: blue deviation at least ``cloud_delta``; white: blue deviation at least
    ``blue_share`` times the largest deviation over the features.
    """
    blue = deviations[..., 0]
    return (blue >= cloud_delta) & (blue >= blue_share * deviations.max(axis=-1))


@dataclass(frozen=True)
class CloudClusters:
    """A fitted cloud clustering (small, picklable; shipped to every block).

    Attributes
    ----------
    features : tuple of str
        Bands of the deviation features, blue first.
    centres : ndarray (k, features), float32
        Cluster centres, reflectance deviations; empty when no model was fitted.
    cloud : ndarray (k,), bool
        Which clusters are cloud.
    thick_delta : float
        Blue deviation from which a cloud observation is thick.
    candidate_delta, cloud_delta, blue_share : float
        The rule (see module notes).
    """

    features: tuple[str, ...]
    centres: np.ndarray
    cloud: np.ndarray
    candidate_delta: float
    cloud_delta: float
    blue_share: float
    thick_delta: float

    @property
    def fitted(self) -> bool:
        """Whether a K-means model was fitted (else the per-observation rule applies)."""
        return len(self.centres) > 0

    def classify(self, deviations: np.ndarray) -> np.ndarray:
        """CloudSEN12 cloud classes of observations.

        Parameters
        ----------
        deviations : ndarray (N, features), float32
            Reflectance minus background; rows with NaN are clear.

        Returns
        -------
        ndarray (N,), uint8: 0 clear, 1 thick cloud, 2 thin cloud.
        """
        deviations = np.asarray(deviations, np.float32)
        out = np.full(len(deviations), CLEAR, np.uint8)
        candidate = deviations[:, 0] > self.candidate_delta  # False for NaN
        rows = deviations[candidate]
        if self.fitted:
            cloud = self.cloud[_nearest(rows, self.centres.astype(np.float32))]
        else:
            cloud = white_and_bright(rows, cloud_delta=self.cloud_delta,
                                     blue_share=self.blue_share)
        classes = np.where(cloud, np.where(rows[:, 0] >= self.thick_delta, THICK_CLOUD,
                                           THIN_CLOUD), CLEAR)
        out[candidate] = classes
        return out


def fit_clusters(sample: np.ndarray, *, features: Sequence[str], n_clusters: int = 8,
                 candidate_delta: float = 0.03, cloud_delta: float = 0.05,
                 blue_share: float = 0.6, thick_delta: float = 0.15, min_sample: int = 200,
                 seed: int = 0) -> CloudClusters:
    """Fit the K-means on a sample of candidate deviations and label its clusters.

    Parameters
    ----------
    sample : ndarray (N, features), float32
        Deviations from the background of sampled observations (any rows: those that
        are not candidates or hold NaN are dropped here).
    features : sequence of str
        Band of each column, blue first.
    n_clusters : int
        Number of clusters.
    candidate_delta, cloud_delta, blue_share, thick_delta : float
        See the module notes; deltas in reflectance units.
    min_sample : int
        Fewest candidates to fit a model; below it the per-observation rule is used.
    seed : int
        Seed of the K-means initialisation.

    Returns
    -------
    CloudClusters
    """
    from sklearn.cluster import MiniBatchKMeans

    sample = np.asarray(sample, np.float32)
    sample = sample[np.isfinite(sample).all(axis=1) & (sample[:, 0] > candidate_delta)]
    common = dict(features=tuple(features), candidate_delta=candidate_delta,
                  cloud_delta=cloud_delta, blue_share=blue_share, thick_delta=thick_delta)
    if len(sample) < max(min_sample, n_clusters):
        return CloudClusters(centres=np.empty((0, len(features)), np.float32),
                             cloud=np.empty(0, bool), **common)
    with one_openmp_thread():  # short parallel regions: a second thread only spins
        model = MiniBatchKMeans(n_clusters=n_clusters, random_state=seed, n_init=3,
                                batch_size=4096).fit(sample)
    centres = model.cluster_centers_.astype(np.float32)
    cloud = white_and_bright(centres, cloud_delta=cloud_delta, blue_share=blue_share)
    return CloudClusters(centres=centres, cloud=cloud, **common)
