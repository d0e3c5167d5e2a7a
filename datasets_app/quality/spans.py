"""Consensus over text-span (named-entity) labels: validation, weighted-majority spans, span F1.

Pure functions over plain values (no ORM), like ``consensus``. A label is one labeler's list of
spans ``{"start": int, "end": int, "label": class}`` over the item's text: character offsets,
``end`` exclusive, ``label`` one of the dataset's classes (any hashable: a name or an index).

Matching two spans of the same class:
  "exact"  same offsets.
  "token"  the Jaccard index of the word tokens they touch is >= ``token_overlap``. Tokens are
           ``\\w+`` runs and single punctuation marks of the text (whitespace separates, never
           counts); a span touches a token when their character ranges intersect, so a span cut
           mid-word still holds that word. A span that touches no token (only whitespace)
           matches only a span with the same offsets.

Also here, for boxes too: ``InvalidAnnotation`` (a refusal with a stable ``code``) and
``f1_score``. A label's F1 against consensus or gold is its fractional agreement in
``consensus.labeler_observation``.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations, pairwise
from typing import Any, Literal, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from datasets_app.quality.consensus import FloatArray, _labeler_weights

LabelerT = TypeVar("LabelerT", bound=Hashable)
SpanMatch = Literal["exact", "token"]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "F1_AGREES",
    "InvalidAnnotation",
    "Span",
    "SpanConsensus",
    "f1_score",
    "labeler_weight_vector",
    "span_consensus",
    "span_f1",
    "validate_spans",
]

# A span or box label at or above this F1 (against the consensus or a gold answer) agrees with
# it: counted as gold-correct, and as agreeing in the row viewer.
F1_AGREES = 0.5
# A float sum of weights may land a hair above one half when the true share is exactly 1/2
# (a tie), which must not count as a majority.
MAJORITY_EPS = 1e-9
_TOKEN = re.compile(r"\w+|[^\w\s]")


class InvalidAnnotation(ValueError):
    """A label the task refuses; ``code`` is stable for the API's {"detail", "code"}."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class Span(NamedTuple):
    start: int
    end: int
    label: Hashable


def _class_key(label: Hashable) -> tuple[str, str]:
    """A total order over class labels of mixed types (for a canonical output order)."""
    return (type(label).__name__, str(label))


def _span_key(span: Span) -> tuple[int, int, tuple[str, str]]:
    return (span.start, span.end, _class_key(span.label))


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _known(label: object, classes: Collection[Hashable]) -> bool:
    try:
        return label in classes
    except TypeError:  # an unhashable label (a list, a dict) is no class
        return False


def validate_spans(
    spans: object, text: str, classes: Collection[Hashable], allow_overlap: bool
) -> list[dict[str, Any]]:
    """The spans as stored: ``[{"start", "end", "label"}]`` sorted by (start, end, label).

    Raises ``InvalidAnnotation`` with code
      "spans_not_a_list"   not a list;
      "span_malformed"     an entry is not an object with exactly start, end and label, or an
                           offset is not an integer;
      "span_outside_text"  not ``0 <= start < end <= len(text)``;
      "span_unknown_class" the label is not one of ``classes``;
      "span_duplicate"     the same (start, end, label) twice;
      "span_overlap"       two spans share a character while ``allow_overlap`` is False
                           (whatever their classes; touching spans [0, 3) and [3, 5) do not).
    An empty list is a valid label: the labeler saw no entity.
    """
    if not isinstance(spans, list | tuple):
        raise InvalidAnnotation("spans_not_a_list", "spans must be a list of {start, end, label}")
    parsed: list[Span] = []
    for n, raw in enumerate(spans):
        if not isinstance(raw, Mapping) or set(raw) != {"start", "end", "label"}:
            raise InvalidAnnotation(
                "span_malformed", f"span {n} must be an object with exactly start, end and label"
            )
        start, end, label = raw["start"], raw["end"], raw["label"]
        if not (_is_int(start) and _is_int(end)):
            raise InvalidAnnotation("span_malformed", f"span {n}: start and end must be integers")
        if not 0 <= start < end <= len(text):
            raise InvalidAnnotation(
                "span_outside_text",
                f"span {n} [{start}, {end}) must have 0 <= start < end <= {len(text)} "
                "(the text's length)",
            )
        if not _known(label, classes):
            raise InvalidAnnotation("span_unknown_class", f"span {n}: unknown class {label!r}")
        parsed.append(Span(int(start), int(end), label))
    parsed.sort(key=_span_key)
    for before, after in pairwise(parsed):
        if before == after:
            raise InvalidAnnotation(
                "span_duplicate", f"span [{after.start}, {after.end}) {after.label!r} is repeated"
            )
    if not allow_overlap:
        reach = -1  # the furthest end so far; spans are sorted by start
        for span in parsed:
            if span.start < reach:
                raise InvalidAnnotation(
                    "span_overlap",
                    f"span [{span.start}, {span.end}) overlaps another; this dataset forbids "
                    "overlapping spans",
                )
            reach = max(reach, span.end)
    return [_as_dict(span) for span in parsed]


