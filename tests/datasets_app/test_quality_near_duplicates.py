"""MinHash LSH near-duplicate detection: precision and recall on a generated corpus with planted
paraphrases, the accuracy of the Jaccard estimate, and the stability of the stored band keys.
No database needed."""

from __future__ import annotations

import itertools
import random
import re
from collections import defaultdict

import numpy as np
import pytest

from datasets_app.quality.near_duplicates import (
    EMPTY_VALUE,
    NearDuplicateIndex,
    band_keys,
    band_keys_many,
    estimated_jaccard,
    minhash_signature,
    minhash_signatures,
    signature_from_bytes,
    signature_to_bytes,
)

BASE_TEXTS = 2_000
LIGHT_COPIES = 120  # true Jaccard >= 0.85 with their source: must be found
HEAVY_COPIES = 80  # true Jaccard 0.5 to 0.7: must not be reported
THRESHOLD = 0.8


def shingles(text: str) -> set[tuple[str, ...]]:
    """The ground truth, computed independently of the module: word 2-shingles, case-folded."""
    words = re.findall(r"\w+", text.casefold())
    return {tuple(words[i : i + 2]) for i in range(len(words) - 1)}


def jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b)


class Corpus:
    """Random sentences over a pseudo-word vocabulary, and edited copies of some of them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - test data
        letters = "abcdefghijklmnopqrstuvwxyz"
        self.vocabulary = sorted(
            {
                "".join(self.rng.choice(letters) for _ in range(self.rng.randint(2, 9)))
                for _ in range(3_000)
            }
        )

    def sentence_words(self) -> list[str]:
        return [self.rng.choice(self.vocabulary) for _ in range(self.rng.randint(50, 80))]

    def render(self, words: list[str]) -> str:
        """Words as a sentence: capital first letter, commas here and there, a full stop."""
        parts = [w + ("," if self.rng.random() < 0.08 else "") for w in words]
        parts[0] = parts[0].capitalize()
        return " ".join(parts) + "."

    def edit(self, words: list[str], operations: int) -> list[str]:
        """Substitute, delete, insert or swap adjacent words; change case at random."""
        words = list(words)
        for _ in range(operations):
            at = self.rng.randrange(1, len(words) - 1)
            operation = self.rng.choice(["substitute", "delete", "insert", "swap"])
            if operation == "substitute":
                words[at] = self.rng.choice(self.vocabulary)
            elif operation == "delete":
                del words[at]
            elif operation == "insert":
                words.insert(at, self.rng.choice(self.vocabulary))
            else:
                words[at], words[at + 1] = words[at + 1], words[at]
        return [w.upper() if self.rng.random() < 0.05 else w for w in words]

    def planted_copy(
        self, words: list[str], operations: tuple[int, int], low: float, high: float
    ) -> list[str]:
        """A copy with a few edits whose true Jaccard with ``words`` lies in [low, high]."""
        source = shingles(" ".join(words))
        while True:
            copy = self.edit(words, self.rng.randint(*operations))
            if low <= jaccard(source, shingles(" ".join(copy))) <= high:
                return copy


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    generator = Corpus(seed=20240611)
    bases = [generator.sentence_words() for _ in range(BASE_TEXTS)]
    sources = generator.rng.sample(range(BASE_TEXTS), LIGHT_COPIES + HEAVY_COPIES)
    # Close to the threshold on both sides: light copies mostly at 0.85-0.95, heavy ones up to
    # 0.7, 2.5 standard errors of the estimate below it.
    copies = [generator.planted_copy(bases[i], (1, 2), 0.85, 1.0) for i in sources[:LIGHT_COPIES]]
    copies += [generator.planted_copy(bases[i], (3, 8), 0.5, 0.7) for i in sources[LIGHT_COPIES:]]
    texts = [generator.render(words) for words in bases + copies]
    generator.rng.shuffle(texts)
    return texts


def true_similar_pairs(texts: list[str]) -> dict[tuple[int, int], float]:
    """Exact Jaccard of every pair that shares at least one shingle (all others are 0)."""
    sets = [shingles(text) for text in texts]
    holders: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, shingle_set in enumerate(sets):
        for shingle in shingle_set:
            holders[shingle].append(index)
    pairs: set[tuple[int, int]] = set()
    for indices in holders.values():
        pairs.update(itertools.combinations(indices, 2))
    return {(a, b): jaccard(sets[a], sets[b]) for a, b in pairs}


def test_planted_near_duplicates_are_found_with_high_precision_and_recall(
    corpus: list[str],
) -> None:
    truth = true_similar_pairs(corpus)
    positives = {pair for pair, similarity in truth.items() if similarity >= 0.85}
    assert len(positives) >= LIGHT_COPIES  # the planted pairs are really there

    # As in one file's validation: each row is checked against the rows before it, then added.
    index: NearDuplicateIndex[int] = NearDuplicateIndex()
    reported: dict[tuple[int, int], float] = {}
    for position, signature in enumerate(minhash_signatures(corpus)):
        for other, estimate in index.query(signature, threshold=THRESHOLD):
            reported[(other, position)] = estimate
        index.add(position, signature)

    true_positives = positives & reported.keys()
    recall = len(true_positives) / len(positives)
    precision = len(true_positives) / len(reported) if reported else 0.0
    planted_errors = [abs(reported[pair] - truth[pair]) for pair in true_positives]
    print(
        f"\nnear duplicates over {len(corpus)} texts at threshold {THRESHOLD}: "
        f"{len(positives)} true pairs (Jaccard >= 0.85), {len(reported)} reported, "
        f"recall {recall:.3f}, precision {precision:.3f}, "
        f"mean |estimate - true| on found pairs {np.mean(planted_errors):.3f}"
    )
    assert recall >= 0.9
    assert precision >= 0.95
    # Every reported pair is at least a heavily edited copy; random texts never meet.
    assert all(truth.get(pair, 0.0) >= 0.5 for pair in reported)


def test_the_estimate_tracks_exact_jaccard_across_the_range() -> None:
    generator = Corpus(seed=5)
    errors = []
    for operations in range(0, 30):
        words = generator.sentence_words()
        copy = generator.edit(words, operations)
        exact = jaccard(shingles(" ".join(words)), shingles(" ".join(copy)))
        estimate = estimated_jaccard(
            minhash_signature(" ".join(words)), minhash_signature(" ".join(copy))
        )
        errors.append(estimate - exact)
    # Standard error is at most 0.044 with 128 hashes.
    assert abs(float(np.mean(errors))) < 0.03
    assert max(abs(e) for e in errors) < 0.15


def test_case_punctuation_width_and_spacing_do_not_change_the_signature() -> None:
    a = minhash_signature("The quick brown fox, jumps over the lazy dog!")
    full_width_lazy = "\uff4c\uff41\uff5a\uff59"
    b = minhash_signature(f"the   QUICK brown fox jumps\nover the {full_width_lazy} dog")
    assert np.array_equal(a, b)
    assert estimated_jaccard(a, b) == 1.0


def test_signatures_are_uint64_and_batch_equals_one_by_one() -> None:
    generator = Corpus(seed=9)
    texts = [generator.render(generator.sentence_words()) for _ in range(400)]
    texts[3] = ""
    texts[10] = "two words"
    texts[11] = "...!!!"
    batch = minhash_signatures(texts)  # 400 x ~60 shingles crosses the internal chunk size
    assert batch.dtype == np.uint64 and batch.shape == (400, 128)
    single = np.stack([minhash_signature(text) for text in texts])
    assert np.array_equal(batch, single)
    assert minhash_signatures([]).shape == (0, 128)
    assert minhash_signature("a b c d", num_perm=64).shape == (64,)


def test_texts_without_words_have_no_band_keys_and_match_nothing() -> None:
    empty = minhash_signature(" ... ")
    assert (empty == EMPTY_VALUE).all()
    assert band_keys(empty) == []
    assert estimated_jaccard(empty, empty) == 0.0
    index: NearDuplicateIndex[str] = NearDuplicateIndex()
    index.add("blank", empty)
    assert index.query(empty) == []
    assert "blank" in index and len(index) == 1


def test_short_texts_are_one_shingle_and_still_match_themselves() -> None:
    assert (
        estimated_jaccard(minhash_signature("hello world"), minhash_signature("Hello, world")) == 1
    )
    assert (
        estimated_jaccard(minhash_signature("hello world"), minhash_signature("world hello")) < 0.1
    )


def test_band_keys_are_band_numbered_and_stable_across_processes_and_versions() -> None:
    keys = band_keys(minhash_signature("the quick brown fox jumps over the lazy dog"))
    assert len(keys) == 32
    assert all(len(key) == 9 for key in keys)
    assert [key[0] for key in keys] == list(range(32))
    # The app stores these keys: if this changes, bump LSH_SCHEME and rebuild the stored index.
    assert keys[0].hex() == GOLDEN_FIRST_KEY
    assert keys[31].hex() == GOLDEN_LAST_KEY


GOLDEN_FIRST_KEY = "00a8d6f1825e0b87a1"
GOLDEN_LAST_KEY = "1f91e95e53a953f9a8"


def test_band_keys_many_equals_band_keys_per_row() -> None:
    signatures = minhash_signatures(["alpha beta gamma delta", "", "one two three four five"])
    assert band_keys_many(signatures) == [band_keys(signature) for signature in signatures]
    assert len(band_keys_many(signatures, bands=16)[0]) == 16


def test_band_counts_that_do_not_divide_the_signature_are_refused() -> None:
    signature = minhash_signature("alpha beta gamma delta")
    with pytest.raises(ValueError, match="equal bands"):
        band_keys(signature, bands=30)


def test_signatures_round_trip_through_bytes() -> None:
    signature = minhash_signature("alpha beta gamma delta epsilon")
    data = signature_to_bytes(signature)
    assert len(data) == 128 * 8
    assert np.array_equal(signature_from_bytes(data), signature)


def test_index_returns_matches_above_the_threshold_most_similar_first() -> None:
    generator = Corpus(seed=3)
    words = generator.sentence_words()
    index: NearDuplicateIndex[str] = NearDuplicateIndex()
    index.add("original", minhash_signature(" ".join(words)))
    index.add("one word changed", minhash_signature(" ".join(generator.edit(words, 1))))
    index.add("rewritten", minhash_signature(" ".join(generator.edit(words, 25))))
    index.add("unrelated", minhash_signature(" ".join(generator.sentence_words())))

    found = index.query(minhash_signature(" ".join(words)), threshold=0.8)
    assert [key for key, _ in found] == ["original", "one word changed"]
    assert found[0][1] == 1.0 and 0.8 <= found[1][1] < 1.0
    assert [key for key, _ in index.query(minhash_signature(" ".join(words)), 0.0)][:2] == [
        "original",
        "one word changed",
    ]


def test_index_refuses_a_key_twice_and_signatures_of_another_length() -> None:
    index: NearDuplicateIndex[int] = NearDuplicateIndex()
    index.add(1, minhash_signature("alpha beta gamma"))
    with pytest.raises(ValueError, match="already"):
        index.add(1, minhash_signature("delta epsilon zeta"))
    with pytest.raises(ValueError, match="hashes"):
        index.query(minhash_signature("alpha beta gamma", num_perm=64))


def test_index_answers_like_a_band_key_table_through_freezes_and_merges() -> None:
    """The reference is what the app does in PostgreSQL: rows sharing any band key are
    candidates, kept when their estimated Jaccard reaches the threshold."""
    generator = Corpus(seed=11)
    bases = [generator.sentence_words() for _ in range(150)]
    texts = [" ".join(words) for words in bases]
    texts += [
        " ".join(generator.edit(words, generator.rng.randint(0, 12))) for words in bases[:150]
    ]
    texts += ["", "...", "one", "one two"]
    signatures = minhash_signatures(texts)

    index: NearDuplicateIndex[int] = NearDuplicateIndex()
    index.FRESH_ROWS = 8  # many sorted runs, merged many times
    table: dict[bytes, list[int]] = defaultdict(list)
    for position, signature in enumerate(signatures):
        expected = sorted(
            {
                other
                for key in band_keys(signature)
                for other in table[key]
                if estimated_jaccard(signature, signatures[other]) >= 0.5
            },
            key=lambda other: (-estimated_jaccard(signature, signatures[other]), other),
        )
        assert [key for key, _ in index.query(signature, threshold=0.5)] == expected
        index.add(position, signature)
        for key in band_keys(signature):
            table[key].append(position)
    assert len(index) == len(texts)
    assert any(index.query(signature, 0.5) for signature in signatures[150:300])
