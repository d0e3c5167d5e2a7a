"""Row checks beyond types, run by validation on each batch: text sanity and language, personal
data (rejected or flagged per the dataset's policy), image size, and near-duplicates of text
rows against the whole dataset (MinHash LSH, band keys stored in ``ItemBand``).

Near-duplicates: ``check_rows`` computes each row's shingles and MinHash signature (NumPy, no
database). ``mark_near_duplicates`` then runs inside the batch's transaction, holding the
dataset's band lock until commit: it cuts the signatures into the dataset's band layout (from
its threshold, ``near_duplicates.lsh_layout``), brings the run's in-memory ``DatasetBands`` up to
date with every row committed so far (by this run, another shard of the file, or another
contribution), asks it about the batch, and the batch's own rows about each other; candidates
are near-duplicates when the exact Jaccard of their shingle sets reaches the threshold. The lock
is what makes two concurrent runs see each other: of two near-duplicates written at once, the
one committed second is rejected.

The stored keys (``ItemBand``) are cut with the layout recorded on the dataset
(``near_duplicate_bands`` x ``near_duplicate_rows``). When the threshold changes the layout,
``near_duplicate_bands_rebuild`` recomputes them from the items' text under the band lock: the
dataset update enqueues it, and validation runs it itself when it finds the layout stale first.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection, transaction
from numpy.typing import NDArray

from datasets_app.models import Dataset, Item, ItemBand
from datasets_app.quality import near_duplicates, pii, text
from datasets_app.quality.images import image_problems

PII_FLAG_PENALTY = 0.3  # a flagged row is worth less to reward and to buyers
# pg_advisory_xact_lock(BAND_LOCK, dataset id): held from the near-duplicate lookup of a batch
# to its commit, so ItemBand ids grow in commit order within a dataset.
BAND_LOCK = 0x6E44
REFRESH_PAGE = 50_000  # stored rows read at a time into DatasetBands
REBUILD_PAGE = 20_000  # items re-keyed at a time by near_duplicate_bands_rebuild
# A row just under the near-duplicate threshold is accepted but earns less: its score is scaled
# by (threshold - similarity) / NOVELTY_MARGIN when its closest candidate is within this margin
# below the threshold, so a copy edited just enough to slip under it earns next to nothing.
NOVELTY_MARGIN = 0.15


@dataclass(slots=True)
class Verdict:
    """What the checks made of one row: problems reject it; flags and score travel with it."""

    problems: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    score: float = 1.0
    signature: NDArray[np.uint64] | None = None  # MinHash signature of its text, if it has words
    shingles: NDArray[np.uint64] | None = None  # its text's shingle hashes, with the signature
    band_keys: NDArray[np.int64] | None = None  # set by mark_near_duplicates: the dataset's layout
    similarity: float = 0.0  # set by mark_near_duplicates: the closest earlier row's Jaccard


def _texts(columns: list[dict[str, str]], data: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (c["name"], data[c["name"]])
        for c in columns
        if c["dtype"] == "string" and isinstance(data.get(c["name"]), str)
    ]


def _joined_text(columns: list[dict[str, str]], data: dict[str, Any]) -> str:
    return "\n".join(value for _, value in _texts(columns, data))


def check_rows(dataset: Dataset, rows: Sequence[Any]) -> list[Verdict]:
    """One verdict per row (``rows`` carry ``.data``), in order; near-duplicates are left to
    ``mark_near_duplicates``, which needs the database."""
    verdicts = [Verdict() for _ in rows]
    language = dataset.language or None
    reject_pii = dataset.pii_policy == "reject"
    for row, verdict in zip(rows, verdicts, strict=True):
        for name, value in _texts(dataset.columns, row.data):
            verdict.problems += [
                f"column '{name}' {p}" for p in text.check_text(value, language=language)
            ]
            kinds = sorted({str(hit.kind) for hit in pii.find_pii(value)})
            if kinds and reject_pii:
                verdict.problems += [f"column '{name}' contains personal data ({k})" for k in kinds]
            elif kinds:
                verdict.flags += [f"pii:{k}" for k in kinds if f"pii:{k}" not in verdict.flags]
        for name, value in row.data.items():
            if isinstance(value, dict) and "width" in value and "height" in value:
                verdict.problems += [
                    f"image '{name}' {p}" for p in image_problems(value["width"], value["height"])
                ]
        if verdict.flags:
            verdict.score = round(1.0 - PII_FLAG_PENALTY, 3)
    _sign(dataset, rows, verdicts)
    return verdicts


def _sign(dataset: Dataset, rows: Sequence[Any], verdicts: list[Verdict]) -> None:
    """Shingles and signatures of the rows that passed so far and have words."""
    candidates = [i for i, v in enumerate(verdicts) if not v.problems]
    texts = [_joined_text(dataset.columns, rows[i].data) for i in candidates]
    if not any(texts):
        return
    shingles, sizes = near_duplicates.batch_shingles(texts)
    signatures = near_duplicates.signatures_of_shingles(shingles, sizes)
    ends = np.cumsum(sizes).tolist()
    for position in np.flatnonzero(near_duplicates.has_words(signatures)).tolist():
        verdict = verdicts[candidates[position]]
        verdict.signature = signatures[position]
        verdict.shingles = shingles[ends[position] - int(sizes[position]) : ends[position]]


Layout = tuple[int, int]  # (bands, rows): near_duplicates.lsh_layout


class DatasetBands:
    """The stored band keys of one dataset, in memory for one validation run (16 bytes per key),
    read once and then only the rows committed since; read again from the start when the
    dataset's layout changed under it (``reset``)."""

    def __init__(self, dataset_id: int) -> None:
        self.dataset_id = dataset_id
        self.layout: Layout | None = None
        self.index = near_duplicates.BandIndex()
        self.last_id = 0
        # The run's own rows of the open transaction: added once it commits (``committed``),
        # so they are never read back from the database.
        self._pending: tuple[NDArray[np.int64], NDArray[np.int64], int] | None = None

    def reset(self, layout: Layout) -> None:
        self.layout = layout
        self.index = near_duplicates.BandIndex()
        self.last_id = 0
        self._pending = None

    def committed(self) -> None:
        """Call after the batch's transaction commits."""
        if self._pending is not None:
            keys, ids, last_id = self._pending
            self.index.add(keys, ids)
            self.last_id = last_id
            self._pending = None

    def refresh(self) -> None:
        if self.layout is None:
            raise RuntimeError("DatasetBands.reset(layout) first: the keys' width is unknown")
        bands = self.layout[0]
        with connection.cursor() as cursor:
            # In pages by id (the client would hold a whole result at once), each parsed by
            # NumPy in one pass from array_send, the arrays' binary form: a Python list per row
            # would cost more than the rest of a shard's start-up.
            while True:
                cursor.execute(
                    "SELECT id, item_id, array_send(band_keys) FROM datasets_app_itemband "
                    "WHERE dataset_id = %s AND id > %s ORDER BY id LIMIT %s",
                    [self.dataset_id, self.last_id, REFRESH_PAGE],
                )
                page = cursor.fetchall()
                if not page:
                    return
                ids = np.fromiter((item_id for _, item_id, _ in page), np.int64, len(page))
                self.index.add(_keys_from_binary([bytes(raw) for _, _, raw in page], bands), ids)
                self.last_id = page[-1][0]


