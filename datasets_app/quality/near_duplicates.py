"""Near-duplicate text: MinHash signatures and locality-sensitive hashing (LSH) bands.

A text becomes the set of its word 2-shingles (words are ``\\w+`` runs of
``normalise_for_hash``, so case, width, punctuation and spacing do not count). Bigrams, not
3-shingles: one substituted word breaks two shingles instead of three, so a 25-word row with a
word swapped stays near 0.85 rather than 0.8.

Its MinHash signature holds, for each of ``NUM_PERM`` hash functions, the smallest hash over
the set; two signatures agree at a position with probability equal to the sets' Jaccard
similarity J (Broder 1997).

LSH: ``bands`` bands of ``rows`` signature positions each are hashed to one key per band, and
two texts are candidates when they share a key, which happens with probability
1 - (1 - J^rows)^bands. ``lsh_layout`` derives (bands, rows) from the dataset's threshold t, as
datasketch's MinHashLSH does from its threshold, but for recall: the most rows per band (the
fewest chance candidates) for which a pair at exactly t is a candidate with probability at
least ``CANDIDATE_RECALL``, with the fewest bands that reach it. Candidates are then verified
with the *exact* Jaccard of the two shingle sets (``exact_jaccard``), not the signatures'
estimate (standard error 0.04 at J = 0.7 with 128 hashes, which let pairs on either side of the
threshold through): precision is exact, and recall is the candidate probability.

Everything is deterministic across processes, machines and library versions: words are hashed
with XXH3-64 (a frozen specification), and the MinHash parameters come from splitmix64 with a
fixed seed, not from NumPy's random streams. Changing any of this (or ``lsh_layout``) makes
stored band keys incomparable with new ones: bump ``BAND_SCHEME`` and rebuild the index.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable

import numpy as np
import xxhash
from numpy.typing import NDArray

NUM_PERM = 128
SHINGLE_WORDS = 2
EMPTY_VALUE = np.uint64(np.iinfo(np.uint64).max)  # every position of a text with no words
# A pair exactly at the threshold shares a band at least this often; more similar pairs more.
CANDIDATE_RECALL = 0.99

_WORD_RE = re.compile(r"\w+")
_SEED = 0x5EED_DA7A_B0B7_1E5  # fixes the hash parameters: never change (see BAND_SCHEME)
_MASK64 = (1 << 64) - 1
# Shingles of this many words in total are hashed at once in ``minhash_signatures``:
# NUM_PERM x this x 8 bytes of scratch (8 MiB).
_CHUNK_SHINGLES = 8_192

# murmur3's 64-bit finaliser constants, and the odd multiplier of the polynomial hash that
# combines a shingle's words (in order).
_FMIX_1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_SHINGLE_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_SHIFT_33 = np.uint64(33)
_SHIFT_32 = np.uint64(32)


def minhash_signatures(texts: Iterable[str], num_perm: int = NUM_PERM) -> NDArray[np.uint64]:
    """MinHash signatures of many texts, one row each (``len(texts) x num_perm``): per hash
    function, the least hash over the text's shingles. A text with no words gets ``EMPTY_VALUE``
    everywhere, has no band keys and matches nothing. The words and shingles of the whole batch
    are hashed in a few NumPy passes (per-text NumPy calls cost more than the hashing itself)."""
    return signatures_of_shingles(*batch_shingles(texts), num_perm=num_perm)


def batch_shingles(texts: Iterable[str]) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """The shingle hashes of every text at once: one 64-bit hash per word 2-shingle of the
    normalised text (repeats included: they do not change a minimum; a text with fewer words is
    one shingle of all of them), back to back, and how many each text has (text ``i``'s are
    ``flat[ends[i] - sizes[i]:ends[i]]``). The words are those of ``normalise_for_hash(text)``:
    collapsing whitespace cannot change ``\\w+`` runs, so it is skipped here."""
    words = [_WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold()) for text in texts]
    if not words:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    counts = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    flat = [word for row in words for word in row]
    hashes = np.fromiter(map(_word_hash, flat), dtype=np.uint64, count=len(flat))
    return _batch_shingles(hashes, counts)


def signatures_of_shingles(
    shingles: NDArray[np.uint64], sizes: NDArray[np.int64], num_perm: int = NUM_PERM
) -> NDArray[np.uint64]:
    """``minhash_signatures`` from ``batch_shingles``' output."""
    multipliers, offsets = _permutations(num_perm)
    if sizes.size == 0:
        return np.full((0, num_perm), EMPTY_VALUE, dtype=np.uint64)
    rows: list[NDArray[np.uint64]] = []
    # Texts in groups of about _CHUNK_SHINGLES shingles: bounded scratch for _permute.
    ends = np.cumsum(sizes)
    first = 0
    while first < sizes.size:
        base = ends[first - 1] if first else 0
        last = max(first + 1, int(np.searchsorted(ends, base + _CHUNK_SHINGLES, side="right")))
        stop = ends[last - 1]
        rows.append(
            _signatures_of_flat(shingles[base:stop], sizes[first:last], multipliers, offsets)
        )
        first = last
    return np.concatenate(rows, axis=0)


