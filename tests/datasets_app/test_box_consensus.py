"""Bounding-box labels: validation, IoU, Hungarian matching, weighted consensus, box F1; no
database. Every expected number is worked out by hand in the comment beside it."""

from __future__ import annotations

import random

import numpy as np
import pytest

from datasets_app.quality.boxes import (
    box_consensus,
    box_f1,
    iou_matrix,
    match_boxes,
    validate_boxes,
)
from datasets_app.quality.spans import InvalidAnnotation


def b(x: float, y: float, w: float = 10, h: float = 10, label: str = "car") -> dict[str, object]:
    return {"x": x, "y": y, "w": w, "h": h, "label": label}


def xywh(boxes: list[dict[str, object]]) -> list[tuple[float, ...]]:
    return [tuple(float(box[k]) for k in "xywh") for box in boxes]  # type: ignore[arg-type]


# --- validation -------------------------------------------------------------------------------


def test_validate_keeps_boxes_that_touch_the_border() -> None:
    boxes = [b(0, 0), b(90, 40, 10, 10, "person"), b(1.5, 2.5, 0.5, 0.25)]
    assert validate_boxes(boxes, 100, 50, {"car", "person"}) == boxes
    assert validate_boxes([], 100, 50, {"car"}) == []


@pytest.mark.parametrize(
    ("boxes", "code"),
    [
        ({"x": 0}, "boxes_not_a_list"),
        ([{"x": 0, "y": 0, "w": 1, "h": 1}], "box_malformed"),
        ([b(0, 0) | {"z": 1}], "box_malformed"),
        ([b(0, 0) | {"x": "0"}], "box_malformed"),
        ([b(0, 0) | {"w": True}], "box_malformed"),
        ([b(0, 0) | {"y": float("nan")}], "box_malformed"),
        ([b(0, 0, 0, 10)], "box_empty"),
        ([b(0, 0, 10, -1)], "box_empty"),
        ([b(-1, 0)], "box_outside_image"),
        ([b(0, -0.5)], "box_outside_image"),
        ([b(91, 0)], "box_outside_image"),  # 91 + 10 > 100
        ([b(0, 40.5)], "box_outside_image"),  # 40.5 + 10 > 50
        ([b(0, 0, 10, 10, "bus")], "box_unknown_class"),
    ],
)
def test_validate_refuses_with_a_code(boxes: object, code: str) -> None:
    with pytest.raises(InvalidAnnotation) as refused:
        validate_boxes(boxes, 100, 50, {"car"})
    assert refused.value.code == code


# --- IoU and matching -------------------------------------------------------------------------


def test_iou_by_hand() -> None:
    iou = iou_matrix(
        [[0, 0, 10, 10]], [[5, 0, 10, 10], [0, 0, 10, 5], [10, 0, 5, 5], [0, 0, 10, 10]]
    )
    # 50 / 150; 50 / 100; touching edges share no area; itself.
    assert iou[0] == pytest.approx([1 / 3, 0.5, 0.0, 1.0])


def test_the_threshold_is_inclusive() -> None:
    assert box_f1([b(0, 0, 10, 10)], [b(0, 0, 10, 5)]) == 1.0  # IoU exactly 0.5
    assert box_f1([b(0, 0, 10, 10)], [b(0, 0, 10, 5)], iou_threshold=0.51) == 0.0
    assert box_f1([b(0, 0, 10, 10)], [b(5, 0, 10, 10)], iou_threshold=1 / 3) == 1.0


def test_hungarian_matching_beats_greedy() -> None:
    # Same-size boxes shifted by d have IoU (10 - d) / (10 + d). a1-b1: d=0.5 -> 0.905; a1-b2:
    # d=2.5 -> 0.6; a2-b1: d=2 -> 0.667; a2-b2: d=5 -> 0.333. Greedy takes a1-b1 and stops at
    # one match; the assignment maximising total IoU pairs a1-b2 and a2-b1 (1.267 > 0.905).
    a = [(10.0, 0.0, 10.0, 10.0), (12.5, 0.0, 10.0, 10.0)]
    bb = [(10.5, 0.0, 10.0, 10.0), (7.5, 0.0, 10.0, 10.0)]
    matches = match_boxes(a, bb)
    assert sorted((r, c) for r, c, _ in matches) == [(0, 1), (1, 0)]
    assert [iou for _, _, iou in sorted(matches)] == pytest.approx([0.6, 7.5 / 12.5 + 1 / 15])
    assert box_f1([b(*row) for row in a], [b(*row) for row in bb]) == 1.0


