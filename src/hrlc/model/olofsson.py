"""Area-adjusted accuracy and class areas with confidence intervals (Olofsson et al. 2014).

Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock, C. E., Wulder, M. A.
(2014). Good practices for estimating area and assessing accuracy of land change. Remote
Sensing of Environment 148, 42-57 (equations 2-11). The map classes are the strata of a
stratified random sample; ``W_i`` is the mapped area share of class i, ``n_ij`` the
number of samples mapped as i whose reference class is j.

- area proportions ``p_ij = W_i n_ij / n_i.``;
- overall accuracy ``sum_j p_jj``, user's accuracy ``U_i = n_ii / n_i.``, producer's
  accuracy ``P_j = p_jj / p_.j``;
- estimated area of class j ``A_j = A * p_.j`` with
  ``SE(p_.j) = sqrt(sum_i W_i^2 (n_ij/n_i.)(1 - n_ij/n_i.) / (n_i. - 1))``;
- ``V(OA) = sum_i W_i^2 U_i (1 - U_i) / (n_i. - 1)``, ``V(U_i) = U_i (1 - U_i) / (n_i. - 1)``
  and V(P_j) by equation 7; confidence intervals are ``z * SE`` (z = 1.96 for 95 %).

Samples of a classifier's held-out set are not a probability sample of a map: these
figures are exact only when the samples were drawn at random within each mapped class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hrlc.errors import InputError


def area_adjusted_accuracy(counts: np.ndarray, mapped_area: Sequence[float], *,
                           classes: Sequence | None = None,
                           class_names: Mapping | None = None, z: float = 1.96) -> dict:
    """Olofsson et al. (2014) estimators from a sample confusion matrix and mapped areas.

    Parameters
    ----------
    counts : ndarray (n_classes, n_classes)
        Sample counts; **rows: map class, columns: reference class**.
    mapped_area : sequence of float (n_classes,)
        Area of each class in the map, any unit (pixels, ha); estimates come in that unit.
    classes : sequence, optional
        Class codes (default 0..n-1).
    class_names : mapping, optional
        Code -> name.
    z : float
        Normal quantile of the confidence intervals (1.96: 95 %).

    Returns
    -------
    dict
        ``overall_accuracy`` and ``overall_accuracy_ci``; ``per_class``: code, name,
        ``users_accuracy``/``_ci``, ``producers_accuracy``/``_ci``, ``mapped_area``,
        ``area``/``area_ci`` (estimated, same unit), ``proportion``/``proportion_ci``;
        ``proportions`` (the p_ij matrix). A ``*_ci`` is the half-width of the interval;
        NaN where a class has fewer than 2 samples.

    Raises
    ------
    InputError
        Shapes disagree, negative values, or a mapped class with area but no sample.
    """
    n = np.asarray(counts, dtype=np.float64)
    area = np.asarray(mapped_area, dtype=np.float64)
    k = n.shape[0]
    if n.ndim != 2 or n.shape[1] != k or area.shape != (k,):
        raise InputError(f"need a square count matrix and one mapped area per class, got "
                         f"counts {n.shape} and areas {area.shape}")
    if (n < 0).any() or (area < 0).any() or area.sum() <= 0:
        raise InputError("counts and mapped areas must be >= 0 with a positive total area")
    classes = list(range(k)) if classes is None else list(classes)
    names = dict(class_names or {})
    row = n.sum(axis=1)
    unsampled = [classes[i] for i in range(k) if row[i] == 0 and area[i] > 0]
    if unsampled:
        raise InputError(f"map class(es) {unsampled} have mapped area but no sample; the "
                         "stratified estimators need samples in every mapped class")
    weight = area / area.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(row[:, None] > 0, n / row[:, None], 0.0)  # n_ij / n_i.
        dof = np.where(row > 1, row - 1, np.nan)                   # n_i. - 1
        p = weight[:, None] * share
        p_ref = p.sum(axis=0)
        users = np.diag(share).copy()
        producers = np.where(p_ref > 0, np.diag(p) / p_ref, np.nan)
        overall = float(np.trace(p))
        var_overall = np.nansum(weight**2 * users * (1 - users) / dof)
        var_users = users * (1 - users) / dof
        var_prop = np.nansum(weight[:, None] ** 2 * share * (1 - share) / dof[:, None], axis=0)
        var_producers = np.empty(k)
        for j in range(k):
            others = np.arange(k) != j
            first = weight[j] ** 2 * (1 - producers[j]) ** 2 * users[j] * (1 - users[j]) / dof[j]
            second = producers[j] ** 2 * np.nansum(
                weight[others] ** 2 * share[others, j] * (1 - share[others, j]) / dof[others])
            var_producers[j] = (first + second) / p_ref[j] ** 2
    total = float(area.sum())
    per_class = []
    for i, code in enumerate(classes):
        plain = code.item() if hasattr(code, "item") else code
        per_class.append({
            "code": plain, "name": str(names.get(plain, plain)),
            "n_samples": int(row[i]), "mapped_area": float(area[i]),
            "users_accuracy": float(users[i]), "users_accuracy_ci": float(z * np.sqrt(var_users[i])),
            "producers_accuracy": float(producers[i]),
            "producers_accuracy_ci": float(z * np.sqrt(var_producers[i])),
            "proportion": float(p_ref[i]), "proportion_ci": float(z * np.sqrt(var_prop[i])),
            "area": float(total * p_ref[i]), "area_ci": float(total * z * np.sqrt(var_prop[i])),
        })
    return {"overall_accuracy": overall, "overall_accuracy_ci": float(z * np.sqrt(var_overall)),
            "z": z, "total_area": total, "per_class": per_class, "proportions": p.tolist()}