def _batch_shingles(
    hashes: NDArray[np.uint64], counts: NDArray[np.int64]
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """``batch_shingles`` from the word hashes of all texts end to end
    (``counts`` words each): the shingle hashes back to back, and how many each text has."""
    total = hashes.size
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    # The polynomial of every run of 1, 2 and SHINGLE_WORDS words, wherever it starts.
    by_width = [hashes]
    combined = hashes
    for width in range(2, SHINGLE_WORDS + 1):
        combined = combined[:-1] * _SHINGLE_MULTIPLIER + hashes[width - 1 :]
        by_width.append(combined)
    widths = np.minimum(counts, SHINGLE_WORDS)
    sizes = np.where(counts > 0, counts - widths + 1, 0).astype(np.int64)
    pieces: list[NDArray[np.uint64]] = []
    order: list[NDArray[np.int64]] = []
    for width in range(1, SHINGLE_WORDS + 1):
        texts = np.flatnonzero((widths == width) & (counts > 0))
        if texts.size == 0 or total < width:
            continue
        repeat = sizes[texts]
        offsets = np.arange(int(repeat.sum()), dtype=np.int64) - np.repeat(
            np.cumsum(repeat) - repeat, repeat
        )
        pieces.append(by_width[width - 1][np.repeat(starts[texts], repeat) + offsets])
        order.append(np.repeat(texts, repeat) * (total + 1) + offsets)
    if not pieces:
        return np.empty(0, dtype=np.uint64), sizes
    if len(pieces) == 1:  # one width (every text has 2+ words): already in text order
        return _fmix(pieces[0]), sizes
    # Back in text order: each text's shingles in place.
    arrangement = np.argsort(np.concatenate(order), kind="stable")
    return _fmix(np.concatenate(pieces)[arrangement]), sizes


def exact_jaccard(shingles_a: NDArray[np.uint64], shingles_b: NDArray[np.uint64]) -> float:
    """The Jaccard similarity of two texts' shingle sets, from their shingle hashes
    (``batch_shingles``; repeats allowed). 0.0 when either text had no words."""
    a, b = np.unique(shingles_a), np.unique(shingles_b)
    if a.size == 0 or b.size == 0:
        return 0.0
    shared = np.intersect1d(a, b, assume_unique=True).size
    return shared / (a.size + b.size - shared)


@functools.lru_cache(maxsize=1 << 16)  # ~10 MiB; words are Zipf-distributed: most lookups hit
def _word_hash(word: str) -> int:
    return xxhash.xxh3_64_intdigest(word.encode())


def _fmix(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """murmur3's 64-bit finaliser: a bijection that spreads every input bit over the output."""
    values = values ^ (values >> _SHIFT_33)
    values *= _FMIX_1
    values ^= values >> _SHIFT_33
    values *= _FMIX_2
    values ^= values >> _SHIFT_33
    return values


@functools.cache
def _permutations(num_perm: int) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """``num_perm`` hash functions x -> a*x + b (mod 2^64), then an xor-shift; a odd, so each is
    a permutation of the 64-bit values. Read-only: shared by every call."""
    state = _SEED
    params: list[int] = []
    for _ in range(2 * num_perm):
        state, value = _splitmix64(state)
        params.append(value)
    multipliers = np.array([value | 1 for value in params[0::2]], dtype=np.uint64)
    offsets = np.array(params[1::2], dtype=np.uint64)
    multipliers.setflags(write=False)
    offsets.setflags(write=False)
    return multipliers[:, None], offsets[:, None]


def _permute(
    shingles: NDArray[np.uint64], multipliers: NDArray[np.uint64], offsets: NDArray[np.uint64]
) -> NDArray[np.uint64]:
    values = shingles[None, :] * multipliers
    values += offsets
    values ^= values >> _SHIFT_32
    return values


def _signatures_of_flat(
    shingles: NDArray[np.uint64],
    sizes: NDArray[np.int64],
    multipliers: NDArray[np.uint64],
    offsets: NDArray[np.uint64],
) -> NDArray[np.uint64]:
    out = np.full((sizes.size, multipliers.shape[0]), EMPTY_VALUE, dtype=np.uint64)
    filled = np.flatnonzero(sizes)
    if filled.size == 0:
        return out
    values = _permute(shingles, multipliers, offsets)
    starts = np.concatenate(([0], np.cumsum(sizes[filled])[:-1]))
    out[filled] = np.minimum.reduceat(values, starts, axis=1).T
    return out


def _splitmix64(state: int) -> tuple[int, int]:
    """(next state, output) of Vigna's splitmix64, in Python integers (exact on any platform)."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    value = state
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, value ^ (value >> 31)


# --- The app's stored band index (scheme BAND_SCHEME) -------------------------------------------
#
# The app stores, per text item, its dataset's ``lsh_layout`` of 64-bit band hashes
# (``band_hashes``), computed for a whole batch in NumPy; validation keeps a dataset's hashes in a
# ``BandIndex`` in memory and asks it about every batch.

BAND_SCHEME = "minhash-w2-xxh3-128-fmix-layout-v4"  # bump when band_hashes or lsh_layout change
_BAND_SEED = 0xB4D5_EED0_1234_5678  # fixes band_hashes: never change (see BAND_SCHEME)


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """How often two texts of Jaccard ``similarity`` share at least one of ``bands`` bands of
    ``rows`` positions."""
    return 1.0 - (1.0 - similarity**rows) ** bands


@functools.cache
def lsh_layout(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows) for a near-duplicate threshold: the largest ``rows`` for which some
    ``bands`` with ``bands * rows <= num_perm`` makes a pair at ``threshold`` a candidate with
    probability >= ``CANDIDATE_RECALL``, and the fewest such bands. More rows per band make
    chance candidates (dissimilar texts sharing a band) rarer; fewer bands store fewer keys."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"a Jaccard threshold is in (0, 1], not {threshold}")
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        agree = threshold**rows  # a band's chance of being equal for a pair at the threshold
        if agree >= 1.0:
            bands = 1
        elif math.log1p(-agree) == 0.0:
            break  # too small to ever reach the target
        else:
            bands = math.ceil(math.log1p(-CANDIDATE_RECALL) / math.log1p(-agree))
        if bands * rows <= num_perm and candidate_probability(threshold, bands, rows) >= (
            CANDIDATE_RECALL
        ):
            best = (bands, rows)
    return best


def band_hashes(signatures: NDArray[np.uint64], bands: int, rows: int) -> NDArray[np.int64]:
    """One 64-bit key per band of each signature (``n x bands``, as signed integers for a
    ``bigint[]`` column), band ``i`` made of positions ``i * rows`` to ``(i + 1) * rows - 1``:
    its values folded in order through murmur3's finaliser, seeded with the band number, so
    equal values in different bands hash apart. Rows of texts without words (``EMPTY_VALUE``
    everywhere) get keys too: callers skip them (``has_words``)."""
    count, num_perm = signatures.shape
    if bands < 1 or rows < 1 or bands * rows > num_perm:
        raise ValueError(f"{bands} bands of {rows} rows do not fit in {num_perm} hashes")
    cut = signatures[:, : bands * rows].reshape(count, bands, rows)
    seeds = _fmix(np.arange(bands, dtype=np.uint64) + np.uint64(_BAND_SEED))
    folded = np.broadcast_to(seeds, (count, bands)).copy()
    with np.errstate(over="ignore"):
        for position in range(rows):
            folded = _fmix(folded * _SHINGLE_MULTIPLIER + cut[:, :, position])
    return folded.view(np.int64)


def has_words(signatures: NDArray[np.uint64]) -> NDArray[np.bool_]:
    """Per signature: whether its text had words (an empty one matches nothing)."""
    mask: NDArray[np.bool_] = ~(signatures == EMPTY_VALUE).all(axis=1)
    return mask


class BandIndex:
    """Band key -> id pairs for millions of rows in little memory (16 bytes a pair): sorted
    NumPy runs looked up by binary search, merged as they grow (as in an LSM tree) but never
    beyond ``MAX_RUN`` pairs, so a merge never needs more than a few hundred MiB of scratch."""

    MAX_RUN = 1 << 22
    # A one-bit-per-slot filter of the stored keys (by their low bits; keys are hashes): a
    # query key whose bit is clear is in no run, so only the few others are binary-searched.
    # 2^28 bits (32 MiB, its pages touched as keys arrive): at 1M rows of 17 bands, 6 % of
    # absent keys pass; without it, looking a batch up cost 4x more than adding it.
    FILTER_BITS = 1 << 28

    def __init__(self) -> None:
        self._runs: list[tuple[NDArray[np.int64], NDArray[np.int64]]] = []
        self._filter = np.zeros(self.FILTER_BITS >> 3, dtype=np.uint8)

    def _filter_slots(self, keys: NDArray[np.int64]) -> tuple[NDArray[np.intp], NDArray[np.uint8]]:
        """Each key's byte in the filter and its bit there."""
        slot = keys.view(np.uint64) & np.uint64(self.FILTER_BITS - 1)
        return (slot >> np.uint64(3)).astype(np.intp), np.left_shift(
            np.uint8(1), (slot & np.uint64(7)).astype(np.uint8)
        )

    def __len__(self) -> int:
        return sum(keys.size for keys, _ in self._runs)

    def add(self, keys: NDArray[np.int64], ids: NDArray[np.int64]) -> None:
        """Index every key of row ``i`` of ``keys`` (``n x bands``) under ``ids[i]``."""
        if keys.size == 0:
            return
        flat_ids = np.repeat(ids.astype(np.int64), keys.shape[1])
        np.bitwise_or.at(self._filter, *self._filter_slots(keys.ravel()))
        order = np.argsort(keys.ravel(), kind="stable")
        self._runs.append((keys.ravel()[order], flat_ids[order]))
        while (
            len(self._runs) > 1
            and self._runs[-2][0].size <= 2 * self._runs[-1][0].size
            and self._runs[-2][0].size + self._runs[-1][0].size <= self.MAX_RUN
        ):
            newer_keys, newer_ids = self._runs.pop()
            older_keys, older_ids = self._runs.pop()
            merged_keys = np.concatenate([older_keys, newer_keys])
            order = np.argsort(merged_keys, kind="stable")
            self._runs.append((merged_keys[order], np.concatenate([older_ids, newer_ids])[order]))

    def candidates(self, keys: NDArray[np.int64]) -> dict[int, set[int]]:
        """Row number in ``keys`` (``n x bands``) -> ids sharing at least one of its keys."""
        found: dict[int, set[int]] = {}
        if keys.size == 0:
            return found
        everything = keys.ravel()
        byte, bit = self._filter_slots(everything)
        maybe = np.flatnonzero(self._filter[byte] & bit)  # the others are in no run
        # Sorted queries walk each run forwards: far fewer cache misses than random probes.
        order = maybe[np.argsort(everything[maybe])]
        flat = everything[order]
        for run_keys, run_ids in self._runs:
            starts = run_keys.searchsorted(flat)
            hits = np.flatnonzero(run_keys[np.minimum(starts, run_keys.size - 1)] == flat)
            if hits.size == 0:
                continue
            ends = run_keys.searchsorted(flat[hits], side="right")
            rows = order[hits] // keys.shape[1]
            for row, start, end in zip(rows.tolist(), starts[hits].tolist(), ends.tolist(),
                                       strict=True):  # fmt: skip
                found.setdefault(row, set()).update(run_ids[start:end].tolist())
        return found


def pairs_sharing_a_band(keys: NDArray[np.int64]) -> dict[int, list[int]]:
    """Within one batch (``n x bands``): row -> the earlier rows sharing a key with it."""
    earlier: dict[int, list[int]] = {}
    if keys.size == 0:
        return earlier
    flat = keys.ravel()
    order = np.argsort(flat, kind="stable")  # equal keys stay in row order
    ordered = flat[order]
    repeated = np.flatnonzero(ordered[1:] == ordered[:-1]) + 1
    if repeated.size == 0:
        return earlier
    rows = order // keys.shape[1]
    starts_here = np.ones(ordered.size, dtype=bool)
    starts_here[1:] = ordered[1:] != ordered[:-1]
    run_start = np.flatnonzero(starts_here)[np.cumsum(starts_here) - 1]
    # Each repeat pairs with every earlier member of its run of equal keys (in row order).
    for position in repeated.tolist():
        row = int(rows[position])
        for other in rows[run_start[position] : position].tolist():
            if other != row and other not in earlier.setdefault(row, []):
                earlier[row].append(other)
    return earlier
