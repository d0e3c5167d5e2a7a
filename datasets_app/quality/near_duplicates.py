"""Near-duplicate text: MinHash signatures and locality-sensitive hashing (LSH) bands.

A text becomes the set of its word 2-shingles (words are ``\\w+`` runs of
``normalise_for_hash``, so case, width, punctuation and spacing do not count). Bigrams, not
3-shingles: one substituted word breaks two shingles instead of three, so a 25-word row with a
word swapped stays near 0.85 rather than 0.8, at the threshold (measured by
bench/bench_incentives.py's near-duplicate uploaders: 12 of 20 such copies got through).

Its MinHash signature holds, for each of ``num_perm`` hash functions, the smallest hash over
the set; two signatures agree at a position with probability equal to the sets' Jaccard
similarity (Broder 1997), so the share of equal
positions estimates it (standard error sqrt(J(1-J)/num_perm): 0.035 at J = 0.8, 128 hashes).

LSH: the signature is cut into ``bands`` bands of ``num_perm // bands`` rows, each hashed to a
key. Two texts share at least one key with probability 1 - (1 - J^r)^b: for 32 bands of 4 rows,
0.99999995 at J = 0.8, 0.87 at J = 0.5, 0.23 at J = 0.3, so candidates at the 0.8 threshold are
never missed by the bands, and the candidates' signatures then decide. The app stores
``(dataset_id, band_key) -> item`` rows and looks candidates up with ``band_key = ANY(%s)``.

Everything is deterministic across processes, machines and library versions: words and bands
are hashed with XXH3-64 (a frozen specification), and the MinHash parameters come from
splitmix64 with a fixed seed, not from NumPy's random streams. Changing any of this (or
``num_perm``/``bands``) makes stored band keys incomparable with new ones: bump ``LSH_SCHEME``
and rebuild the index.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

import numpy as np
import xxhash
from numpy.typing import NDArray

LSH_SCHEME = "minhash-w2-xxh3-128x32-v2"  # store beside band keys; bump when anything changes
NUM_PERM = 128
BANDS = 32
SHINGLE_WORDS = 2
EMPTY_VALUE = np.uint64(np.iinfo(np.uint64).max)  # every position of a text with no words

Signature = NDArray[np.uint64]
K = TypeVar("K", bound=Hashable)

_WORD_RE = re.compile(r"\w+")
_SEED = 0x5EED_DA7A_B0B7_1E5  # fixes the hash parameters: never change (see LSH_SCHEME)
_MASK64 = (1 << 64) - 1
# Shingles of this many words in total are hashed at once in ``minhash_signatures``:
# NUM_PERM x this x 8 bytes of scratch (8 MiB).
_CHUNK_SHINGLES = 8_192

# murmur3's 64-bit finaliser constants, and the odd multiplier of the polynomial hash that
# combines a shingle's words (in order).
_FMIX_1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_SHINGLE_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_BAND_PREFIXES = [bytes((band,)) for band in range(256)]
_SHIFT_33 = np.uint64(33)
_SHIFT_32 = np.uint64(32)


def minhash_signature(text: str, num_perm: int = NUM_PERM) -> Signature:
    """The MinHash signature of ``text``: ``num_perm`` unsigned 64-bit values. A text with no
    words gets ``EMPTY_VALUE`` everywhere, has no band keys and matches nothing."""
    shingles = shingle_hashes(text)
    if shingles.size == 0:
        return np.full(num_perm, EMPTY_VALUE, dtype=np.uint64)
    multipliers, offsets = _permutations(num_perm)
    values = _permute(shingles, multipliers, offsets)
    signature: Signature = values.min(axis=1)
    return signature


def minhash_signatures(texts: Iterable[str], num_perm: int = NUM_PERM) -> NDArray[np.uint64]:
    """Signatures of many texts, one row each (``len(texts) x num_perm``), equal to
    ``minhash_signature`` of each but hashing the words and shingles of the whole batch in a
    few NumPy passes (per-text NumPy calls cost more than the hashing itself)."""
    multipliers, offsets = _permutations(num_perm)
    words = [_WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold()) for text in texts]
    if not words:
        return np.full((0, num_perm), EMPTY_VALUE, dtype=np.uint64)
    counts = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    flat = [word for row in words for word in row]
    hashes = np.fromiter(map(_word_hash, flat), dtype=np.uint64, count=len(flat))
    shingles, sizes = _batch_shingles(hashes, counts)
    rows: list[NDArray[np.uint64]] = []
    # Texts in groups of about _CHUNK_SHINGLES shingles: bounded scratch for _permute.
    ends = np.cumsum(sizes)
    first = 0
    while first < len(words):
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
    """``shingle_hashes`` of every text at once, from the word hashes of all texts end to end
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
    # Back in text order: each text's shingles in place.
    arrangement = np.argsort(np.concatenate(order), kind="stable")
    return _fmix(np.concatenate(pieces)[arrangement]), sizes


