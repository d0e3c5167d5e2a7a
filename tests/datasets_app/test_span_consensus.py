"""Span (NER) labels: validation, weighted-majority consensus, span F1, F1 as credibility; no
database. Every expected number is worked out by hand in the comment beside it."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from bench.span_arrays import exact_span_consensus_arrays
from datasets_app.quality.consensus import labeler_observation
from datasets_app.quality.spans import (
    InvalidAnnotation,
    span_consensus,
    span_f1,
    validate_spans,
)

TEXT = "Barack Obama visited New York City today."
# tokens: Barack(0-6) Obama(7-12) visited(13-20) New(21-24) York(25-29) City(30-34) today(35-40) .


def s(start: int, end: int, label: str = "PER") -> dict[str, Any]:
    return {"start": start, "end": end, "label": label}


OBAMA = s(0, 12)
NYC = s(21, 34, "LOC")
NY = s(21, 29, "LOC")


# --- validation -------------------------------------------------------------------------------


def test_validate_sorts_and_keeps_the_stored_shape() -> None:
    assert validate_spans([NYC, OBAMA], TEXT, {"PER", "LOC"}, allow_overlap=False) == [OBAMA, NYC]
    assert validate_spans([], TEXT, {"PER"}, allow_overlap=False) == []


@pytest.mark.parametrize(
    ("spans", "code"),
    [
        ("0-12", "spans_not_a_list"),
        ([{"start": 0, "end": 12}], "span_malformed"),
        ([{**OBAMA, "extra": 1}], "span_malformed"),
        ([s(0, 12) | {"start": "0"}], "span_malformed"),
        ([s(0, 12) | {"start": True}], "span_malformed"),
        ([s(-1, 5)], "span_outside_text"),
        ([s(30, len(TEXT) + 1)], "span_outside_text"),
        ([s(5, 5)], "span_outside_text"),
        ([s(6, 5)], "span_outside_text"),
        ([s(0, 12, "ORG")], "span_unknown_class"),
        ([{"start": 0, "end": 12, "label": ["PER"]}], "span_unknown_class"),
        ([OBAMA, OBAMA], "span_duplicate"),
    ],
)
def test_validate_refuses_with_a_code(spans: object, code: str) -> None:
    with pytest.raises(InvalidAnnotation) as refused:
        validate_spans(spans, TEXT, {"PER", "LOC"}, allow_overlap=True)
    assert refused.value.code == code
    assert refused.value.detail


def test_the_last_character_is_inside_the_text() -> None:
    assert validate_spans([s(40, 41)], TEXT, {"PER"}, allow_overlap=False) == [s(40, 41)]


def test_overlap_is_refused_only_when_the_dataset_forbids_it() -> None:
    nested = [s(0, 12), s(7, 12, "LOC")]  # same characters, two classes
    crossing = [s(0, 8), s(7, 12)]
    for spans in (nested, crossing):
        assert len(validate_spans(spans, TEXT, {"PER", "LOC"}, allow_overlap=True)) == 2
        with pytest.raises(InvalidAnnotation) as refused:
            validate_spans(spans, TEXT, {"PER", "LOC"}, allow_overlap=False)
        assert refused.value.code == "span_overlap"
    # One span reaching past its neighbour still overlaps the one after it.
    with pytest.raises(InvalidAnnotation):
        validate_spans([s(0, 30), s(7, 12), s(21, 24)], TEXT, {"PER"}, allow_overlap=False)
    touching = [s(0, 6), s(6, 12)]  # end is exclusive
    assert validate_spans(touching, TEXT, {"PER"}, allow_overlap=False) == touching


# --- exact consensus --------------------------------------------------------------------------


def test_exact_two_of_three_is_a_majority_and_agreement_is_mean_pairwise_f1() -> None:
    result = span_consensus(
        {"a": [OBAMA, NYC], "b": [OBAMA, NY], "c": [OBAMA]}, {"a": 1, "b": 1, "c": 1}
    )
    assert result.spans == [OBAMA]  # NYC and NY have one vote each
    assert result.support == [pytest.approx(1.0)]
    # a-b: 1 of 2+2 -> 2/4; a-c: 1, 2+1 -> 2/3; b-c: 2/3. Mean (1/2 + 4/3) / 3 = 11/18.
    assert result.agreement == pytest.approx(11 / 18)


def test_a_tie_is_not_a_majority() -> None:
    labels = {1: [OBAMA], 2: [OBAMA], 3: [], 4: []}
    assert span_consensus(labels, dict.fromkeys(labels, 0.8)).spans == []
    # A hair more weight on the two who marked it tips it.
    result = span_consensus(labels, {1: 0.8, 2: 0.81, 3: 0.8, 4: 0.8})
    assert result.spans == [OBAMA]
    assert result.support[0] == pytest.approx(1.61 / 3.21)


def test_credibility_weights_decide_and_default_weight_fills_in() -> None:
    # A trusted labeler outweighs two new ones: 0.9 / (0.9 + 0.3 + 0.3) = 0.6.
    labels = {"pro": [OBAMA], "new1": [s(7, 12)], "new2": []}
    result = span_consensus(labels, {"pro": 0.9, "new1": 0.3, "new2": 0.3})
    assert result.spans == [OBAMA]
    assert result.support == [pytest.approx(0.6)]
    with pytest.raises(KeyError):
        span_consensus(labels, {"pro": 0.9})
    assert span_consensus(labels, {"pro": 0.9}, default_weight=0.3).spans == [OBAMA]
    # Everyone weighing 0: the plain majority (1 of 3 is none).
    assert span_consensus(labels, dict.fromkeys(labels, 0.0)).spans == []


def test_classes_are_decided_separately() -> None:
    labels = {1: [OBAMA], 2: [s(0, 12, "LOC")], 3: [OBAMA]}
    assert span_consensus(labels, dict.fromkeys(labels, 1.0)).spans == [OBAMA]


def test_empty_labels() -> None:
    everyone_empty = span_consensus({1: [], 2: [], 3: []}, {1: 1, 2: 1, 3: 1})
    assert everyone_empty.spans == []
    assert everyone_empty.agreement == 1.0  # they agree there is nothing to mark
    alone = span_consensus({1: [OBAMA]}, {1: 0.5})
    assert alone.spans == [OBAMA]
    assert alone.agreement is None
    assert span_consensus({}, {}).spans == []


def test_a_lazy_labeler_does_not_shrink_the_consensus_and_scores_low() -> None:
    full = [OBAMA, NYC, s(35, 40, "DATE")]
    labels = {"a": full, "b": full, "lazy": [OBAMA]}
    result = span_consensus(labels, dict.fromkeys(labels, 0.7))
    assert result.spans == [OBAMA, NYC, s(35, 40, "DATE")]
    assert span_f1(labels["lazy"], result.spans) == pytest.approx(2 * 1 / (1 + 3))
    assert span_f1(labels["a"], result.spans) == 1.0


def test_a_low_credibility_copier_cannot_carry_a_wrong_span() -> None:
    wrong = s(7, 20)
    labels = {"honest1": [OBAMA], "honest2": [OBAMA], "sloppy": [wrong], "copier": [wrong]}
    weights = {"honest1": 0.8, "honest2": 0.8, "sloppy": 0.8, "copier": 0.2}
    result = span_consensus(labels, weights)
    assert result.spans == [OBAMA]  # 1.6 / 2.6 for OBAMA; the copy gives wrong 1.0 / 2.6
    assert result.support == [pytest.approx(1.6 / 2.6)]


def test_repeated_spans_in_one_label_count_once() -> None:
    result = span_consensus({1: [OBAMA, OBAMA, OBAMA], 2: [], 3: []}, {1: 1, 2: 1, 3: 1})
    assert result.spans == []


# --- token matching ---------------------------------------------------------------------------


def test_token_match_takes_the_span_most_weight_agrees_on() -> None:
    # "New York" and "New York City": Jaccard 2/3 >= 0.5, so they match.
    labels = {1: [NYC], 2: [NYC], 3: [NY]}
    result = span_consensus(labels, {1: 1, 2: 1, 3: 1}, match="token", text=TEXT)
    assert result.spans == [NYC]  # all three match it; two hold its exact offsets
    assert result.support == [1.0]
    assert result.agreement == 1.0
    # Exact matching has no majority for NY but keeps NYC at 2/3.
    exact = span_consensus(labels, {1: 1, 2: 1, 3: 1})
    assert exact.spans == [NYC]
    assert exact.agreement == pytest.approx(1 / 3)


def test_token_overlap_threshold_edges() -> None:
    # "Barack Obama" vs "Obama": Jaccard 1/2 exactly.
    for threshold, matched in [(0.5, True), (0.51, False), (0.34, True)]:
        f1 = span_f1([OBAMA], [s(7, 12)], match="token", token_overlap=threshold, text=TEXT)
        assert f1 == (1.0 if matched else 0.0)
    # "New York City" vs "City": 1/3, just under 0.34, just at 1/3.
    assert span_f1([NYC], [s(30, 34, "LOC")], match="token", token_overlap=0.34, text=TEXT) == 0
    third = span_f1([NYC], [s(30, 34, "LOC")], match="token", token_overlap=1 / 3, text=TEXT)
    assert third == 1.0
    # A span cut mid-word still holds the word: "ama" is Obama's token.
    assert span_f1([s(9, 12)], [s(7, 12)], match="token", token_overlap=1.0, text=TEXT) == 1.0
    # Whitespace alone touches no token: it matches only itself.
    assert span_f1([s(6, 7)], [s(6, 7)], match="token", text=TEXT) == 1.0
    assert span_f1([s(6, 7)], [s(5, 8)], match="token", token_overlap=0.01, text=TEXT) == 0.0


def test_token_match_needs_text_and_a_sane_threshold() -> None:
    with pytest.raises(ValueError, match="text"):
        span_f1([OBAMA], [OBAMA], match="token")
    with pytest.raises(ValueError, match="token_overlap"):
        span_f1([OBAMA], [OBAMA], match="token", token_overlap=0.0, text=TEXT)
    with pytest.raises(ValueError, match="match"):
        span_consensus({1: [OBAMA]}, {1: 1}, match="fuzzy")  # type: ignore[arg-type]


def test_token_consensus_uses_each_supporters_span_once() -> None:
    # Two labelers split NYC into "New York" + "City"; one marks NYC. NYC matches "New York" (2/3)
    # but not "City" (1/3), so it gets all three; afterwards "City" has 2 of 3 on its own.
    city = s(30, 34, "LOC")
    labels = {1: [NY, city], 2: [NY, city], 3: [NYC]}
    result = span_consensus(labels, {1: 1, 2: 1, 3: 1}, match="token", text=TEXT)
    assert result.spans == [NY, city]
    assert result.support == [pytest.approx(1.0), pytest.approx(2 / 3)]


def test_token_f1_is_a_one_to_one_matching() -> None:
    # Both of b's spans match a's single span, but only one pair can count: 2*1/(1+2).
    a = [NYC]
    b = [NY, s(25, 34, "LOC")]
    assert span_f1(a, b, match="token", text=TEXT) == pytest.approx(2 / 3)
    assert span_f1(b, a, match="token", text=TEXT) == pytest.approx(2 / 3)


# --- properties -------------------------------------------------------------------------------


def random_label(rng: random.Random, n: int = 4) -> list[dict[str, Any]]:
    out = []
    for _ in range(rng.randint(0, n)):
        start = rng.randrange(0, len(TEXT) - 1)
        end = rng.randrange(start + 1, min(len(TEXT), start + 15) + 1)
        out.append(s(start, end, rng.choice(["PER", "LOC"])))
    return out


@pytest.mark.parametrize("match", ["exact", "token"])
def test_span_f1_is_symmetric_and_one_on_itself(match: str) -> None:
    rng = random.Random(5)  # noqa: S311 - test data
    for _ in range(300):
        a, b = random_label(rng), random_label(rng)
        forward = span_f1(a, b, match=match, text=TEXT)  # type: ignore[arg-type]
        assert forward == pytest.approx(span_f1(b, a, match=match, text=TEXT))  # type: ignore[arg-type]
        assert 0.0 <= forward <= 1.0
        assert span_f1(a, a, match=match, text=TEXT) == 1.0  # type: ignore[arg-type]


@pytest.mark.parametrize("match", ["exact", "token"])
def test_identical_labels_are_their_own_consensus(match: str) -> None:
    rng = random.Random(6)  # noqa: S311 - test data
    for _ in range(100):
        label = random_label(rng)
        distinct = validate_spans(
            list({tuple(x.values()): x for x in label}.values()), TEXT, {"PER", "LOC"}, True
        )
        labels = {n: list(label) for n in range(rng.randint(1, 5))}
        weights = {n: rng.random() for n in labels}
        result = span_consensus(labels, weights, match=match, text=TEXT)  # type: ignore[arg-type]
        assert result.spans == distinct
        assert result.agreement in (None, 1.0)


@pytest.mark.parametrize("match", ["exact", "token"])
def test_consensus_ignores_the_order_of_labelers_and_of_spans(match: str) -> None:
    rng = random.Random(7)  # noqa: S311 - test data
    for _ in range(150):
        labels = {f"u{n}": random_label(rng) for n in range(rng.randint(1, 5))}
        weights = {u: rng.choice([0.2, 0.5, 0.9]) for u in labels}
        first = span_consensus(labels, weights, match=match, text=TEXT)  # type: ignore[arg-type]
        order = list(labels)
        rng.shuffle(order)
        shuffled = {u: rng.sample(labels[u], len(labels[u])) for u in order}
        again = span_consensus(shuffled, weights, match=match, text=TEXT)  # type: ignore[arg-type]
        assert again.spans == first.spans
        assert again.support == pytest.approx(first.support)
        assert again.agreement == pytest.approx(first.agreement)


def test_the_vectorised_exact_consensus_equals_the_per_item_one() -> None:
    rng = random.Random(8)  # noqa: S311 - test data
    classes = ["PER", "LOC"]
    label_item: list[int] = []
    label_weight: list[float] = []
    per_item = {}
    span_label: list[int] = []
    start: list[int] = []
    end: list[int] = []
    cls: list[int] = []
    for item in rng.sample(range(10_000), 300):
        labels, weights = {}, {}
        for labeler in range(rng.randint(1, 6)):
            # Few offsets, so spans often coincide; repeats within a label too.
            spans = [
                s(a, a + rng.choice([3, 5]), rng.choice(classes))
                for a in rng.choices([0, 7, 21], k=rng.randint(0, 4))
            ]
            weight = rng.choice([0.0, 0.3, 0.7, 1.0]) if item % 7 else 0.0
            labels[labeler], weights[labeler] = spans, weight
            for span in spans:
                span_label.append(len(label_item))
                start.append(span["start"])
                end.append(span["end"])
                cls.append(classes.index(str(span["label"])))
            label_item.append(item)
            label_weight.append(weight)
        per_item[item] = span_consensus(labels, weights)

    batch = exact_span_consensus_arrays(label_item, label_weight, span_label, start, end, cls)
    got: dict[int, list[tuple[int, int, str, float]]] = {}
    for i, a, b, c, share in zip(
        batch.item, batch.start, batch.end, batch.label, batch.share, strict=True
    ):
        got.setdefault(int(i), []).append((int(a), int(b), classes[c], float(share)))
    for (i, expected), agreement in zip(sorted(per_item.items()), batch.agreement, strict=True):
        want = [
            (x["start"], x["end"], x["label"], share)
            for x, share in zip(expected.spans, expected.support, strict=True)
        ]
        mine, theirs = sorted(got.get(i, [])), sorted(want)
        assert [row[:3] for row in mine] == [row[:3] for row in theirs]
        assert [row[3] for row in mine] == pytest.approx([row[3] for row in theirs])
        if expected.agreement is None:
            assert np.isnan(agreement)
        else:
            assert agreement == pytest.approx(expected.agreement)
    assert list(batch.items) == sorted(per_item)


def test_the_vectorised_consensus_takes_offsets_too_wide_to_pack() -> None:
    # Offsets near 2**40 leave no room to pack the sort key in 63 bits: np.lexsort does it.
    far = 2**40
    labels = ([7, 7, 7, 9], [1.0, 1.0, 0.5, 1.0])
    spans = ([0, 1, 2, 3, 3], [far, far, far + 5, 0, 0], [far + 3, far + 3, far + 9, 2, 2])
    classes = [1, 1, 1, 0, 0]  # label 3 repeats its span: it counts once
    batch = exact_span_consensus_arrays(*labels, *spans, classes)
    assert batch.item.tolist() == [7, 9]
    assert batch.start.tolist() == [far, 0]
    assert batch.end.tolist() == [far + 3, 2]
    assert batch.share.tolist() == pytest.approx([2 / 2.5, 1.0])
    # Item 7: pairs (0, 1) F1 1, (0, 2) 0, (1, 2) 0; item 9 has one labeler.
    assert batch.agreement[0] == pytest.approx(1 / 3)
    assert np.isnan(batch.agreement[1])


# --- F1 as a credibility observation ----------------------------------------------------------


def f1_observation(gold: list[float], agreed: list[float], strength: float = 5) -> float:
    """Span/box F1 scores as the counts credibility keeps (services.consensus adds them up)."""
    return labeler_observation(sum(gold), len(gold), sum(agreed), len(agreed), strength=strength)


def test_f1_counts_as_fractional_agreement_in_labeler_observation() -> None:
    assert f1_observation([], []) == pytest.approx(0.7)
    # All-or-nothing scores are exactly today's counts: 2 of 3 gold, 3 of 5 agreed.
    gold, agreed = [1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 1.0, 0.0]
    assert f1_observation(gold, agreed) == pytest.approx(labeler_observation(2, 3, 3, 5))
    # (0.7 * 5 + 2 * 0.5 + 0.4) / (5 + 2 + 1) = 4.9 / 8
    assert f1_observation([0.5], [0.4]) == pytest.approx(4.9 / 8)
    lazy = f1_observation([], [0.4] * 50)
    careful = f1_observation([], [0.95] * 50)
    assert lazy < 0.5 < careful
    with pytest.raises(ValueError):
        f1_observation([1.2], [])
    with pytest.raises(ValueError):
        f1_observation([], [0.5], strength=0)


def test_pairs_in_agreement_are_unweighted() -> None:
    labels = {1: [OBAMA], 2: [OBAMA], 3: []}
    heavy = span_consensus(labels, {1: 0.1, 2: 0.1, 3: 5.0})
    plain = span_consensus(labels, {1: 1, 2: 1, 3: 1})
    assert heavy.agreement == plain.agreement == pytest.approx((1 + 0 + 0) / 3)
    assert heavy.spans == []  # but the decision is weighted