def _as_dict(span: Span) -> dict[str, Any]:
    return {"start": span.start, "end": span.end, "label": span.label}


def _as_spans(spans: Iterable[Mapping[str, Any] | Span]) -> list[Span]:
    """Distinct spans in canonical order (a repeat counts once); dicts or ``Span`` tuples."""
    out = {
        s if isinstance(s, Span) else Span(int(s["start"]), int(s["end"]), s["label"])
        for s in spans
    }
    return sorted(out, key=_span_key)


class _Tokens:
    """Word-token index ranges of spans over one text: a span -> [first, last + 1)."""

    def __init__(self, text: str) -> None:
        found = list(_TOKEN.finditer(text))
        self.starts = [m.start() for m in found]
        self.ends = [m.end() for m in found]

    def range(self, span: Span) -> tuple[int, int]:
        first = bisect.bisect_right(self.ends, span.start)  # first token ending after start
        stop = bisect.bisect_left(self.starts, span.end)  # tokens starting before end
        return first, max(first, stop)


def _matcher(
    match: SpanMatch, token_overlap: float, text: str | None
) -> Callable[[Span, Span], float]:
    """similarity(a, b) in [0, 1] for two spans of one class; they match when it is >= the
    threshold the caller uses (1 for "exact", ``token_overlap`` for "token")."""
    if match == "exact":
        return lambda a, b: 1.0 if a == b else 0.0
    if match != "token":
        raise ValueError(f'match must be "exact" or "token", not {match!r}')
    if text is None:
        raise ValueError('match="token" needs the item\'s text')
    if not 0.0 < token_overlap <= 1.0:
        raise ValueError("token_overlap must lie in (0, 1]")
    tokens = _Tokens(text)
    ranges: dict[Span, tuple[int, int]] = {}

    def similarity(a: Span, b: Span) -> float:
        if a == b:
            return 1.0
        ra = ranges.get(a) or ranges.setdefault(a, tokens.range(a))
        rb = ranges.get(b) or ranges.setdefault(b, tokens.range(b))
        inter = max(0, min(ra[1], rb[1]) - max(ra[0], rb[0]))
        union = (ra[1] - ra[0]) + (rb[1] - rb[0]) - inter
        return inter / union if union else 0.0

    return similarity


def _threshold(match: SpanMatch, token_overlap: float) -> float:
    return 1.0 if match == "exact" else token_overlap


def f1_score(matched: int, n_predicted: int, n_reference: int) -> float:
    """2 * matched / (n_predicted + n_reference); 1.0 when both are empty (nothing to find, and
    nothing was claimed), 0.0 when exactly one is."""
    total = n_predicted + n_reference
    return 1.0 if total == 0 else 2.0 * matched / total


def _max_matching(edges: npt.NDArray[np.bool_]) -> int:
    """Size of a maximum bipartite matching of a boolean (n, m) edge matrix."""
    if not edges.any():
        return 0
    # Common case: no span has two candidates, so the edges are already a matching.
    if edges.sum(axis=0).max() <= 1 and edges.sum(axis=1).max() <= 1:
        return int(edges.sum())
    rows, cols = linear_sum_assignment(edges, maximize=True)
    return int(edges[rows, cols].sum())


def _by_class(spans: Sequence[Span]) -> dict[Hashable, list[Span]]:
    grouped: dict[Hashable, list[Span]] = {}
    for span in spans:
        grouped.setdefault(span.label, []).append(span)
    return grouped


def _matched_count(
    predicted: Sequence[Span],
    reference: Sequence[Span],
    similarity: Callable[[Span, Span], float],
    threshold: float,
    exact: bool,
) -> int:
    if exact:
        return len(set(predicted) & set(reference))
    ref_by_class = _by_class(reference)
    matched = 0
    for label, mine in _by_class(predicted).items():
        theirs = ref_by_class.get(label, [])
        if theirs:
            edges = np.array([[similarity(a, b) >= threshold for b in theirs] for a in mine])
            matched += _max_matching(edges)
    return matched


def span_f1(
    predicted: Iterable[Mapping[str, Any] | Span],
    reference: Iterable[Mapping[str, Any] | Span],
    *,
    match: SpanMatch = "exact",
    token_overlap: float = 0.5,
    text: str | None = None,
) -> float:
    """Span F1 of ``predicted`` against ``reference`` (gold, or an item's consensus).

    A true positive is a pair of same-class spans that match; with "token", each span is used in
    at most one pair and the pairing is a maximum bipartite matching, so the score is symmetric
    in its two arguments (as precision and recall swap). Both empty: 1.0.
    """
    similarity = _matcher(match, token_overlap, text)
    mine, theirs = _as_spans(predicted), _as_spans(reference)
    matched = _matched_count(
        mine, theirs, similarity, _threshold(match, token_overlap), match == "exact"
    )
    return f1_score(matched, len(mine), len(theirs))