def shingle_hashes(text: str, *, size: int = SHINGLE_WORDS) -> NDArray[np.uint64]:
    """One 64-bit hash per word ``size``-shingle of the normalised text (repeats included: they
    do not change a minimum). A text with fewer words is one shingle of all of them."""
    # The words of normalise_for_hash(text): collapsing whitespace cannot change ``\w+`` runs,
    # so it is skipped here.
    words = _WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold())
    if not words:
        return np.empty(0, dtype=np.uint64)
    word_hashes = np.fromiter(map(_word_hash, words), dtype=np.uint64, count=len(words))
    width = min(size, len(words))
    count = len(words) - width + 1
    combined = np.zeros(count, dtype=np.uint64)
    for position in range(width):
        combined = combined * _SHINGLE_MULTIPLIER + word_hashes[position : position + count]
    return _fmix(combined)


def band_keys(signature: Signature, bands: int = BANDS) -> list[bytes]:
    """The LSH keys of one signature: per band, its number (one byte) and the XXH3-64 of its
    rows (8 bytes, big-endian), seeded with the band number. Two texts are candidates when they
    share a key. Empty texts have none."""
    if _is_empty(signature):
        return []
    raw, width = _band_bytes(signature, bands)
    # xxh3_64_digest is the big-endian form of _band_hashes' integers.
    return [
        _BAND_PREFIXES[band] + xxhash.xxh3_64_digest(raw[band * width : (band + 1) * width], band)
        for band in range(bands)
    ]


def band_keys_many(signatures: NDArray[np.uint64], bands: int = BANDS) -> list[list[bytes]]:
    """``band_keys`` for each row of a ``n x num_perm`` array."""
    return [band_keys(signature, bands) for signature in signatures]


def estimated_jaccard(sig_a: Signature, sig_b: Signature) -> float:
    """The share of positions where the signatures agree: an unbiased estimate of the Jaccard
    similarity of the two shingle sets. 0.0 when either text had no words."""
    if sig_a.shape != sig_b.shape:
        raise ValueError(f"signatures differ in length: {sig_a.shape} and {sig_b.shape}")
    if _is_empty(sig_a) or _is_empty(sig_b):
        return 0.0
    return float(np.count_nonzero(sig_a == sig_b)) / sig_a.size


def signature_to_bytes(signature: Signature) -> bytes:
    """For a ``bytea`` column: little-endian 64-bit values (1 KiB for 128 hashes)."""
    return signature.astype("<u8").tobytes()


def signature_from_bytes(data: bytes) -> Signature:
    signature: Signature = np.frombuffer(data, dtype="<u8").astype(np.uint64)
    return signature


