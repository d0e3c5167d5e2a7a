"""Chance-corrected inter-rater agreement: Krippendorff's alpha (nominal).

It is None when the statistic is undefined: no item has two ratings to compare, or every rating
is the same class (expected disagreement is zero, so 0/0).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from datasets_app.quality.consensus import _factorize

__all__ = ["krippendorff_alpha_nominal"]

# Below this, expected disagreement counts as zero (all ratings in one class).
_EPS = 1e-12


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