# PostgreSQL's binary form of a one-dimensional bigint[] without NULLs (array_send): ndim,
# has-nulls flag, element type oid (20 = int8), length, lower bound; then each element as its
# byte length (8) and its big-endian value.
_ARRAY_HEADER = np.dtype([("ndim", ">i4"), ("nulls", ">i4"), ("oid", ">i4"), ("length", ">i4"),
                          ("lower", ">i4")])  # fmt: skip


_ARRAY_ELEMENT = np.dtype([("size", ">i4"), ("key", ">i8")])


def _keys_dtype(bands: int) -> np.dtype[Any]:
    """One bigint[] of ``bands`` keys in its binary form (array_send, and binary COPY's field)."""
    return np.dtype([("header", _ARRAY_HEADER), ("keys", _ARRAY_ELEMENT, (bands,))])


def _keys_from_binary(arrays: list[bytes], bands: int) -> NDArray[np.int64]:
    """``len(arrays) x bands`` keys from ``array_send`` outputs of ``bands`` bigints each."""
    row = _keys_dtype(bands)
    joined = b"".join(arrays)
    if len(joined) != row.itemsize * len(arrays):
        raise ValueError(f"stored band keys are not {bands} bigints each: rebuild them")
    parsed = np.frombuffer(joined, dtype=row)
    header = parsed["header"]
    if not (
        (header["ndim"] == 1).all()
        and (header["nulls"] == 0).all()
        and (header["oid"] == 20).all()
        and (header["length"] == bands).all()
    ):
        raise ValueError(f"stored band keys are not {bands} bigints each: rebuild them")
    keys: NDArray[np.int64] = parsed["keys"]["key"].astype(np.int64).reshape(len(arrays), bands)
    return keys