class NearDuplicateIndex(Generic[K]):
    """An in-memory LSH index, for checks within one file and for tests; the app's PostgreSQL
    index stores the same ``band_keys`` and should answer queries alike.

    Compact, for files of millions of rows: the signatures sit in one growing array, and the
    buckets in sorted NumPy runs of (bucket id, slot) pairs, 16 bytes per row and band, looked
    up with binary search. The latest rows wait in a small dict until there are
    ``FRESH_ROWS`` of them; runs of similar size are merged (as in an LSM tree), so a query
    searches about log2(rows / FRESH_ROWS) runs and adding costs O(log n) amortised.
    """

    FRESH_ROWS = 2_048

    def __init__(self, *, bands: int = BANDS) -> None:
        self.bands = bands
        self._keys: list[K] = []
        self._slots: dict[K, int] = {}
        self._signatures = np.empty((0, 0), dtype=np.uint64)  # capacity x num_perm
        # The latest rows: bucket -> slots for lookups, and flat lists to freeze into a run.
        self._fresh: dict[int, list[int]] = {}
        self._fresh_buckets: list[int] = []
        self._fresh_slots: list[int] = []
        self._runs: list[tuple[NDArray[np.uint64], NDArray[np.int64]]] = []  # largest first

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._slots

    def add(self, key: K, signature: Signature) -> None:
        """Index ``signature`` under ``key``; a key is added once (``ValueError`` after that)."""
        if key in self._slots:
            raise ValueError(f"key {key!r} is already in the index")
        self._check_length(signature)
        slot = len(self._keys)
        if slot == self._signatures.shape[0]:
            grown = np.empty((max(1_024, 2 * slot), signature.size), dtype=np.uint64)
            if slot:
                grown[:slot] = self._signatures[:slot]
            self._signatures = grown
        self._signatures[slot] = signature
        self._keys.append(key)
        self._slots[key] = slot
        if _is_empty(signature):
            return  # no buckets: it can match nothing
        buckets = _band_hashes(signature, self.bands)
        for bucket in buckets:
            self._fresh.setdefault(bucket, []).append(slot)
        self._fresh_buckets.extend(buckets)
        self._fresh_slots.extend([slot] * len(buckets))
        if len(self._fresh_slots) >= self.FRESH_ROWS * self.bands:
            self._freeze_fresh()

    def query(self, signature: Signature, threshold: float = 0.8) -> list[tuple[K, float]]:
        """Indexed keys whose estimated Jaccard similarity to ``signature`` is at least
        ``threshold``, most similar first (equal ones in the order they were added)."""
        self._check_length(signature)
        if not self._keys or _is_empty(signature):
            return []
        bucket_list = _band_hashes(signature, self.bands)
        found: list[NDArray[np.int64]] = []
        fresh = [slot for bucket in bucket_list for slot in self._fresh.get(bucket, ())]
        if fresh:
            found.append(np.array(fresh, dtype=np.int64))
        buckets = np.array(bucket_list, dtype=np.uint64)
        for run_buckets, run_slots in self._runs:
            starts = run_buckets.searchsorted(buckets)
            hits = run_buckets[np.minimum(starts, run_buckets.size - 1)] == buckets
            if not hits.any():
                continue
            ends = run_buckets.searchsorted(buckets[hits], side="right")
            for start, end in zip(starts[hits].tolist(), ends.tolist(), strict=True):
                found.append(run_slots[start:end])
        if not found:
            return []
        slots = np.unique(np.concatenate(found))  # sorted: the order rows were added
        agree = np.count_nonzero(self._signatures[slots] == signature, axis=1)
        similarities = agree / signature.size
        keep = np.flatnonzero(similarities >= threshold)
        order = keep[np.argsort(-similarities[keep], kind="stable")]
        return [
            (self._keys[slot], float(similarities[i]))
            for i, slot in zip(order.tolist(), slots[order].tolist(), strict=True)
        ]

    def _freeze_fresh(self) -> None:
        buckets = np.array(self._fresh_buckets, dtype=np.uint64)
        slots = np.array(self._fresh_slots, dtype=np.int64)
        self._fresh.clear()
        self._fresh_buckets.clear()
        self._fresh_slots.clear()
        self._runs.append(_sorted_run(buckets, slots))
        while len(self._runs) > 1 and self._runs[-2][0].size <= 2 * self._runs[-1][0].size:
            newer_buckets, newer_slots = self._runs.pop()
            older_buckets, older_slots = self._runs.pop()
            self._runs.append(
                _sorted_run(
                    np.concatenate([older_buckets, newer_buckets]),
                    np.concatenate([older_slots, newer_slots]),
                )
            )

    def _check_length(self, signature: Signature) -> None:
        if self._keys and signature.size != self._signatures.shape[1]:
            raise ValueError(
                f"signature has {signature.size} hashes, the index {self._signatures.shape[1]}"
            )


