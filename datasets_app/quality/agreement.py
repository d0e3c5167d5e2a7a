"""Chance-corrected inter-rater agreement: Fleiss' kappa and Krippendorff's alpha (nominal).

Both return None when the statistic is undefined: no item has two ratings to compare, or every
rating is the same class (expected disagreement is zero, so 0/0).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import numpy.typing as npt

from datasets_app.quality.consensus import _factorize

__all__ = ["fleiss_kappa", "krippendorff_alpha_nominal"]

# Below this, expected disagreement counts as zero (all ratings in one class).
_EPS = 1e-12


def fleiss_kappa(counts: npt.ArrayLike) -> float | None:
    """Fleiss' kappa from a (items, classes) table of how many raters put each item in each class.

    Items may have different numbers of raters. Items with fewer than 2 ratings carry no
    agreement information and are dropped; on the rest, per item
        P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1))
    P_bar is the unweighted mean of P_i, p_j the pooled share of ratings in class j,
    P_e = sum_j p_j^2 and kappa = (P_bar - P_e) / (1 - P_e). With the same number of raters on
    every item this is exactly Fleiss (1971), "Measuring nominal scale agreement among many
    raters", Psychological Bulletin 76(5).
    """
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError("counts must be a 2-D (items, classes) table")
    if not np.all(np.isfinite(table)) or np.any(table < 0) or np.any(table != np.round(table)):
        raise ValueError("counts must be non-negative whole numbers")
    raters = table.sum(axis=1)
    rated = table[raters >= 2]
    if rated.shape[0] == 0:
        return None
    n = raters[raters >= 2]
    per_item = (rated * (rated - 1)).sum(axis=1) / (n * (n - 1))
    shares = rated.sum(axis=0) / rated.sum()
    expected = float(np.dot(shares, shares))
    if 1.0 - expected < _EPS:
        return None
    return (float(per_item.mean()) - expected) / (1.0 - expected)


def krippendorff_alpha_nominal(
    labels: Sequence[tuple[Hashable, Hashable, Hashable]],
) -> float | None:
    """Krippendorff's alpha for nominal values from (item, labeler, value) triples.

    Missing data is simply absent triples; items with a single value are unpairable and drop
    out. Values are compared for equality only, so any hashable works (class indices, text).
    From the coincidence matrix o[c, k] = sum over items u of (pairs of values c, k in u) /
    (m_u - 1), with n_c its margins and n = sum n_c,
        alpha = 1 - (n - 1) * (n - sum_c o[c, c]) / (n^2 - sum_c n_c^2)
    (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"). Nominal alpha needs only
    the diagonal and margins, built from the distinct (item, value) counts, so memory is
    O(labels) however many distinct values there are. One value per (item, labeler):
    a repeat raises ValueError.
    """
    if not labels:
        return None
    _, item_idx = _factorize([row[0] for row in labels])
    labelers, labeler_idx = _factorize([row[1] for row in labels])
    values, value_idx = _factorize([row[2] for row in labels])
    pair = item_idx * len(labelers) + labeler_idx
    if np.unique(pair).size != pair.size:
        raise ValueError("a labeler gave more than one value for the same item")

    n_values = len(values)
    cell, cell_count = np.unique(item_idx * n_values + value_idx, return_counts=True)
    cell_item, cell_value = np.divmod(cell, n_values)
    per_item = np.bincount(item_idx)
    pairable = per_item[cell_item] >= 2
    m = per_item[cell_item][pairable].astype(np.float64)
    n_uc = cell_count[pairable].astype(np.float64)

    observed_agreement = float((n_uc * (n_uc - 1) / (m - 1)).sum())  # sum_c o[c, c]
    margins = np.bincount(cell_value[pairable], weights=n_uc, minlength=n_values)  # n_c
    n = float(margins.sum())
    expected_pairs = n * n - float(np.dot(margins, margins))
    if n < 2 or expected_pairs < _EPS:
        return None
    return 1.0 - (n - 1.0) * (n - observed_agreement) / expected_pairs