def _band_lock(dataset_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [BAND_LOCK, dataset_id])


def near_duplicate_bands_rebuild(*, dataset_id: int, skip_item_ids: Collection[int] = ()) -> bool:
    """Re-key a dataset's stored band keys to the layout of its current threshold, from its
    items' text, under the band lock; record the layout. True when it rebuilt, False when the
    stored layout was already right (so running it twice, or after validation did it, is a
    no-op). Called by the dataset update's task and by validation, whichever comes first;
    validation passes the items of its open batch as ``skip_item_ids``: they are not checked
    yet, and it stores their keys itself."""
    with transaction.atomic():
        _band_lock(dataset_id)
        found = (
            Dataset.objects.filter(pk=dataset_id)
            .values_list(
                "near_duplicate_threshold", "near_duplicate_bands", "near_duplicate_rows", "columns"
            )
            .first()
        )
        if found is None:
            return False
        threshold, bands, rows, columns = found
        layout = near_duplicates.lsh_layout(threshold)
        if (bands, rows) == layout:
            return False
        ItemBand.objects.filter(dataset_id=dataset_id).delete()
        if any(column["dtype"] == "string" for column in columns):
            last = 0
            while page := list(
                Item.objects.filter(dataset_id=dataset_id, pk__gt=last)
                .exclude(pk__in=list(skip_item_ids))
                .order_by("pk")
                .values_list("pk", "data")[:REBUILD_PAGE]
            ):
                last = page[-1][0]
                signatures = near_duplicates.minhash_signatures(
                    [_joined_text(columns, data) for _, data in page]
                )
                keys = near_duplicates.band_hashes(signatures, *layout)
                worded = np.flatnonzero(near_duplicates.has_words(signatures))
                ids = np.fromiter((pk for pk, _ in page), np.int64, len(page))
                _copy_bands(dataset_id, ids[worded], keys[worded])
        Dataset.objects.filter(pk=dataset_id).update(
            near_duplicate_bands=layout[0], near_duplicate_rows=layout[1]
        )
    return True


def _current_layout(
    dataset: Dataset, bands: DatasetBands, batch_item_ids: Collection[int]
) -> tuple[float, Layout]:
    """Under the band lock: make the stored keys match the dataset's threshold (rebuilding them
    if a threshold change has not been applied yet) and ``bands`` match the stored keys; the
    threshold to judge by, as of now (it may have changed since the run began)."""
    threshold, stored_bands, stored_rows = Dataset.objects.filter(pk=dataset.pk).values_list(
        "near_duplicate_threshold", "near_duplicate_bands", "near_duplicate_rows"
    )[0]
    layout = near_duplicates.lsh_layout(threshold)
    rebuilt = (stored_bands, stored_rows) != layout and near_duplicate_bands_rebuild(
        dataset_id=dataset.pk, skip_item_ids=batch_item_ids
    )
    if rebuilt or bands.layout != layout:
        bands.reset(layout)
    return float(threshold), layout


