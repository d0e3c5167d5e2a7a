"""Consensus over crowd labels: majority votes, Dawid-Skene EM, and labeler credibility.

Pure functions over plain tuples (no ORM): the labeling services load `(item, labeler, answer)`
rows, call one of these, and store the decision. Item and labeler ids are any hashables (ints,
UUIDs); class answers are indices into the dataset's class list, `0 <= class < n_classes`.
Every function expects at most one label per (item, labeler); a repeat counts as another vote.

Dawid & Skene (1979), "Maximum Likelihood Estimation of Observer Error-Rates Using the EM
Algorithm", Applied Statistics 28(1): 20-28.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

import numpy as np
import numpy.typing as npt

ItemT = TypeVar("ItemT", bound=Hashable)
LabelerT = TypeVar("LabelerT", bound=Hashable)

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]

__all__ = [
    "DawidSkeneResult",
    "credibility_update",
    "dawid_skene",
    "free_text_consensus",
    "labeler_accuracy_from_confusion",
    "labeler_observation",
    "majority_vote",
    "multilabel_consensus",
    "normalise_text",
    "weighted_majority",
]


@dataclass(frozen=True)
class DawidSkeneResult(Generic[ItemT, LabelerT]):
    # item -> P(true class = k), shape (n_classes,); gold items are one-hot.
    posteriors: dict[ItemT, FloatArray]
    # item -> (argmax class, its posterior); ties go to the lowest class index.
    labels: dict[ItemT, tuple[int, float]]
    # labeler -> row-stochastic (n_classes, n_classes): [true class, answered class].
    confusion: dict[LabelerT, FloatArray]
    priors: FloatArray
    iterations: int
    converged: bool
    log_likelihood: float

    def labeler_accuracies(self) -> dict[LabelerT, float]:
        """P(labeler answers the true class) for an item drawn from the class priors."""
        return {
            labeler: labeler_accuracy_from_confusion(matrix, self.priors)
            for labeler, matrix in self.confusion.items()
        }


@dataclass(frozen=True)
class _Encoded(Generic[ItemT, LabelerT]):
    items: list[ItemT]  # code -> id
    labelers: list[LabelerT]
    item_idx: IndexArray  # per label
    labeler_idx: IndexArray
    answer: IndexArray


def _factorize(values: list[Hashable]) -> tuple[list[Hashable], IndexArray]:
    """(distinct values, code of each value); integer ids take a vectorised path."""
    if values and isinstance(values[0], int | np.integer) and not isinstance(values[0], bool):
        try:
            as_array = np.asarray(values)
        except (ValueError, OverflowError):  # ragged or mixed ids: take the general path
            as_array = np.empty(0, dtype=object)
        if as_array.dtype.kind in "iu" and as_array.ndim == 1:
            distinct, codes = np.unique(as_array, return_inverse=True)
            return distinct.tolist(), codes.astype(np.intp, copy=False)
    index: dict[Hashable, int] = {}
    # setdefault's default is evaluated before insertion, so a new value gets code len(index).
    codes = np.fromiter(
        (index.setdefault(v, len(index)) for v in values), dtype=np.intp, count=len(values)
    )
    return list(index), codes


def _class_array(answers: list[int], n_classes: int) -> IndexArray:
    array = np.asarray(answers) if answers else np.empty(0, dtype=np.intp)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError("class indices must be integers")
    if array.size and (array.min() < 0 or array.max() >= n_classes):
        raise ValueError(f"class indices must lie in [0, {n_classes})")
    return array.astype(np.intp, copy=False)


def _encode(
    labels: Sequence[tuple[ItemT, LabelerT, int]], n_classes: int
) -> _Encoded[ItemT, LabelerT]:
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    items, item_idx = _factorize([row[0] for row in labels])
    labelers, labeler_idx = _factorize([row[1] for row in labels])
    return _Encoded(
        items=items,  # type: ignore[arg-type]
        labelers=labelers,  # type: ignore[arg-type]
        item_idx=item_idx,
        labeler_idx=labeler_idx,
        answer=_class_array([row[2] for row in labels], n_classes),
    )


def _vote_matrix(
    enc: _Encoded[ItemT, LabelerT], n_classes: int, weights: FloatArray | None
) -> FloatArray:
    """(n_items, n_classes) sums of (weighted) votes."""
    flat = enc.item_idx * n_classes + enc.answer
    size = len(enc.items) * n_classes
    votes = np.bincount(flat, weights=weights, minlength=size).reshape(-1, n_classes)
    return votes.astype(np.float64, copy=False)


def _decide(
    items: list[ItemT], votes: FloatArray, fallback: FloatArray | None = None
) -> dict[ItemT, tuple[int, float]]:
    totals = votes.sum(axis=1)
    if fallback is not None:
        empty = totals <= 0
        votes = np.where(empty[:, None], fallback, votes)
        totals = np.where(empty, fallback.sum(axis=1), totals)
    winner = votes.argmax(axis=1)  # first maximum: ties go to the lowest class index
    share = votes[np.arange(len(items)), winner] / totals
    return dict(zip(items, zip(winner.tolist(), share.tolist(), strict=True), strict=True))


def majority_vote(
    labels: Sequence[tuple[ItemT, LabelerT, int]], n_classes: int
) -> dict[ItemT, tuple[int, float]]:
    """Plurality class per item and its share of the item's votes.

    Ties go to the lowest class index, so the result never depends on label order.
    """
    enc = _encode(labels, n_classes)
    return _decide(enc.items, _vote_matrix(enc, n_classes, None))


def _labeler_weights(
    labelers: list[LabelerT], weights: Mapping[LabelerT, float], default_weight: float | None
) -> FloatArray:
    """Weight per labeler code; a labeler missing from `weights` gets `default_weight`."""
    per_labeler = np.empty(len(labelers), dtype=np.float64)
    for code, labeler in enumerate(labelers):
        if labeler in weights:
            per_labeler[code] = weights[labeler]
        elif default_weight is not None:
            per_labeler[code] = default_weight
        else:
            raise KeyError(f"no weight for labeler {labeler!r}")
    if not np.all(np.isfinite(per_labeler)) or np.any(per_labeler < 0):
        raise ValueError("labeler weights must be finite and non-negative")
    return per_labeler


def weighted_majority(
    labels: Sequence[tuple[ItemT, LabelerT, int]],
    n_classes: int,
    weights: Mapping[LabelerT, float],
    *,
    default_weight: float | None = None,
) -> dict[ItemT, tuple[int, float]]:
    """Class with the largest summed labeler weight per item, and its share of the item's weight.

    Labelers missing from `weights` get `default_weight`, or raise `KeyError` when it is None.
    Weights must be finite and >= 0. An item whose labelers all weigh 0 falls back to the plain
    majority (its share is then the vote share). Ties go to the lowest class index.
    """
    enc = _encode(labels, n_classes)
    per_labeler = _labeler_weights(enc.labelers, weights, default_weight)
    votes = _vote_matrix(enc, n_classes, per_labeler[enc.labeler_idx])
    plain = _vote_matrix(enc, n_classes, None)
    return _decide(enc.items, votes, fallback=plain)


def _log_normalise(log_p: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Softmax over axis 0 (classes) of log-probabilities, and each column's log normaliser."""
    top = log_p.max(axis=0)
    p = np.exp(log_p - top)
    total = p.sum(axis=0)
    p /= total
    return p, top + np.log(total)


