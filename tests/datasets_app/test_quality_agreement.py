"""Krippendorff's alpha against published worked examples (no database)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Hashable, Sequence

import numpy as np
import pytest

from datasets_app.quality.agreement import krippendorff_alpha_nominal

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
# 12 units, nominal values with missing data (None); published alpha = 0.743.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]

# https://en.wikipedia.org/wiki/Krippendorff%27s_alpha#A_computational_example: alpha = 0.691.
WIKIPEDIA_KRIPPENDORFF = [
    [None, None, None, None, None, 3, 4, 1, 2, 1, 1, 3, 3, None, 3],
    [1, None, 2, 1, 3, 3, 4, 3, None, None, None, None, None, None, None],
    [None, None, 2, 1, 3, 4, 4, None, 2, 1, 1, 3, 3, None, 4],
]


def triples(matrix: list[list[int | None]]) -> list[tuple[int, str, int]]:
    """Observer-by-unit reliability data -> (item, labeler, value), skipping missing cells."""
    return [
        (unit, f"observer-{row}", value)
        for row, values in enumerate(matrix)
        for unit, value in enumerate(values)
        if value is not None
    ]


def alpha_by_pairs(labels: Sequence[tuple[Hashable, Hashable, Hashable]]) -> float:
    """Nominal alpha straight from its definition, pair by pair (slow, obviously right)."""
    by_item: dict[Hashable, list[Hashable]] = defaultdict(list)
    for item, _, value in labels:
        by_item[item].append(value)
    pairable = [values for values in by_item.values() if len(values) >= 2]
    coincidence: dict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for values in pairable:
        for a, b in itertools.permutations(values, 2):
            coincidence[(a, b)] += 1 / (len(values) - 1)
    margins: dict[Hashable, float] = defaultdict(float)
    for (a, _), weight in coincidence.items():
        margins[a] += weight
    n = sum(margins.values())
    observed = sum(w for (a, b), w in coincidence.items() if a != b) / n
    expected = sum(margins[a] * margins[b] for a in margins for b in margins if a != b)
    return 1 - observed / (expected / (n * (n - 1)))


def test_krippendorff_alpha_matches_the_2011_textbook_example() -> None:
    alpha = krippendorff_alpha_nominal(triples(KRIPPENDORFF_2011))

    assert alpha is not None
    assert round(alpha, 3) == 0.743


def test_krippendorff_alpha_matches_the_wikipedia_example_with_missing_data() -> None:
    alpha = krippendorff_alpha_nominal(triples(WIKIPEDIA_KRIPPENDORFF))

    assert alpha is not None
    assert round(alpha, 3) == 0.691


def test_krippendorff_alpha_agrees_with_the_pairwise_definition_on_random_data() -> None:
    rng = np.random.default_rng(7)
    labels = [
        (int(item), int(labeler), int(rng.integers(0, 4)) if rng.random() < 0.6 else 0)
        for item in range(60)
        for labeler in rng.choice(8, size=int(rng.integers(1, 6)), replace=False)
    ]

    assert krippendorff_alpha_nominal(labels) == pytest.approx(alpha_by_pairs(labels))


def test_krippendorff_alpha_accepts_any_hashable_values() -> None:
    as_numbers = triples(KRIPPENDORFF_2011)
    as_text = [(f"unit-{u}", labeler, f"class {v}") for u, labeler, v in as_numbers]

    assert krippendorff_alpha_nominal(as_text) == pytest.approx(
        krippendorff_alpha_nominal(as_numbers)
    )


def test_krippendorff_alpha_is_one_for_perfect_agreement() -> None:
    labels = [(item, labeler, item % 3) for item in range(9) for labeler in ("a", "b", "c")]

    assert krippendorff_alpha_nominal(labels) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "labels",
    [
        [],
        [(1, "a", 0), (2, "a", 1)],  # no item has two values
        [(1, "a", 2), (1, "b", 2), (2, "a", 2), (2, "c", 2)],  # no variation at all
    ],
)
def test_krippendorff_alpha_is_none_when_undefined(labels: list[tuple[int, str, int]]) -> None:
    assert krippendorff_alpha_nominal(labels) is None


def test_krippendorff_alpha_rejects_two_values_from_one_labeler_on_one_item() -> None:
    with pytest.raises(ValueError, match="more than one value"):
        krippendorff_alpha_nominal([(1, "a", 0), (1, "a", 1), (1, "b", 0)])
