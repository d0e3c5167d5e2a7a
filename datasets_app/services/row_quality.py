"""Row checks beyond types, run by validation on each batch: text sanity and language, personal
data (rejected or flagged per the dataset's policy), image size, and near-duplicates of text
rows against the whole dataset (MinHash LSH, band keys stored in ``ItemBand``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from datasets_app.models import Dataset, Item
from datasets_app.quality import near_duplicates, pii, text
from datasets_app.quality.images import image_problems

PII_FLAG_PENALTY = 0.3  # a flagged row is worth less to reward and to buyers
# 16 bands of 8 rows: a pair at 0.8 similarity shares a band with probability 0.95, at 0.9 with
# 0.9998; half the stored keys of 32 bands of 4, which is what ingest speed pays for.
BANDS = 16


@dataclass
class Verdict:
    """What the checks made of one row: problems reject it; flags and score travel with it."""

    problems: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    score: float = 1.0
    signature: Any = None  # MinHash signature of its text, when it has text
    band_keys: list[bytes] = field(default_factory=list)


def _texts(dataset: Dataset, data: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (c["name"], data[c["name"]])
        for c in dataset.columns
        if c["dtype"] == "string" and isinstance(data.get(c["name"]), str)
    ]


def _joined_text(dataset: Dataset, data: dict[str, Any]) -> str:
    return "\n".join(value for _, value in _texts(dataset, data))


def check_rows(dataset: Dataset, rows: Sequence[Any]) -> list[Verdict]:
    """One verdict per row (``rows`` carry ``.data``), in order."""
    verdicts = [Verdict() for _ in rows]
    for row, verdict in zip(rows, verdicts, strict=True):
        for name, value in _texts(dataset, row.data):
            verdict.problems += [
                f"column '{name}' {p}"
                for p in text.check_text(value, language=dataset.language or None)
            ]
            kinds = sorted({str(hit.kind) for hit in pii.find_pii(value)})
            if kinds and dataset.pii_policy == "reject":
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
    _near_duplicates(dataset, rows, verdicts)
    return verdicts


def _near_duplicates(dataset: Dataset, rows: Sequence[Any], verdicts: list[Verdict]) -> None:
    """Mark text rows that nearly repeat a row already in the dataset or earlier in the batch."""
    candidates = [i for i, v in enumerate(verdicts) if not v.problems]
    texts = [_joined_text(dataset, rows[i].data) for i in candidates]
    if not any(texts):
        return
    signatures = near_duplicates.minhash_signatures(texts)
    keys = near_duplicates.band_keys_many(signatures, bands=BANDS)
    threshold = dataset.near_duplicate_threshold
    # Earlier rows of this dataset that share a band with any row of the batch.
    all_keys = {key for row_keys in keys for key in row_keys}
    stored: dict[int, Any] = {}
    stored_hashes: set[str] = set()
    if all_keys:
        item_ids = _items_sharing_a_band(dataset, all_keys)
        if item_ids:
            found = list(
                Item.objects.filter(pk__in=item_ids).values_list("pk", "data", "content_hash")
            )
            found_signatures = near_duplicates.minhash_signatures(
                [_joined_text(dataset, data) for _, data, _ in found]
            )
            stored = dict(zip((pk for pk, _, _ in found), found_signatures, strict=True))
            stored_hashes = {content_hash for _, _, content_hash in found}
    band_members: dict[bytes, list[int]] = {}
    for item_id in stored:
        for key in near_duplicates.band_keys(stored[item_id], bands=BANDS):
            band_members.setdefault(key, []).append(item_id)
    batch_index = near_duplicates.NearDuplicateIndex[int](bands=BANDS)
    for position, index in enumerate(candidates):
        signature, row_keys = signatures[position], keys[position]
        verdict = verdicts[index]
        verdict.signature, verdict.band_keys = signature, row_keys
        if not row_keys or rows[index].content_hash in stored_hashes:
            continue  # no text; or an exact duplicate, which the unique index names as such
        existing = {i for key in row_keys for i in band_members.get(key, [])}
        best = max(
            (near_duplicates.estimated_jaccard(signature, stored[i]) for i in existing),
            default=0.0,
        )
        if best >= threshold:
            verdict.problems.append(
                f"near-duplicate of a row already in the dataset ({best:.0%} similar)"
            )
            continue
        earlier = batch_index.query(signature, threshold=threshold)
        if earlier:
            verdict.problems.append(
                f"near-duplicate of row {rows[earlier[0][0]].row_number} in this file"
            )
            continue
        batch_index.add(index, signature)


COPY_BANDS = "COPY datasets_app_itemband (dataset_id, item_id, band_key) FROM STDIN"
# A batch asks about ~160,000 band keys at once: they go in by COPY and are joined, which is far
# cheaper than binding them as query parameters.
BAND_STAGE = "CREATE TEMPORARY TABLE IF NOT EXISTS band_stage (band_key bytea) ON COMMIT DROP"
CANDIDATES = """
SELECT DISTINCT b.item_id FROM datasets_app_itemband b
JOIN band_stage s ON s.band_key = b.band_key
WHERE b.dataset_id = %s
"""


def _items_sharing_a_band(dataset: Dataset, keys: set[bytes]) -> set[int]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BAND_STAGE)
        cursor.execute("TRUNCATE band_stage")  # inside a longer transaction it may linger
        with cursor.copy("COPY band_stage (band_key) FROM STDIN") as copy:
            for key in keys:
                copy.write_row((key,))
        cursor.execute("ANALYZE band_stage")
        cursor.execute(CANDIDATES, [dataset.pk])
        return {item_id for (item_id,) in cursor.fetchall()}


def store_bands(dataset: Dataset, item_ids: dict[str, int], rows: Sequence[Any],
                verdicts: Sequence[Verdict]) -> None:  # fmt: skip
    """Record the band keys of newly inserted items (``item_ids``: content hash → item id)."""
    with connection.cursor() as cursor, cursor.copy(COPY_BANDS) as copy:
        for row, verdict in zip(rows, verdicts, strict=True):
            item_id = item_ids.get(row.content_hash)
            if item_id is None:
                continue
            for key in verdict.band_keys:
                copy.write_row((dataset.pk, item_id, key))