def _sorted_run(
    buckets: NDArray[np.uint64], slots: NDArray[np.int64]
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    order = np.argsort(buckets, kind="stable")
    return buckets[order], slots[order]


def _band_hashes(signature: Signature, bands: int) -> list[int]:
    """XXH3-64 of each band's rows (little-endian bytes), seeded with the band number, so equal
    rows in different bands hash apart."""
    raw, width = _band_bytes(signature, bands)
    return [
        xxhash.xxh3_64_intdigest(raw[band * width : (band + 1) * width], seed=band)
        for band in range(bands)
    ]


def _band_bytes(signature: Signature, bands: int) -> tuple[memoryview, int]:
    """The signature as little-endian bytes, and the width of one band in them."""
    if not 0 < bands <= 256 or signature.size % bands:
        raise ValueError(f"{signature.size} hashes cannot be cut into {bands} equal bands (<= 256)")
    raw = memoryview(signature.astype("<u8", copy=False).tobytes())
    return raw, len(raw) // bands


@functools.lru_cache(maxsize=1 << 16)  # ~10 MiB; words are Zipf-distributed: most lookups hit
def _word_hash(word: str) -> int:
    return xxhash.xxh3_64_intdigest(word.encode())


def _is_empty(signature: Signature) -> bool:
    return bool((signature == EMPTY_VALUE).all())


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
# The app stores, per text item, ``bands`` 64-bit band hashes (``band_hashes``), computed for a
# whole batch in NumPy rather than one XXH3 call per band and row; validation keeps a dataset's
# hashes in a ``BandIndex`` in memory and asks it about every batch.

BAND_SCHEME = "minhash-w2-xxh3-128-fmix-b16-v3"  # bump when band_hashes or the bands change
_BAND_SEED = 0xB4D5_EED0_1234_5678  # fixes band_hashes: never change (see BAND_SCHEME)


def band_hashes(signatures: NDArray[np.uint64], bands: int) -> NDArray[np.int64]:
    """One 64-bit key per band of each signature (``n x bands``, as signed integers for a
    ``bigint[]`` column): the band's rows folded in order through murmur3's finaliser, seeded
    with the band number, so equal rows in different bands hash apart. Rows of texts without
    words (``EMPTY_VALUE`` everywhere) get keys too: callers skip them (``has_words``)."""
    count, num_perm = signatures.shape
    if not 0 < bands <= 256 or num_perm % bands:
        raise ValueError(f"{num_perm} hashes cannot be cut into {bands} equal bands (<= 256)")
    rows = signatures.reshape(count, bands, num_perm // bands)
    seeds = _fmix(np.arange(bands, dtype=np.uint64) + np.uint64(_BAND_SEED))
    folded = np.broadcast_to(seeds, (count, bands)).copy()
    with np.errstate(over="ignore"):
        for position in range(rows.shape[2]):
            folded = _fmix(folded * _SHINGLE_MULTIPLIER + rows[:, :, position])
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

    def __init__(self) -> None:
        self._runs: list[tuple[NDArray[np.int64], NDArray[np.int64]]] = []

    def __len__(self) -> int:
        return sum(keys.size for keys, _ in self._runs)

    def add(self, keys: NDArray[np.int64], ids: NDArray[np.int64]) -> None:
        """Index every key of row ``i`` of ``keys`` (``n x bands``) under ``ids[i]``."""
        if keys.size == 0:
            return
        flat_ids = np.repeat(ids.astype(np.int64), keys.shape[1])
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
        # Sorted queries walk each run forwards: far fewer cache misses than random probes.
        order = np.argsort(keys.ravel())
        flat = keys.ravel()[order]
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