def dawid_skene(
    labels: Sequence[tuple[ItemT, LabelerT, int]],
    n_classes: int,
    *,
    max_iter: int = 50,
    tol: float = 1e-6,
    init: Literal["majority", "hard_majority", "gold"] = "majority",
    gold: Mapping[ItemT, int] | None = None,
    smoothing: float = 0.01,
) -> DawidSkeneResult[ItemT, LabelerT]:
    """Dawid-Skene EM: a full confusion matrix per labeler and the true-class posterior per item.

    init:      "majority" starts from each item's vote shares, "hard_majority" from one-hot
               plurality votes (ties to the lowest class), "gold" from confusion matrices
               fitted on the gold items alone (labelers without gold answers start
               uninformative). From a majority start, a camp that is wrong together on most
               items stays trusted however many gold items contradict it; "gold" catches it.
    gold:      item -> known class; those items stay one-hot at their class in every E-step, so
               they anchor the labelers' confusion matrices. Gold ids without labels are ignored.
    smoothing: add-alpha pseudo-count on every confusion cell and class prior, so no
               probability is 0 (a labeler never seen answering class l is not infinitely
               sure about it) and a labeler with few labels stays close to uninformative.
    Stops when the log-likelihood changes by at most `tol` relative to its size, or after
    `max_iter` EM rounds (`converged` says which).

    Vectorised: each label is an (item code, group code) pair, group = (labeler, answered
    class). Per class c, the E-step sums log confusion[group, c] per item and the M-step sums
    posterior[c, item] per group, each one `np.take` and one `np.bincount` over the labels:
    an EM round is O(labels * n_classes) with no Python loop over labels.
    """
    if max_iter < 1:
        raise ValueError("max_iter must be at least 1")
    if smoothing <= 0:
        raise ValueError("smoothing must be positive (it keeps every log-probability finite)")
    enc = _encode(labels, n_classes)
    k = n_classes
    n_items, n_labelers = len(enc.items), len(enc.labelers)
    if n_items == 0:
        return DawidSkeneResult({}, {}, {}, np.full(k, 1.0 / k), 0, True, 0.0)

    item_idx = enc.item_idx
    group = enc.labeler_idx * k + enc.answer
    n_groups = n_labelers * k
    gold_codes, gold_classes = _gold_arrays(enc, gold, k)
    # Class-major layout, (n_classes, n_items): each class is one contiguous row to gather from.
    gold_onehot = np.eye(k)[:, gold_classes]

    votes = _vote_matrix(enc, k, None).T
    if init == "majority":
        posterior = votes / votes.sum(axis=0)
    elif init == "hard_majority":
        posterior = np.eye(k)[:, votes.argmax(axis=0)]
    elif init == "gold":
        if gold_codes.size == 0:
            raise ValueError('init="gold" needs labelled gold items')
        posterior = np.zeros((k, n_items))  # non-gold items weigh nothing in the first M-step
    else:
        raise ValueError(f"unknown init {init!r}")
    posterior[:, gold_codes] = gold_onehot

    log_likelihood = -math.inf
    converged = False
    iterations = 0
    priors = np.full(k, 1.0 / k)
    confusion = np.full((n_labelers, k, k), 1.0 / k)
    log_joint = np.empty((k, n_items))
    counts = np.empty((k, n_groups))
    while iterations < max_iter:
        iterations += 1
        # M-step: class priors, and confusion[labeler, true, answered] from soft assignments.
        priors = posterior.sum(axis=1) + smoothing
        priors /= priors.sum()
        for c in range(k):
            counts[c] = np.bincount(
                group, weights=np.take(posterior[c], item_idx), minlength=n_groups
            )
        # counts is [true, (labeler, answered)].
        confusion = counts.reshape(k, n_labelers, k).transpose(1, 0, 2) + smoothing
        confusion /= confusion.sum(axis=2, keepdims=True)

        # E-step: log P(true = c, labels) = log prior_c + sum over labels of log confusion.
        log_conf = np.log(confusion).transpose(1, 0, 2).reshape(k, n_groups)
        for c in range(k):
            log_joint[c] = np.bincount(
                item_idx, weights=np.take(log_conf[c], group), minlength=n_items
            )
        log_joint += np.log(priors)[:, None]
        posterior, log_norm = _log_normalise(log_joint)
        # Gold items contribute their complete-data likelihood at the known class.
        log_norm[gold_codes] = log_joint[gold_classes, gold_codes]
        posterior[:, gold_codes] = gold_onehot

        previous, log_likelihood = log_likelihood, float(log_norm.sum())
        if abs(log_likelihood - previous) <= tol * abs(log_likelihood):
            converged = True
            break

    by_item = np.ascontiguousarray(posterior.T)
    winner = by_item.argmax(axis=1)  # ties go to the lowest class index
    confidence = by_item[np.arange(n_items), winner]
    return DawidSkeneResult(
        posteriors=dict(zip(enc.items, by_item, strict=True)),
        labels=dict(
            zip(enc.items, zip(winner.tolist(), confidence.tolist(), strict=True), strict=True)
        ),
        confusion=dict(zip(enc.labelers, confusion, strict=True)),
        priors=priors,
        iterations=iterations,
        converged=converged,
        log_likelihood=log_likelihood,
    )


