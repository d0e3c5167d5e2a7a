"""Exact span consensus for many items at once, vectorised with NumPy: the same decision as
``datasets_app.quality.spans.span_consensus(match="exact")`` item by item (tested equal in
``tests/datasets_app/test_span_consensus.py``). The app does not call it: it decides each item
with ``span_consensus`` when the item's k-th label arrives. ``bench_span_box_consensus.py`` uses it
to run a million span labels through the same decision in seconds, as a dataset-wide recompute
(should one be added) would."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

from datasets_app.quality.consensus import FloatArray
from datasets_app.quality.spans import MAJORITY_EPS, IntArray

__all__ = ["ExactSpanConsensus", "exact_span_consensus_arrays"]


@dataclass(frozen=True)
class ExactSpanConsensus:
    # One row per consensus span, sorted by (item, start, end, class).
    item: IntArray
    start: IntArray
    end: IntArray
    label: IntArray
    share: FloatArray
    # One row per distinct item id (sorted): mean pairwise span F1, NaN below 2 labelers.
    items: IntArray
    agreement: FloatArray


def exact_span_consensus_arrays(
    label_item: npt.ArrayLike,
    label_weight: npt.ArrayLike,
    span_label: npt.ArrayLike,
    span_start: npt.ArrayLike,
    span_end: npt.ArrayLike,
    span_class: npt.ArrayLike,
    *,
    agreement: bool = True,
) -> ExactSpanConsensus:
    """``span_consensus(match="exact")`` for many items at once, vectorised (a nightly recompute,
    the benchmark). Labels are rows ``(label_item[i], label_weight[i])``, one per (item,
    labeler), including labelers who marked nothing; spans are rows pointing at their label by
    index ``span_label`` with integer class codes. An item whose labels all weigh 0 uses weight
    1 each. Agreement needs at most 62 labelers per item.
    """
    l_item = np.asarray(label_item, dtype=np.int64)
    l_weight = np.asarray(label_weight, dtype=np.float64)
    items, item_code = np.unique(l_item, return_inverse=True)
    n_items = items.size
    totals = np.bincount(item_code, weights=l_weight, minlength=n_items)
    if np.any(totals <= 0):
        l_weight = np.where((totals <= 0)[item_code], 1.0, l_weight)
        totals = np.bincount(item_code, weights=l_weight, minlength=n_items)

    s_label = np.asarray(span_label, dtype=np.int64)
    columns = [np.asarray(c, dtype=np.int64) for c in (span_start, span_end, span_class)]
    # Sort spans by (item, start, end, class, label): a repeat within one label is adjacent.
    s_item = item_code[s_label]
    order = _sort_order([s_item, *columns, s_label])
    s_item, s_label = s_item[order], s_label[order]
    start, end, cls = (c[order] for c in columns)
    n = s_item.size
    same_key = np.zeros(n, dtype=bool)
    if n > 1:
        same_key[1:] = (
            (s_item[1:] == s_item[:-1])
            & (start[1:] == start[:-1])
            & (end[1:] == end[:-1])
            & (cls[1:] == cls[:-1])
        )
    repeat = np.zeros(n, dtype=bool)
    if n > 1:
        repeat[1:] = same_key[1:] & (s_label[1:] == s_label[:-1])
    keep = ~repeat
    s_item, s_label, start, end, cls = (a[keep] for a in (s_item, s_label, start, end, cls))
    first = np.flatnonzero(~same_key[keep])  # first row of each distinct (item, span)
    support = np.add.reduceat(l_weight[s_label], first) if first.size else np.zeros(0)
    g_item = s_item[first]
    share = support / totals[g_item] if first.size else np.zeros(0)
    chosen = share > 0.5 + MAJORITY_EPS

    agree = np.full(n_items, np.nan)
    if agreement:
        agree = _pairwise_exact_f1(item_code, s_item, s_label, first, n_items)
    return ExactSpanConsensus(
        item=items[g_item[chosen]],
        start=start[first][chosen],
        end=end[first][chosen],
        label=cls[first][chosen],
        share=share[chosen],
        items=items,
        agreement=agree,
    )


def _sort_order(columns: list[IntArray]) -> npt.NDArray[np.intp]:
    """The order sorting rows by the columns, first column first. When the columns' ranges fit
    in 63 bits together, one sort of packed int64 keys (about 2x faster than ``np.lexsort``)."""
    if columns[0].size == 0:
        return np.arange(0, dtype=np.intp)
    lows = [int(c.min()) for c in columns]
    bits = [max(1, (int(c.max()) - low).bit_length()) for c, low in zip(columns, lows, strict=True)]
    if sum(bits) > 63:
        return np.lexsort(columns[::-1])
    key = np.zeros(columns[0].size, dtype=np.int64)
    for column, low, width in zip(columns, lows, bits, strict=True):
        key = (key << width) | (column - low)
    return np.argsort(key)


def _pairwise_exact_f1(
    item_code: npt.NDArray[np.intp],
    s_item: IntArray,
    s_label: IntArray,
    first: npt.NDArray[np.intp],
    n_items: int,
) -> FloatArray:
    """Mean over labeler pairs of exact span F1, per item: each distinct span carries a bitmask
    of the labelers (by position within the item) who marked it."""
    n_labels = item_code.size
    by_item = np.argsort(item_code, kind="stable")
    per_item = np.bincount(item_code, minlength=n_items)
    offsets = np.concatenate(([0], np.cumsum(per_item)[:-1]))
    position = np.empty(n_labels, dtype=np.int64)
    position[by_item] = np.arange(n_labels) - offsets[item_code[by_item]]
    k = int(per_item.max()) if n_items else 0
    if k > 62:
        raise ValueError("exact_span_consensus_arrays: agreement supports at most 62 labelers")
    bit = np.left_shift(np.int64(1), position[s_label])
    mask = np.bitwise_or.reduceat(bit, first) if first.size else np.zeros(0, dtype=np.int64)
    g_item = s_item[first]
    counts = np.bincount(s_item * k + position[s_label], minlength=n_items * k).reshape(
        n_items, max(k, 1)
    )
    f1_sum = np.zeros(n_items)
    n_pairs = np.zeros(n_items)
    for p, q in combinations(range(k), 2):
        both = ((mask >> p) & (mask >> q) & 1).astype(np.float64)
        matched = np.bincount(g_item, weights=both, minlength=n_items)
        size = counts[:, p] + counts[:, q]
        valid = per_item > q  # positions run 0..per_item-1, so the pair exists
        f1 = np.where(size > 0, 2.0 * matched / np.maximum(size, 1), 1.0)
        f1_sum += np.where(valid, f1, 0.0)
        n_pairs += valid
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pairs > 0, f1_sum / n_pairs, np.nan)
