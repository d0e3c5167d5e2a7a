"""Consensus functions (majority, Dawid-Skene, multi-label, free text, credibility); no database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import pytest

from datasets_app.quality.consensus import (
    DawidSkeneResult,
    credibility_update,
    dawid_skene,
    free_text_consensus,
    labeler_accuracy_from_confusion,
    labeler_observation,
    majority_vote,
    multilabel_consensus,
    normalise_text,
    weighted_majority,
)

Labels = list[tuple[int, int, int]]


@dataclass
class Crowd:
    truth: np.ndarray  # item -> true class
    labels: Labels
    confusion: np.ndarray  # labeler -> the (true, answered) matrix the labels were drawn from

    def accuracy(self, decided: dict[int, tuple[int, float]]) -> float:
        return float(np.mean([decided[item][0] == t for item, t in enumerate(self.truth)]))

    def oracle(self) -> dict[int, tuple[int, float]]:
        """Bayes-optimal decisions from the true confusion matrices: the ceiling for any method."""
        n_classes = self.confusion.shape[1]
        log_post = np.zeros((len(self.truth), n_classes))
        for item, labeler, answer in self.labels:
            log_post[item] += np.log(np.maximum(self.confusion[labeler, :, answer], 1e-12))
        return {item: (int(row.argmax()), 1.0) for item, row in enumerate(log_post)}


def noisy_crowd(
    *, seed: int = 2024, n_items: int = 2000, per_item: int = 3, n_classes: int = 3
) -> Crowd:
    """30 labelers: 60 % good (accuracy 0.9, errors uniform over the other classes), 25 %
    spammers (uniformly random), 15 % who always answer the same class; each item gets
    `per_item` distinct labelers drawn uniformly."""
    rng = np.random.default_rng(seed)
    n_good, n_spam, n_constant = 18, 7, 5
    n_labelers = n_good + n_spam + n_constant
    confusion = np.empty((n_labelers, n_classes, n_classes))
    good = np.full((n_classes, n_classes), 0.1 / (n_classes - 1))
    np.fill_diagonal(good, 0.9)
    confusion[:n_good] = good
    confusion[n_good : n_good + n_spam] = 1 / n_classes
    for offset in range(n_constant):
        constant = np.zeros((n_classes, n_classes))
        constant[:, offset % n_classes] = 1.0
        confusion[n_good + n_spam + offset] = constant

    truth = rng.integers(0, n_classes, size=n_items)
    labels: Labels = []
    for item in range(n_items):
        for labeler in rng.choice(n_labelers, size=per_item, replace=False):
            answer = rng.choice(n_classes, p=confusion[labeler, truth[item]])
            labels.append((item, int(labeler), int(answer)))
    return Crowd(truth=truth, labels=labels, confusion=confusion)


@pytest.fixture(scope="module")
def crowd() -> Crowd:
    return noisy_crowd()


# --- majority votes ---------------------------------------------------------------------------


def test_majority_vote_picks_the_plurality_with_its_share() -> None:
    labels = [(1, "a", 2), (1, "b", 2), (1, "c", 0), ("x", "a", 1)]

    assert majority_vote(labels, 3) == {1: (2, pytest.approx(2 / 3)), "x": (1, 1.0)}


def test_majority_vote_accepts_any_hashable_ids() -> None:
    labels = [
        (np.int64(3), "a", 1),
        (np.int64(3), "b", 1),
        (("batch", 1), "a", 0),
        (("batch", 1, "retry"), "b", 2),
        (2**70, uuid.UUID(int=1), 2),
    ]

    decided = majority_vote(labels, 3)

    assert decided == {
        3: (1, 1.0),
        ("batch", 1): (0, 1.0),
        ("batch", 1, "retry"): (2, 1.0),
        2**70: (2, 1.0),
    }


def test_majority_vote_breaks_ties_by_lowest_class_whatever_the_order() -> None:
    labels = [(7, "a", 2), (7, "b", 1), (7, "c", 2), (7, "d", 1)]

    assert majority_vote(labels, 3)[7] == (1, 0.5)
    assert majority_vote(labels[::-1], 3)[7] == (1, 0.5)


def test_majority_vote_rejects_out_of_range_classes() -> None:
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        majority_vote([(1, "a", 3)], 3)
    with pytest.raises(ValueError, match="integers"):
        majority_vote([(1, "a", 1.5)], 3)  # type: ignore[list-item]
    assert majority_vote([], 3) == {}


def test_weighted_majority_lets_a_trusted_labeler_outvote_two_others() -> None:
    labels = [(1, "expert", 0), (1, "new-1", 1), (1, "new-2", 1)]

    decided = weighted_majority(labels, 2, {"expert": 0.9, "new-1": 0.3, "new-2": 0.3})

    assert decided[1] == (0, pytest.approx(0.9 / 1.5))


def test_weighted_majority_needs_a_weight_for_every_labeler_unless_given_a_default() -> None:
    labels = [(1, "a", 0), (1, "b", 1), (1, "c", 1)]

    with pytest.raises(KeyError, match="'c'"):
        weighted_majority(labels, 2, {"a": 1.0, "b": 1.0})
    assert weighted_majority(labels, 2, {"a": 5.0}, default_weight=1.0)[1] == (
        0,
        pytest.approx(5 / 7),
    )
    with pytest.raises(ValueError, match="non-negative"):
        weighted_majority(labels, 2, {"a": -1.0, "b": 1.0, "c": 1.0})


def test_weighted_majority_falls_back_to_plain_votes_when_all_weights_are_zero() -> None:
    labels = [(1, "a", 0), (1, "b", 1), (1, "c", 1)]

    assert weighted_majority(labels, 2, {"a": 0.0, "b": 0.0, "c": 0.0})[1] == (
        1,
        pytest.approx(2 / 3),
    )


# --- Dawid-Skene ------------------------------------------------------------------------------


def test_dawid_skene_beats_majority_on_spammers_and_constant_labelers(crowd: Crowd) -> None:
    majority = crowd.accuracy(majority_vote(crowd.labels, 3))
    result = dawid_skene(crowd.labels, 3)
    ds = crowd.accuracy(result.labels)
    oracle = crowd.accuracy(crowd.oracle())
    print(f"k=3: majority {majority:.4f}  dawid-skene {ds:.4f}  oracle {oracle:.4f}")

    assert result.converged
    assert ds >= majority + 0.03
    # With k=3 an item labelled by one good labeler and two uninformative ones cannot be
    # decided better than 0.9, so about 0.88 is the ceiling: DS must come within 1 point of
    # the Bayes-optimal decision made from the true confusion matrices.
    assert ds >= oracle - 0.01


def test_dawid_skene_reaches_93_percent_with_five_labels_per_item() -> None:
    crowd = noisy_crowd(per_item=5)
    majority = crowd.accuracy(majority_vote(crowd.labels, 3))
    ds = crowd.accuracy(dawid_skene(crowd.labels, 3).labels)
    print(f"k=5: majority {majority:.4f}  dawid-skene {ds:.4f}")

    assert ds >= 0.93
    assert ds >= majority + 0.03


def test_dawid_skene_recovers_each_labelers_confusion_matrix(crowd: Crowd) -> None:
    result = dawid_skene(crowd.labels, 3)
    accuracy = result.labeler_accuracies()

    errors = []
    for labeler, matrix in result.confusion.items():
        assert matrix.shape == (3, 3)
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
        assert np.all(matrix > 0)  # smoothed: no zero probabilities
        errors.append(np.abs(matrix - crowd.confusion[labeler]).max())
    # Estimated against DS's own (about 88 % right) decisions, so good labelers look a little
    # worse than 0.9; constant labelers are recovered exactly.
    assert np.mean(errors) < 0.1 and max(errors) < 0.25
    assert max(errors[25:]) < 0.01
    good = [accuracy[j] for j in range(18)]
    assert min(good) > 0.78 and np.mean(good) == pytest.approx(0.9, abs=0.03)
    assert max(accuracy[j] for j in range(18, 30)) < 0.4  # spammers and constant labelers
    np.testing.assert_allclose(result.priors, 1 / 3, atol=0.05)
    for posterior in result.posteriors.values():
        assert posterior.sum() == pytest.approx(1.0)


def test_weighted_majority_with_dawid_skene_accuracies_beats_plain_majority(crowd: Crowd) -> None:
    weights = dawid_skene(crowd.labels, 3).labeler_accuracies()

    weighted = crowd.accuracy(weighted_majority(crowd.labels, 3, weights))
    majority = crowd.accuracy(majority_vote(crowd.labels, 3))
    print(f"k=3: majority {majority:.4f}  weighted by DS accuracy {weighted:.4f}")

    assert weighted >= majority + 0.03


def test_dawid_skene_does_not_depend_on_label_order(crowd: Crowd) -> None:
    shuffled = list(crowd.labels)
    np.random.default_rng(1).shuffle(shuffled)

    assert dawid_skene(shuffled, 3).labels.keys() == dawid_skene(crowd.labels, 3).labels.keys()
    assert {i: c for i, (c, _) in dawid_skene(shuffled, 3).labels.items()} == {
        i: c for i, (c, _) in dawid_skene(crowd.labels, 3).labels.items()
    }


def adversarial_pair(n_items: int = 200) -> tuple[np.ndarray, Labels]:
    """Two labelers who always answer the wrong class and one who is always right: the
    majority is wrong everywhere, and without ground truth nothing tells the two camps apart."""
    truth = np.random.default_rng(5).integers(0, 2, size=n_items)
    labels = [
        (item, labeler, int(t if labeler == 0 else 1 - t))
        for item, t in enumerate(truth)
        for labeler in (0, 1, 2)
    ]
    return truth, labels


def test_gold_start_catches_a_camp_that_is_wrong_together() -> None:
    truth, labels = adversarial_pair()
    gold = {item: int(truth[item]) for item in range(10)}

    def accuracy(decided: dict[int, tuple[int, float]]) -> float:
        return float(np.mean([decided[i][0] == t for i, t in enumerate(truth)]))

    # From the majority start, 10 gold items cannot outweigh 190 unanimous-looking ones.
    clamped = dawid_skene(labels, 2, gold=gold).labels
    assert all(clamped[item][0] == answer for item, answer in gold.items())
    assert accuracy(clamped) == pytest.approx(10 / 200)  # only the gold items themselves
    seeded = dawid_skene(labels, 2, gold=gold, init="gold")

    assert accuracy(seeded.labels) == 1.0
    assert seeded.labeler_accuracies()[0] > 0.9
    assert seeded.labeler_accuracies()[1] < 0.1
    with pytest.raises(ValueError, match="gold items"):
        dawid_skene(labels, 2, init="gold")


def test_gold_start_does_as_well_as_majority_start_on_a_noisy_crowd(crowd: Crowd) -> None:
    gold = {item: int(t) for item, t in enumerate(crowd.truth[:100])}
    rest = range(100, len(crowd.truth))

    def accuracy(decided: dict[int, tuple[int, float]]) -> float:
        return float(np.mean([decided[i][0] == crowd.truth[i] for i in rest]))

    from_majority = accuracy(dawid_skene(crowd.labels, 3, gold=gold).labels)
    from_gold = accuracy(dawid_skene(crowd.labels, 3, gold=gold, init="gold").labels)
    print(f"5 % gold: majority start {from_majority:.4f}  gold start {from_gold:.4f}")

    assert from_gold >= from_majority - 0.005


def test_gold_items_stay_clamped_to_their_known_class() -> None:
    labels = [(1, "a", 0), (1, "b", 0), (1, "c", 0), (2, "a", 1), (2, "b", 1), (2, "c", 0)]

    result = dawid_skene(labels, 3, gold={1: 2, "not labelled": 0})

    np.testing.assert_array_equal(result.posteriors[1], [0.0, 0.0, 1.0])
    assert result.labels[1] == (2, 1.0)
    assert "not labelled" not in result.labels
    with pytest.raises(ValueError, match="gold classes"):
        dawid_skene(labels, 3, gold={1: 3})


def test_dawid_skene_handles_uuid_ids_and_hard_majority_start(crowd: Crowd) -> None:
    item_ids = [uuid.UUID(int=i) for i in range(len(crowd.truth))]
    labels = [(item_ids[i], f"user-{j}", a) for i, j, a in crowd.labels]

    soft = dawid_skene(crowd.labels, 3)
    hard = dawid_skene(labels, 3, init="hard_majority")

    agree = np.mean([hard.labels[item_ids[i]][0] == soft.labels[i][0] for i in soft.labels])
    assert agree > 0.98
    assert set(hard.confusion) == {f"user-{j}" for j in range(30)}


def test_dawid_skene_stops_at_max_iter_and_reports_it(crowd: Crowd) -> None:
    result = dawid_skene(crowd.labels, 3, max_iter=2)

    assert result.iterations == 2
    assert not result.converged


def test_dawid_skene_on_no_labels_is_empty() -> None:
    result: DawidSkeneResult[int, int] = dawid_skene([], 4)

    assert result.labels == {} and result.confusion == {}
    np.testing.assert_allclose(result.priors, 0.25)


def test_labeler_accuracy_from_confusion_weights_the_diagonal_by_the_priors() -> None:
    confusion = [[0.9, 0.1], [0.4, 0.6]]

    assert labeler_accuracy_from_confusion(confusion, [0.75, 0.25]) == pytest.approx(
        0.75 * 0.9 + 0.25 * 0.6
    )
    with pytest.raises(ValueError, match=r"\(n, n\)"):
        labeler_accuracy_from_confusion(confusion, [1.0])


# --- multi-label and free text ----------------------------------------------------------------


def test_multilabel_consensus_keeps_classes_ticked_by_at_least_half() -> None:
    labels = [
        (1, "a", frozenset({0, 2})),
        (1, "b", frozenset({0})),
        (1, "c", frozenset({0, 1})),
        (1, "d", frozenset({2})),
        (2, "a", frozenset()),
        (2, "b", frozenset({1})),
        (2, "c", frozenset()),
    ]

    decided = multilabel_consensus(labels, 3)

    # Item 1: class 0 by 3/4, class 2 by 2/4 (in), class 1 by 1/4; only "a" ticked exactly {0, 2}.
    assert decided[1] == (frozenset({0, 2}), pytest.approx(0.25))
    assert decided[2] == (frozenset(), pytest.approx(2 / 3))


def test_multilabel_consensus_uses_labeler_weights() -> None:
    labels = [(1, "a", frozenset({1})), (1, "b", frozenset({0})), (1, "c", frozenset({0}))]

    assert multilabel_consensus(labels, 2)[1][0] == frozenset({0})
    decided = multilabel_consensus(labels, 2, {"a": 3.0, "b": 1.0, "c": 1.0})
    assert decided[1] == (frozenset({1}), pytest.approx(0.6))
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        multilabel_consensus([(1, "a", frozenset({2}))], 2)


def test_free_text_consensus_matches_normalised_answers() -> None:
    labels = [
        (1, "a", "  The   Eiffel Tower."),
        (1, "b", "the eiffel tower"),
        (1, "c", "Eiffel tower!"),
        (2, "a", "Paris"),
        (2, "b", "London"),
        (3, "a", "red"),
        (3, "b", "blue"),
        (3, "c", "green"),
        (4, "a", "«Yes»"),
        (4, "b", "   "),
    ]

    decided = free_text_consensus(labels)

    # "Eiffel tower!" is another answer; the two tidied spellings tie, the smaller one wins.
    assert decided[1] == ("The Eiffel Tower", pytest.approx(2 / 3))
    assert decided[2] == (None, 0.5)  # a 1-1 split is no majority
    assert decided[3] == (None, pytest.approx(1 / 3))
    assert decided[4] == ("Yes", 0.5)  # the blank answer counts but cannot win


def test_free_text_consensus_returns_the_most_common_original_spelling() -> None:
    labels = [(1, "a", "New York"), (1, "b", "new york"), (1, "c", "New  York.")]

    assert free_text_consensus(labels)[1] == ("New York", 1.0)
    assert normalise_text(" ¡Hola,  MUNDO! ") == "hola, mundo"


# --- credibility ------------------------------------------------------------------------------


def test_credibility_ema_moves_toward_observations_and_stays_in_range() -> None:
    credibility = 0.7
    for _ in range(100):
        updated = credibility_update(credibility, 1.0)
        assert credibility < updated <= 1.0
        credibility = updated
    assert credibility > 0.99
    assert credibility_update(0.5, 0.0, alpha=0.2) == pytest.approx(0.4)
    assert credibility_update(0.99, 5.0, alpha=1.0) == 1.0
    assert credibility_update(0.01, -3.0, alpha=1.0) == 0.0
    with pytest.raises(ValueError, match="alpha"):
        credibility_update(0.5, 0.5, alpha=1.5)


def test_labeler_observation_is_beta_smoothed_with_gold_counted_twice() -> None:
    assert labeler_observation(0, 0, 0, 0) == pytest.approx(0.7)
    # (0.7 * 5 + 2 * 8 + 30) / (5 + 2 * 10 + 40)
    assert labeler_observation(8, 10, 30, 40) == pytest.approx(49.5 / 65)
    # One gold miss moves the estimate as far as two consensus disagreements.
    assert labeler_observation(0, 1, 0, 0) == pytest.approx(labeler_observation(0, 0, 0, 2))
    assert 0.0 <= labeler_observation(0, 50, 0, 50) < labeler_observation(50, 50, 50, 50) <= 1.0
    with pytest.raises(ValueError, match="gold_correct"):
        labeler_observation(3, 2, 0, 0)