def test_matches_are_one_to_one_above_the_threshold_with_the_best_total_iou() -> None:
    rng = np.random.default_rng(9)
    for _ in range(200):
        n = int(rng.integers(0, 6))
        a = np.hstack([rng.uniform(0, 30, (n, 2)), rng.uniform(5, 15, (n, 2))])
        bb = np.hstack([rng.uniform(0, 30, (4, 2)), rng.uniform(5, 15, (4, 2))])
        iou = iou_matrix(a, bb)
        matches = match_boxes(a, bb, 0.3)
        assert len({r for r, _, _ in matches}) == len({c for _, c, _ in matches}) == len(matches)
        for r, c, value in matches:
            assert value == pytest.approx(iou[r, c])
            assert value >= 0.3
        # No other one-to-one choice over the edges scores a higher total (brute force).
        best = _best_total(np.where(iou >= 0.3, iou, 0.0))
        assert sum(v for _, _, v in matches) == pytest.approx(best)


def _best_total(gain: np.ndarray) -> float:
    if gain.shape[0] == 0:
        return 0.0
    rest = gain[1:]
    skip = _best_total(rest)
    take = [
        gain[0, j] + _best_total(np.delete(rest, j, axis=1))
        for j in range(gain.shape[1])
        if gain[0, j] > 0
    ]
    return max([skip, *take])


def test_boxes_of_different_classes_never_match() -> None:
    assert box_f1([b(0, 0, label="car")], [b(0, 0, label="person")]) == 0.0
    assert box_f1([], []) == 1.0
    assert box_f1([b(0, 0)], []) == 0.0


# --- consensus --------------------------------------------------------------------------------


def test_consensus_box_is_the_credibility_weighted_mean() -> None:
    # Weights 0.9, 0.3, 0.3: x = (0.9 * 10 + 0.3 * 12 + 0.3 * 14) / 1.5 = 11.2, and w likewise.
    labels = {"a": [b(10, 20, 30, 30)], "b": [b(12, 20, 30, 30)], "c": [b(14, 20, 36, 30)]}
    result = box_consensus(labels, {"a": 0.9, "b": 0.3, "c": 0.3})
    assert xywh(result.boxes) == [pytest.approx((11.2, 20, 31.2, 30))]
    assert result.support == [pytest.approx(1.0)]
    assert result.f1 == 1.0
    # IoUs: a-b 28/32, a-c 26/(900 + 1080 - 780) and b-c 28/(900 + 1080 - 840).
    ious = [28 / 32, 780 / 1200, 840 / 1140]
    assert result.mean_iou == pytest.approx(sum(ious) / 3)


def test_a_tie_is_not_a_majority() -> None:
    labels = {1: [b(0, 0)], 2: [b(0, 0)], 3: [], 4: []}
    assert box_consensus(labels, dict.fromkeys(labels, 0.5)).boxes == []
    assert xywh(box_consensus(labels, {1: 0.5, 2: 0.6, 3: 0.5, 4: 0.5}).boxes) == [(0, 0, 10, 10)]


def test_weights_decide_and_zero_weights_fall_back_to_counts() -> None:
    labels = {"pro": [b(0, 0)], "new1": [], "new2": []}
    assert len(box_consensus(labels, {"pro": 0.9, "new1": 0.3, "new2": 0.3}).boxes) == 1
    assert box_consensus(labels, dict.fromkeys(labels, 0.0)).boxes == []
    with pytest.raises(KeyError):
        box_consensus(labels, {"pro": 1.0})


def test_empty_labels() -> None:
    result = box_consensus({1: [], 2: [], 3: []}, {1: 1, 2: 1, 3: 1})
    assert result.boxes == []
    assert result.f1 == 1.0
    assert result.mean_iou is None
    skipped = box_consensus({1: [b(0, 0)], 2: [b(0, 0)]}, {1: 1, 2: 1}, agreement=False)
    assert (skipped.f1, skipped.mean_iou, len(skipped.boxes)) == (None, None, 1)
    alone = box_consensus({1: [b(3, 4)]}, {1: 0.2})
    assert xywh(alone.boxes) == [(3, 4, 10, 10)]
    assert alone.f1 is None


def test_a_lazy_one_box_labeler_does_not_shrink_the_consensus_and_scores_low() -> None:
    scene = [b(0, 0), b(50, 0), b(0, 50, label="person")]
    labels = {"a": scene, "b": [b(1, 0), b(51, 1), b(0, 49, label="person")], "lazy": [b(0, 0)]}
    result = box_consensus(labels, dict.fromkeys(labels, 0.7))
    assert len(result.boxes) == 3
    assert result.support == pytest.approx([1.0, 2 / 3, 2 / 3])  # car(0,0) has all three
    assert box_f1(labels["lazy"], result.boxes) == pytest.approx(2 * 1 / (1 + 3))
    assert box_f1(labels["a"], result.boxes) == 1.0