@dataclass(frozen=True)
class SpanConsensus:
    spans: list[dict[str, Any]]  # the consensus label, as stored, sorted by (start, end, label)
    support: list[float]  # each consensus span's share of the item's labeler weight, > 0.5
    agreement: float | None  # mean pairwise span F1 among the labelers; None below 2 labelers


def labeler_weight_vector(
    labelers: Sequence[LabelerT],
    weights: Mapping[LabelerT, float],
    default_weight: float | None = None,
) -> FloatArray:
    """Each labeler's weight, as ``consensus.weighted_majority`` takes them (a missing labeler
    gets ``default_weight`` or raises KeyError; weights finite and >= 0); when all weigh 0,
    everyone weighs 1 (the plain majority), as there."""
    vector = _labeler_weights(list(labelers), weights, default_weight)
    return vector if vector.sum() > 0 else np.ones(len(labelers))


def _labeler_order(labeler: Hashable) -> tuple[str, str]:
    return (type(labeler).__name__, repr(labeler))


def _greedy_consensus(
    held: dict[int, list[Span]],
    weight: FloatArray,
    total: float,
    similarity: Callable[[Span, Span], float],
    threshold: float,
) -> list[tuple[Span, float]]:
    """Token-match consensus for one class: repeatedly take the candidate span that the most
    weight matches (ties: more weight on its exact offsets, then the earlier, shorter span); it
    is in when that weight is a majority, and each supporter's best-matching span is used up.
    Which spans match is worked out once; each round weighs what is left of it."""
    left = {labeler: set(spans) for labeler, spans in held.items() if spans}
    pool = sorted(set().union(*left.values()), key=_span_key)
    matching = {a: {b for b in pool if similarity(a, b) >= threshold} for a in pool}
    accepted: list[tuple[Span, float]] = []
    while left:
        present = set().union(*left.values())
        best, chosen = (-1.0, -1.0), pool[0]
        for candidate in (span for span in pool if span in present):
            support = exact = 0.0
            for labeler, spans in left.items():
                if not matching[candidate].isdisjoint(spans):
                    support += float(weight[labeler])
                if candidate in spans:
                    exact += float(weight[labeler])
            if (support, exact) > best:  # strict: ties keep the earlier span
                best, chosen = (support, exact), candidate
        share = best[0] / total
        if share <= 0.5 + MAJORITY_EPS:
            break
        accepted.append((chosen, share))
        for labeler in list(left):
            spans = left[labeler]
            backing = matching[chosen] & spans
            if backing:  # the best match, the earlier span on a tie
                spans.remove(min(backing, key=lambda s: (-similarity(chosen, s), _span_key(s))))
                if not spans:
                    del left[labeler]
    return accepted


def span_consensus(
    labels: Mapping[LabelerT, Iterable[Mapping[str, Any] | Span]],
    weights: Mapping[LabelerT, float],
    *,
    match: SpanMatch = "exact",
    token_overlap: float = 0.5,
    text: str | None = None,
    default_weight: float | None = None,
) -> SpanConsensus:
    """The consensus spans of one item from its k labelers' labels (``{labeler: spans}``; a
    labeler who marked nothing is present with an empty list and counts in the total weight).

    Per class, a span is in when the labelers who marked a matching span hold more than half of
    the total weight of the item's labelers (a tie is not a majority). "exact": the span's
    offsets themselves. "token": the candidate (a span some labeler marked) that the most weight
    matches at Jaccard >= ``token_overlap``; its supporters' matching spans are then used up and
    the next candidate is weighed on what is left, so one labeler backs at most one consensus
    span per span marked. Weights as in ``labeler_weight_vector``. ``agreement`` is the mean
    span F1 over labeler pairs (same matching, unweighted).
    """
    similarity = _matcher(match, token_overlap, text)
    threshold = _threshold(match, token_overlap)
    labelers = sorted(labels, key=_labeler_order)
    spans = [_as_spans(labels[labeler]) for labeler in labelers]
    weight = labeler_weight_vector(labelers, weights, default_weight)
    total = float(weight.sum())
    decided: list[tuple[Span, float]] = []
    if match == "exact":
        support: dict[Span, float] = {}
        for code, held in enumerate(spans):
            for span in held:
                support[span] = support.get(span, 0.0) + float(weight[code])
        decided = [(s, w / total) for s, w in support.items() if w / total > 0.5 + MAJORITY_EPS]
    else:
        classes: dict[Hashable, dict[int, list[Span]]] = {}
        for code, held in enumerate(spans):
            for span in held:
                classes.setdefault(span.label, {}).setdefault(code, []).append(span)
        for by_labeler in classes.values():
            decided += _greedy_consensus(by_labeler, weight, total, similarity, threshold)
    decided.sort(key=lambda pair: _span_key(pair[0]))
    pairs = [
        f1_score(_matched_count(a, b, similarity, threshold, match == "exact"), len(a), len(b))
        for a, b in combinations(spans, 2)
    ]
    return SpanConsensus(
        spans=[_as_dict(span) for span, _ in decided],
        support=[share for _, share in decided],
        agreement=math.fsum(pairs) / len(pairs) if pairs else None,
    )
