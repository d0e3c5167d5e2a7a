"""MinHash LSH near-duplicate detection, the parts validation uses: the band layout derived from
the threshold, precision and recall of band keys + ``BandIndex`` + exact Jaccard on a generated
corpus with planted paraphrases, the accuracy of the Jaccard estimate, and the stability of the
stored band keys. No database needed (validation itself: test_validation_near_duplicates.py)."""

from __future__ import annotations

import itertools
import random
import re
import unicodedata
from collections import defaultdict

import numpy as np
import pytest

from datasets_app.quality.near_duplicates import (
    CANDIDATE_RECALL,
    EMPTY_VALUE,
    NUM_PERM,
    SHINGLE_WORDS,
    BandIndex,
    _fmix,
    _permutations,
    _permute,
    _word_hash,
    band_hashes,
    batch_shingles,
    candidate_probability,
    exact_jaccard,
    has_words,
    lsh_layout,
    minhash_signatures,
    pairs_sharing_a_band,
    signatures_of_shingles,
)

SHINGLE_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # near_duplicates' polynomial hash


def shingle_hashes(text: str, *, size: int = SHINGLE_WORDS) -> np.ndarray:
    """One text's shingle hashes by the definition (one hash per word ``size``-shingle of the
    normalised text, a shorter text one shingle): the reference ``batch_shingles`` is held to."""
    words = re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())
    if not words:
        return np.empty(0, dtype=np.uint64)
    word_hashes = np.fromiter(map(_word_hash, words), dtype=np.uint64, count=len(words))
    width = min(size, len(words))
    count = len(words) - width + 1
    combined = np.zeros(count, dtype=np.uint64)
    for position in range(width):
        combined = combined * SHINGLE_MULTIPLIER + word_hashes[position : position + count]
    return _fmix(combined)