def _gold_arrays(
    enc: _Encoded[ItemT, LabelerT], gold: Mapping[ItemT, int] | None, n_classes: int
) -> tuple[IndexArray, IndexArray]:
    if not gold:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    code_of = {item: code for code, item in enumerate(enc.items)}
    pairs = [(code_of[item], cls) for item, cls in gold.items() if item in code_of]
    codes = np.array([code for code, _ in pairs], dtype=np.intp)
    classes = np.array([cls for _, cls in pairs], dtype=np.intp)
    if classes.size and (classes.min() < 0 or classes.max() >= n_classes):
        raise ValueError(f"gold classes must lie in [0, {n_classes})")
    return codes, classes


def labeler_accuracy_from_confusion(confusion: npt.ArrayLike, priors: npt.ArrayLike) -> float:
    """P(answer == true class) = sum_c priors[c] * confusion[c, c]."""
    matrix = np.asarray(confusion, dtype=np.float64)
    weights = np.asarray(priors, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or weights.shape != matrix.shape[:1]:
        raise ValueError("confusion must be (n, n) and priors (n,)")
    total = weights.sum()
    if total <= 0:
        raise ValueError("priors must have a positive sum")
    return float(np.dot(weights, np.diag(matrix)) / total)


def multilabel_consensus(
    labels: Sequence[tuple[ItemT, LabelerT, frozenset[int]]],
    n_classes: int,
    weights: Mapping[LabelerT, float] | None = None,
    *,
    default_weight: float | None = None,
) -> dict[ItemT, tuple[frozenset[int], float]]:
    """Per class, a weighted majority of the item's labelers: a class is in when its share >= 0.5.

    Each label is the full set of classes the labeler ticked, so leaving a class out is a "no"
    vote for it. `weights` and `default_weight` as in `weighted_majority` (None: everyone
    weighs 1); an item whose labelers all weigh 0 uses plain counts. The confidence is the
    weighted share of the item's labelers whose set equals the decided set exactly (the
    multi-label analogue of the winning vote share).
    """
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    enc = _encode([(item, labeler, 0) for item, labeler, _ in labels], 1)
    ticks = [(row, cls) for row, (_, _, classes) in enumerate(labels) for cls in classes]
    ticked = np.zeros((len(labels), n_classes), dtype=bool)
    if ticks:
        rows, classes = np.array(ticks).T
        ticked[rows, _class_array(classes.tolist(), n_classes)] = True
    n_items = len(enc.items)
    if weights is None:
        per_label = np.ones(len(labels))
    else:
        per_label = _labeler_weights(enc.labelers, weights, default_weight)[enc.labeler_idx]
    totals = np.bincount(enc.item_idx, weights=per_label, minlength=n_items)
    if np.any(totals <= 0):
        per_label = np.where((totals <= 0)[enc.item_idx], 1.0, per_label)
        totals = np.bincount(enc.item_idx, weights=per_label, minlength=n_items)
    shares = (
        np.stack(
            [
                np.bincount(enc.item_idx, weights=per_label * ticked[:, c], minlength=n_items)
                for c in range(n_classes)
            ],
            axis=1,
        )
        / totals[:, None]
    )
    chosen = shares >= 0.5 - 1e-12  # a float sum of weights may land a hair under one half
    exact = np.all(ticked == chosen[enc.item_idx], axis=1)
    confidence = np.bincount(enc.item_idx, weights=per_label * exact, minlength=n_items) / totals
    return {
        item: (frozenset(np.flatnonzero(chosen[code]).tolist()), float(confidence[code]))
        for code, item in enumerate(enc.items)
    }


def _tidy_text(text: str) -> str:
    """NFKC, whitespace runs collapsed to one space, Unicode punctuation stripped from both ends."""
    tidy = " ".join(unicodedata.normalize("NFKC", text).split())
    start, end = 0, len(tidy)
    while start < end and unicodedata.category(tidy[start]).startswith("P"):
        start += 1
    while end > start and unicodedata.category(tidy[end - 1]).startswith("P"):
        end -= 1
    return tidy[start:end].strip()


def normalise_text(text: str) -> str:
    """The comparison key for free-text answers: NFKC, casefold, whitespace runs collapsed to
    one space, Unicode punctuation stripped from both ends ("  The  Cat. " -> "the cat")."""
    return _tidy_text(text).casefold()


def free_text_consensus(
    labels: Sequence[tuple[ItemT, LabelerT, str]],
) -> dict[ItemT, tuple[str | None, float]]:
    """Exact-match majority over `normalise_text` keys: item -> (answer or None, its share).

    The winner needs at least half of the item's answers and must be the only answer that
    large; otherwise the answer is None (a 1-1 split is None) and the share is the largest
    group's. Blank answers count toward the total but never win. The returned answer is the
    winner's most common spelling, tidied like the key but keeping its case (ties to the
    smallest string): compare other answers to it with `normalise_text`.
    """
    groups: dict[ItemT, Counter[str]] = {}
    spellings: dict[tuple[ItemT, str], Counter[str]] = {}
    for item, _, text in labels:
        key = normalise_text(text)
        groups.setdefault(item, Counter())[key] += 1
        if key:
            spellings.setdefault((item, key), Counter())[_tidy_text(text)] += 1
    result: dict[ItemT, tuple[str | None, float]] = {}
    for item, counter in groups.items():
        total = sum(counter.values())
        ranked = [(key, n) for key, n in counter.most_common() if key]
        if not ranked:
            result[item] = (None, 0.0)
            continue
        share = ranked[0][1] / total
        if share < 0.5 or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
            result[item] = (None, share)
            continue
        best = spellings[(item, ranked[0][0])]
        top = max(best.values())
        result[item] = (min(spelling for spelling, n in best.items() if n == top), share)
    return result


def credibility_update(previous: float, observation: float, alpha: float = 0.1) -> float:
    """Exponential moving average: (1 - alpha) * previous + alpha * observation, in [0, 1]."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError("alpha must lie in [0, 1]")
    if math.isnan(previous) or math.isnan(observation):
        raise ValueError("credibility values must be numbers, not NaN")
    return min(1.0, max(0.0, (1.0 - alpha) * previous + alpha * observation))


def labeler_observation(
    gold_correct: float,
    gold_total: int,
    agreed: float,
    total: int,
    *,
    prior: float = 0.7,
    strength: float = 5,
) -> float:
    """A labeler's smoothed accuracy over one period, for `credibility_update`.

        observation = (prior * strength + 2 * gold_correct + agreed)
                      / (strength + 2 * gold_total + total)

    the posterior mean of a Beta(prior * strength, (1 - prior) * strength) accuracy after
    2 * gold_total gold trials and `total` consensus trials: a gold answer counts twice as much
    as agreeing with consensus (gold is ground truth; consensus may itself be wrong). With no
    evidence it returns `prior`; `strength` is how many pseudo-labels the prior is worth.
    `agreed`/`total` should count only non-gold items whose consensus is decided. Span and box
    labels count fractionally: an item's F1 (against the gold answer or the consensus) is what
    it adds to `gold_correct` or `agreed`, so a lazy labeler who finds one of four boxes (F1 0.4)
    earns 0.4 of an agreement; all-or-nothing scores are exactly the counts above.
    """
    if not (0 <= gold_correct <= gold_total and 0 <= agreed <= total):
        raise ValueError("need 0 <= gold_correct <= gold_total and 0 <= agreed <= total")
    if not 0.0 <= prior <= 1.0 or strength <= 0:
        raise ValueError("prior must lie in [0, 1] and strength be positive")
    return (prior * strength + 2 * gold_correct + agreed) / (strength + 2 * gold_total + total)
