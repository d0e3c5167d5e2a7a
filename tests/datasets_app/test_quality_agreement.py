"""Fleiss' kappa and Krippendorff's alpha against published worked examples (no database)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Hashable, Sequence

import numpy as np
import numpy.typing as npt
import pytest

from datasets_app.quality.agreement import fleiss_kappa, krippendorff_alpha_nominal

# https://en.wikipedia.org/wiki/Fleiss%27_kappa#Worked_example: 10 items, 14 raters, 5 classes.
WIKIPEDIA_FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

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


def test_fleiss_kappa_matches_the_wikipedia_worked_example() -> None:
    kappa = fleiss_kappa(np.array(WIKIPEDIA_FLEISS_TABLE))

    assert kappa is not None
    assert round(kappa, 3) == 0.210


def test_fleiss_kappa_with_unequal_raters_drops_single_ratings() -> None:
    # Item 3 has one rating and drops out. P = (1, 1/3), P_bar = 2/3; pooled shares (3/5, 2/5),
    # P_e = 0.52; kappa = (2/3 - 0.52) / 0.48.
    kappa = fleiss_kappa([[2, 0], [1, 2], [0, 1]])

    assert kappa == pytest.approx((2 / 3 - 0.52) / 0.48)
    assert fleiss_kappa([[2, 0], [1, 2]]) == pytest.approx(kappa)


def test_fleiss_kappa_is_one_for_perfect_agreement_and_negative_for_systematic_split() -> None:
    assert fleiss_kappa([[3, 0], [0, 3], [3, 0]]) == pytest.approx(1.0)
    split = fleiss_kappa([[1, 1], [1, 1], [1, 1]])
    assert split is not None
    assert split < 0


@pytest.mark.parametrize(
    "counts",
    [
        [[3, 0], [2, 0]],  # every rating in one class: no expected disagreement
        [[1, 0], [0, 1]],  # no item has two ratings
        np.zeros((0, 3)),
    ],
)
def test_fleiss_kappa_is_none_when_undefined(counts: npt.ArrayLike) -> None:
    assert fleiss_kappa(counts) is None


def test_fleiss_kappa_rejects_bad_tables() -> None:
    with pytest.raises(ValueError, match="2-D"):
        fleiss_kappa([1, 2, 3])
    with pytest.raises(ValueError, match="whole numbers"):
        fleiss_kappa([[1.5, 1]])
    with pytest.raises(ValueError, match="whole numbers"):
        fleiss_kappa([[-1, 3]])


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