def test_a_low_credibility_copier_cannot_carry_a_wrong_box() -> None:
    wrong, right = b(60, 60), b(0, 0)
    labels = {"h1": [right], "h2": [right], "sloppy": [wrong], "copier": [wrong]}
    weights = {"h1": 0.8, "h2": 0.8, "sloppy": 0.8, "copier": 0.2}
    result = box_consensus(labels, weights)
    assert xywh(result.boxes) == [(0, 0, 10, 10)]  # 1.6 / 2.6; the copy gives wrong 1.0 / 2.6


def test_one_labeler_backs_at_most_one_box_per_cluster() -> None:
    # "dup" draws the same car three times; alone among five it is no majority for a 2nd car.
    labels = {"dup": [b(0, 0)] * 3, "x": [b(0, 0)], "y": [b(1, 0)], "z": [], "w": []}
    result = box_consensus(labels, dict.fromkeys(labels, 1.0))
    assert len(result.boxes) == 1
    assert result.support == [pytest.approx(3 / 5)]


def test_distant_boxes_stay_apart() -> None:
    labels = {1: [b(0, 0), b(30, 0)], 2: [b(30, 0), b(0, 0)], 3: [b(60, 0)]}
    result = box_consensus(labels, {1: 1, 2: 1, 3: 1})
    assert xywh(result.boxes) == [(0, 0, 10, 10), (30, 0, 10, 10)]


# --- properties -------------------------------------------------------------------------------


def random_label(rng: random.Random, n: int = 4) -> list[dict[str, object]]:
    anchors = [(0, 0), (20, 0), (0, 20), (40, 40)]
    out = []
    for _ in range(rng.randint(0, n)):
        x, y = rng.choice(anchors)
        out.append(
            b(
                x + rng.uniform(0, 3),
                y + rng.uniform(0, 3),
                rng.uniform(8, 12),
                rng.uniform(8, 12),
                rng.choice(["car", "person"]),
            )
        )
    return out


def test_box_f1_is_symmetric_and_one_on_itself() -> None:
    rng = random.Random(1)  # noqa: S311 - test data
    for _ in range(300):
        one, other = random_label(rng), random_label(rng)
        assert box_f1(one, other) == pytest.approx(box_f1(other, one))
        assert box_f1(one, one) == 1.0


def test_identical_labels_are_their_own_consensus() -> None:
    rng = random.Random(2)  # noqa: S311 - test data
    for _ in range(100):
        label = random_label(rng)
        labels = {n: list(label) for n in range(rng.randint(1, 5))}
        result = box_consensus(labels, {n: rng.random() for n in labels})
        np.testing.assert_allclose(sorted(xywh(result.boxes)), sorted(xywh(label)))
        assert result.f1 in (None, 1.0)


def test_consensus_ignores_the_order_of_labelers_and_of_boxes() -> None:
    rng = random.Random(3)  # noqa: S311 - test data
    for _ in range(150):
        labels = {f"u{n}": random_label(rng) for n in range(rng.randint(1, 5))}
        weights = {u: rng.choice([0.2, 0.5, 0.9]) for u in labels}
        first = box_consensus(labels, weights)
        order = list(labels)
        rng.shuffle(order)
        again = box_consensus({u: rng.sample(labels[u], len(labels[u])) for u in order}, weights)
        np.testing.assert_allclose(xywh(again.boxes), xywh(first.boxes))
        assert [x["label"] for x in again.boxes] == [x["label"] for x in first.boxes]
        assert again.support == pytest.approx(first.support)
        assert again.f1 == pytest.approx(first.f1)
        assert again.mean_iou == pytest.approx(first.mean_iou)


def test_noisy_crowd_recovers_the_scene() -> None:
    """Five labelers jitter each true box by up to 2 px and miss one box in ten: the consensus
    holds exactly the boxes at least three of them drew, each within the jitter."""
    rng = np.random.default_rng(4)
    truth = [(10.0, 10.0, 40.0, 30.0), (100.0, 20.0, 25.0, 50.0), (60.0, 80.0, 30.0, 30.0)]
    missed_some = 0
    for _ in range(100):
        drawn = rng.random((5, len(truth))) > 0.1
        labels = {
            n: [
                b(*(np.array(t) + rng.uniform(-2, 2, 4)).tolist())
                for t, seen in zip(truth, drawn[n], strict=True)
                if seen
            ]
            for n in range(5)
        }
        expected = [t for t, votes in zip(truth, drawn.sum(axis=0), strict=True) if votes >= 3]
        missed_some += len(expected) < len(truth)
        result = box_consensus(labels, dict.fromkeys(labels, 0.7))
        np.testing.assert_allclose(sorted(xywh(result.boxes)), sorted(expected), atol=2)
    assert missed_some  # the seed does exercise a box too few labelers drew