def mark_near_duplicates(
    dataset: Dataset,
    contribution_id: int,
    rows: Sequence[Any],
    verdicts: list[Verdict],
    bands: DatasetBands,
    batch_item_ids: Collection[int],
) -> list[int]:
    """Reject text rows whose shingle set's exact Jaccard similarity with a row already in the
    dataset, or earlier in the batch, reaches the dataset's threshold, and score down the rows
    just under it (``novelty_scaled``). Returns the indices of the rows scored down, whose
    stored items still carry the score they were inserted with. Call inside the batch's
    transaction, after its items (``batch_item_ids``) are inserted and before their band keys
    are stored: this takes the dataset's band lock, which the transaction then holds until it
    commits."""
    positions = [i for i, v in enumerate(verdicts) if not v.problems and v.signature is not None]
    bands._pending = None  # a batch whose transaction rolled back left nothing
    scored_down: list[int] = []
    if not positions:
        return scored_down
    _band_lock(dataset.pk)
    threshold, layout = _current_layout(dataset, bands, batch_item_ids)
    bands.refresh()
    keys = near_duplicates.band_hashes(
        np.stack([verdicts[i].signature for i in positions]),  # type: ignore[misc]
        *layout,
    )
    for position, index in enumerate(positions):
        verdicts[index].band_keys = keys[position]
    shingles: list[NDArray[np.uint64]] = [verdicts[i].shingles for i in positions]  # type: ignore[misc]
    found = bands.index.candidates(keys)
    stored = _stored(dataset, {item_id for ids in found.values() for item_id in ids})
    earlier_in_batch = near_duplicates.pairs_sharing_a_band(keys)
    kept: set[int] = set()
    for position, index in enumerate(positions):
        if position not in found and position not in earlier_in_batch:
            kept.add(position)  # no candidate (nearly every row): nothing similar, score kept
            continue
        row, verdict, mine = rows[index], verdicts[index], shingles[position]
        matches = [stored[item_id] for item_id in found.get(position, ()) if item_id in stored]
        if any(match.content_hash == row.content_hash for match in matches):
            continue  # an exact duplicate, which the unique index names as such
        stored_best, twin = max(
            ((near_duplicates.exact_jaccard(mine, m.shingles), m) for m in matches),
            default=(0.0, None),
            key=lambda pair: pair[0],
        )
        if twin is not None and stored_best >= threshold:
            verdict.problems.append(
                f"near-duplicate of row {twin.row_number} in this file"
                if twin.contribution_id == contribution_id
                else f"near-duplicate of a row already in the dataset ({stored_best:.0%} similar)"
            )
            continue
        similar = [
            (near_duplicates.exact_jaccard(mine, shingles[other]), other)
            for other in earlier_in_batch.get(position, ())
            if other in kept
        ]
        batch_best, other = max(similar, default=(0.0, -1), key=lambda pair: (pair[0], -pair[1]))
        if other >= 0 and batch_best >= threshold:
            verdict.problems.append(
                f"near-duplicate of row {rows[positions[other]].row_number} in this file"
            )
            continue
        kept.add(position)
        verdict.similarity = max(stored_best, batch_best)
        scaled = novelty_scaled(verdict.score, verdict.similarity, threshold)
        if scaled != verdict.score:
            verdict.score = scaled
            scored_down.append(index)
    return scored_down


def novelty_scaled(score: float, similarity: float, threshold: float) -> float:
    """``score`` scaled down for a row whose closest earlier row is within ``NOVELTY_MARGIN``
    below the threshold: linearly from the full score at ``threshold - NOVELTY_MARGIN`` to 0 at
    the threshold (rounded to the thousandth, as row scores are)."""
    shortfall = threshold - similarity
    if similarity <= 0.0 or shortfall >= NOVELTY_MARGIN:
        return score
    return round(score * max(0.0, shortfall) / NOVELTY_MARGIN, 3)