def minhash_signature(text: str, num_perm: int = NUM_PERM) -> np.ndarray:
    """The signature of one text by the definition (per hash function, the least hash over the
    shingles): the reference the batched ``minhash_signatures`` is held to."""
    shingles = shingle_hashes(text)
    if shingles.size == 0:
        return np.full(num_perm, EMPTY_VALUE, dtype=np.uint64)
    multipliers, offsets = _permutations(num_perm)
    signature: np.ndarray = _permute(shingles, multipliers, offsets).min(axis=1)
    return signature


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The share of positions where two signatures agree: the MinHash estimate of Jaccard."""
    return float(np.count_nonzero(sig_a == sig_b)) / sig_a.size


BASE_TEXTS = 2_000
LIGHT_COPIES = 120  # true Jaccard 0.8-0.9 with their source: must be found
HEAVY_COPIES = 80  # true Jaccard 0.6 to just below 0.8: must not be reported
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
    # Close to the threshold on both sides.
    copies = [generator.planted_copy(bases[i], (1, 4), 0.80, 0.9) for i in sources[:LIGHT_COPIES]]
    copies += [generator.planted_copy(bases[i], (2, 8), 0.6, 0.79) for i in sources[LIGHT_COPIES:]]
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
    positives = {pair for pair, similarity in truth.items() if similarity >= THRESHOLD}
    assert len(positives) >= LIGHT_COPIES  # the planted pairs are really there

    # As validation does: each row is checked against the rows before it, then added.
    layout = lsh_layout(THRESHOLD)
    shingles_of = [shingle_hashes(text) for text in corpus]
    keys = band_hashes(minhash_signatures(corpus), *layout)
    index = BandIndex()
    reported: set[tuple[int, int]] = set()
    for position in range(len(corpus)):
        for other in index.candidates(keys[position : position + 1]).get(0, ()):
            if exact_jaccard(shingles_of[position], shingles_of[other]) >= THRESHOLD:
                reported.add((other, position))
        index.add(keys[position : position + 1], np.array([position]))

    true_positives = positives & reported
    recall = len(true_positives) / len(positives)
    print(
        f"\nnear duplicates over {len(corpus)} texts at threshold {THRESHOLD}, {layout[0]} bands "
        f"of {layout[1]}: {len(positives)} true pairs, {len(reported)} reported, "
        f"recall {recall:.3f}"
    )
    assert recall >= 0.95
    assert reported <= positives  # exact verification: no false positives at all


def test_the_layout_makes_a_pair_at_the_threshold_a_candidate_99_times_in_100() -> None:
    for step in range(50, 101):
        threshold = step / 100
        bands, rows = lsh_layout(threshold)
        assert bands * rows <= NUM_PERM
        assert candidate_probability(threshold, bands, rows) >= CANDIDATE_RECALL
        # As many rows per band as the target allows (fewest chance candidates) ...
        more = rows + 1
        assert all(
            candidate_probability(threshold, b, more) < CANDIDATE_RECALL
            for b in range(1, NUM_PERM // more + 1)
        )
        # ... and no more bands than needed (fewest keys to store).
        assert bands == 1 or candidate_probability(threshold, bands - 1, rows) < CANDIDATE_RECALL
    assert lsh_layout(0.7) == (17, 4)  # the model's default layout is the default threshold's
    assert lsh_layout(0.9) == (11, 10)
    assert lsh_layout(0.5) == (35, 3)
    assert lsh_layout(1.0) == (1, NUM_PERM)
    with pytest.raises(ValueError, match="threshold"):
        lsh_layout(0.0)


def test_the_layout_s_candidate_probability_is_what_the_band_keys_deliver() -> None:
    """Measured on signatures, not taken from the formula: copies with exact Jaccard just above
    0.7 share one of the 17 x 4 band keys with their source about 99 times in 100."""
    generator = Corpus(seed=21)
    bands, rows = lsh_layout(0.7)
    hits = trials = 0
    while trials < 400:
        words = generator.sentence_words()
        copy = generator.planted_copy(words, (3, 9), 0.70, 0.72)
        keys = band_hashes(minhash_signatures([" ".join(words), " ".join(copy)]), bands, rows)
        hits += bool((keys[0] == keys[1]).any())
        trials += 1
    assert hits / trials >= 0.97


def test_exact_jaccard_is_the_jaccard_of_the_word_bigram_sets() -> None:
    generator = Corpus(seed=4)
    for operations in range(0, 20, 3):
        words = generator.sentence_words()
        copy = generator.edit(words, operations)
        a, b = " ".join(words), " ".join(copy)
        expected = jaccard(shingles(a), shingles(b))
        assert exact_jaccard(shingle_hashes(a), shingle_hashes(b)) == pytest.approx(expected)
    assert exact_jaccard(shingle_hashes("a b a b a b"), shingle_hashes("a b a")) == 1.0
    assert exact_jaccard(shingle_hashes(""), shingle_hashes("")) == 0.0


def test_batch_shingles_are_shingle_hashes_back_to_back() -> None:
    texts = ["alpha beta gamma", "", "one", "Two, words", "x y z w"]
    flat, sizes = batch_shingles(texts)
    ends = np.cumsum(sizes)
    for text, size, end in zip(texts, sizes, ends, strict=True):
        assert np.array_equal(flat[end - size : end], shingle_hashes(text))
    assert np.array_equal(signatures_of_shingles(flat, sizes), minhash_signatures(texts))


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


def test_short_texts_are_one_shingle_and_still_match_themselves() -> None:
    assert (
        estimated_jaccard(minhash_signature("hello world"), minhash_signature("Hello, world")) == 1
    )
    assert (
        estimated_jaccard(minhash_signature("hello world"), minhash_signature("world hello")) < 0.1
    )


def test_texts_without_words_have_keys_that_are_skipped() -> None:
    signatures = minhash_signatures(["", " ... ", "some words here"])
    assert (signatures[:2] == EMPTY_VALUE).all()
    assert has_words(signatures).tolist() == [False, False, True]


def test_band_hashes_cut_the_first_bands_x_rows_positions_and_are_stable() -> None:
    signatures = minhash_signatures(["the quick brown fox jumps over the lazy dog", "a b c d e"])
    keys = band_hashes(signatures, 17, 4)
    assert keys.shape == (2, 17) and keys.dtype == np.int64
    # Positions past bands x rows do not count.
    changed = signatures.copy()
    changed[:, 68:] = 0
    assert np.array_equal(band_hashes(changed, 17, 4), keys)
    changed[0, 67] += np.uint64(1)
    assert (band_hashes(changed, 17, 4)[0] != keys[0]).tolist() == [False] * 16 + [True]
    # The app stores these keys: if they change, bump BAND_SCHEME and rebuild the stored index.
    assert keys[0, 0] == GOLDEN_FIRST_KEY and keys[0, 16] == GOLDEN_LAST_KEY
    with pytest.raises(ValueError, match="do not fit"):
        band_hashes(signatures, 17, 8)


GOLDEN_FIRST_KEY = -8983817962734663623
GOLDEN_LAST_KEY = 5642980735501227941


def test_band_index_answers_like_a_key_table_through_merges() -> None:
    generator = Corpus(seed=11)
    bases = [generator.sentence_words() for _ in range(150)]
    texts = [" ".join(words) for words in bases]
    texts += [" ".join(generator.edit(words, generator.rng.randint(0, 12))) for words in bases]
    keys = band_hashes(minhash_signatures(texts), *lsh_layout(0.6))
    index = BandIndex()
    index.MAX_RUN = 200  # many runs, merged until they reach it
    table: dict[int, set[int]] = defaultdict(set)
    for start in range(0, len(texts), 7):
        batch = keys[start : start + 7]
        expected = {
            row: found
            for row in range(len(batch))
            if (found := set().union(*(table[key] for key in batch[row].tolist())))
        }
        assert index.candidates(batch) == expected
        index.add(batch, np.arange(start, start + len(batch)))
        for row, row_keys in enumerate(batch.tolist()):
            for key in row_keys:
                table[key].add(start + row)
    assert len(index) == keys.size
    assert len(index._runs) > 1


def test_pairs_sharing_a_band_lists_each_earlier_row_once() -> None:
    keys = np.array([[1, 2, 3], [4, 2, 6], [1, 8, 6], [9, 10, 11], [1, 2, 6]], dtype=np.int64)
    found = pairs_sharing_a_band(keys)
    assert {row: sorted(earlier) for row, earlier in found.items()} == {
        1: [0],
        2: [0, 1],
        4: [0, 1, 2],
    }
    assert all(len(set(earlier)) == len(earlier) for earlier in found.values())
    assert pairs_sharing_a_band(np.empty((0, 3), dtype=np.int64)) == {}


def test_band_index_filter_passes_keys_sharing_low_bits_to_the_exact_lookup() -> None:
    """Keys that share a filter slot (their low bits) but differ are not candidates of each
    other; a stored key is found whatever else shares its slot; a key of an empty slot is in
    no run."""
    index = BandIndex()
    slot_mate = np.int64(5 + BandIndex.FILTER_BITS)  # same low bits as 5, another key
    index.add(np.array([[5, 1 << 40]], dtype=np.int64), np.array([10]))
    index.add(np.array([[7, 9]], dtype=np.int64), np.array([11]))
    queries = np.array([[slot_mate, 3], [9, 5], [123456789, 1 << 40], [4, 6]], dtype=np.int64)
    assert index.candidates(queries) == {1: {10, 11}, 2: {10}}
    index.add(np.array([[slot_mate, 2]], dtype=np.int64), np.array([12]))
    assert index.candidates(queries) == {0: {12}, 1: {10, 11}, 2: {10}}