@dataclass
class _StoredRow:
    content_hash: str
    contribution_id: int
    row_number: int
    shingles: NDArray[np.uint64]


def _stored(dataset: Dataset, item_ids: set[int]) -> dict[int, _StoredRow]:
    """The candidates' shingles, from their text (there are few: most rows have none)."""
    if not item_ids:
        return {}
    found = list(
        Item.objects.filter(pk__in=item_ids).values_list(
            "pk", "data", "content_hash", "contribution_id", "row_number"
        )
    )
    shingles, sizes = near_duplicates.batch_shingles(
        [_joined_text(dataset.columns, data) for _, data, _, _, _ in found]
    )
    ends = np.cumsum(sizes).tolist()
    return {
        pk: _StoredRow(content_hash, contribution_id, row_number, shingles[end - int(size) : end])
        for (pk, _, content_hash, contribution_id, row_number), size, end in zip(
            found, sizes, ends, strict=True
        )
    }


COPY_BANDS = (
    "COPY datasets_app_itemband (dataset_id, item_id, band_keys) FROM STDIN (FORMAT BINARY)"
)
# Binary COPY: a signature, flags and header-extension length; each row as its field count and
# each field's byte length and value; -1 as the field count at the end.
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_TRAILER = b"\xff\xff"


def _copy_bands(dataset_id: int, item_ids: NDArray[np.int64], keys: NDArray[np.int64]) -> None:
    """Write the band keys of items ``item_ids`` (row ``i`` of ``keys``, ``n x bands``) with one
    binary COPY, laid out by NumPy in one pass: no text to format here or to parse in
    PostgreSQL (a third of the batch's band-storing time was the bigint[] literals)."""
    if not item_ids.size:
        return
    count, bands = keys.shape
    row = np.zeros(
        count,
        dtype=[("fields", ">i2"), ("dataset_size", ">i4"), ("dataset", ">i8"),
               ("item_size", ">i4"), ("item", ">i8"), ("keys_size", ">i4"),
               ("keys", _keys_dtype(bands))],
    )  # fmt: skip
    row["fields"] = 3
    row["dataset_size"] = row["item_size"] = 8
    row["dataset"] = dataset_id
    row["item"] = item_ids
    row["keys_size"] = _keys_dtype(bands).itemsize
    header = row["keys"]["header"]
    header["ndim"], header["nulls"], header["oid"] = 1, 0, 20
    header["length"], header["lower"] = bands, 1
    row["keys"]["keys"]["size"] = 8
    row["keys"]["keys"]["key"] = keys
    with connection.cursor() as cursor, cursor.copy(COPY_BANDS) as copy:
        copy.write(_COPY_SIGNATURE + row.tobytes() + _COPY_TRAILER)


def store_bands(
    dataset: Dataset,
    item_ids: dict[str, int],
    rows: Sequence[Any],
    verdicts: Sequence[Verdict],
    bands: DatasetBands,
) -> None:
    """Record the band keys of newly inserted items (``item_ids``: content hash -> item id), in
    the transaction that holds the band lock (``mark_near_duplicates``)."""
    stored = [
        (item_ids[row.content_hash], verdict.band_keys)
        for row, verdict in zip(rows, verdicts, strict=True)
        if verdict.band_keys is not None and row.content_hash in item_ids
    ]
    if not stored:
        return
    ids = np.array([item_id for item_id, _ in stored], dtype=np.int64)
    keys = np.stack([keys for _, keys in stored])
    _copy_bands(dataset.pk, ids, keys)
    with connection.cursor() as cursor:
        # Under the band lock nobody else writes this dataset's keys, and everything committed
        # before was read by the refresh: the newest id is ours, and the index is whole up to it.
        cursor.execute(
            "SELECT max(id) FROM datasets_app_itemband WHERE dataset_id = %s", [dataset.pk]
        )
        (last_id,) = cursor.fetchone()
    bands._pending = (keys, ids, int(last_id))
