"""Validation's batches into items: each batch checked (duplicates, row quality), its rows put in
through COPY and one INSERT … ON CONFLICT DO NOTHING, near-duplicates marked and the counts added
to the contribution, all in one transaction and only while the run's claim still holds."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from datasets_app.integrations.readers.base import Batch
from datasets_app.integrations.thumbnails import make_thumbnail
from datasets_app.models import Contribution, Dataset, Item
from datasets_app.quality.images import perceptual_hash
from datasets_app.services.image_duplicates import mark_near_duplicate_images
from datasets_app.services.row_quality import (
    DatasetBands,
    Verdict,
    check_rows,
    mark_near_duplicates,
    store_bands,
)
from datasets_app.services.validation_report import Report

if TYPE_CHECKING:
    from datasets_app.services.validation_shards import Shard


class ClaimLost(Exception):
    """Another run took the contribution over; this one stops without touching it."""


def items_delete(items: Any) -> int:
    """Delete ``items`` and return how many *items* went (``delete()`` also counts the band
    keys, labels and reservations that cascade with them)."""
    _, per_model = items.delete()
    return int(per_model.get(Item._meta.label, 0))


def items_discard(items: Any, *, dataset_id: int) -> int:
    """Delete ``items`` (of one dataset) and take them off its ``items_count``."""
    deleted = items_delete(items)
    if deleted:
        Dataset.objects.filter(pk=dataset_id).update(items_count=F("items_count") - deleted)
    return deleted


def claimed_row(
    contribution_id: int, claim: uuid.UUID, *, no_key: bool = False
) -> Contribution | None:
    """The contribution row, locked, while ``claim`` still holds it; None once it does not."""
    return (
        Contribution.objects.select_for_update(no_key=no_key)
        .filter(pk=contribution_id, validation_claim=claim)
        .first()
    )


def _rescore(scores: Mapping[int, float]) -> None:
    """Store the scores ``mark_near_duplicates`` lowered on items inserted with their first."""
    if scores:
        Item.objects.bulk_update(
            [Item(pk=pk, quality_score=score) for pk, score in scores.items()], ["quality_score"]
        )


def _store_image(dataset: Dataset, data: dict[str, Any], image_dir: Path) -> None:
    """Move an image the reader extracted (named by its SHA-256) into storage, with a thumbnail;
    the item keeps the storage names and the name the image had in the ZIP."""
    for value in data.values():
        if not (isinstance(value, dict) and value.get("stored_path")):
            continue
        source = image_dir / value.pop("stored_path")
        value["phash"] = perceptual_hash(source)  # for near-duplicate images
        name = f"items/{dataset.pk}/{source.name}"
        thumb = f"items/{dataset.pk}/thumbs/{value['sha256']}.webp"
        if not default_storage.exists(name):
            with open(source, "rb") as image:
                default_storage.save(name, image)
        if not default_storage.exists(thumb):
            default_storage.save(thumb, ContentFile(make_thumbnail(source)))
        value["file_name"], value["path"], value["thumbnail"] = value["path"], name, thumb


# Rows go in through COPY into a temporary table, then one INSERT … ON CONFLICT DO NOTHING:
# COPY is far cheaper than binding thousands of parameters, and the unique (dataset_id,
# content_hash) index decides what is new, atomically, even against a concurrent contribution.
STAGE_TABLE = """
CREATE TEMPORARY TABLE IF NOT EXISTS ingest_stage (
    row_number integer, data jsonb, content_hash varchar(64), quality_score double precision,
    flags jsonb
) ON COMMIT DELETE ROWS
"""
BACKSLASH, ESCAPED = "\\", "\\\\"
COPY_STAGE = "COPY ingest_stage (row_number, data, content_hash, quality_score, flags) FROM STDIN"
INSERT_ITEMS = """
INSERT INTO datasets_app_item
    (dataset_id, contribution_id, row_number, data, content_hash, is_gold, is_hidden,
     labels_count, slots_open, quality_score, flags, created_at)
SELECT %s, %s, s.row_number, s.data, s.content_hash, false, false, 0, %s, s.quality_score,
       s.flags, now()
FROM ingest_stage s
ORDER BY s.row_number
ON CONFLICT (dataset_id, content_hash) DO NOTHING
RETURNING content_hash, id
"""


def _flags_json(flags: list[str]) -> str:
    """A row's flags as COPY text (nearly every row has none)."""
    return json.dumps(flags).replace(BACKSLASH, ESCAPED) if flags else "[]"


def _insert_items(
    contribution: Contribution, rows: list[Any], verdicts: list[Verdict]
) -> dict[str, int]:
    """Insert ``rows`` as items; returns content hash → id of those new to the dataset."""
    with connection.cursor() as cursor:
        cursor.execute(STAGE_TABLE)
        cursor.execute("TRUNCATE ingest_stage")  # inside an outer transaction it may linger
        with cursor.copy(COPY_STAGE) as copy:
            # One block of COPY text. json.dumps escapes every control character (ASCII out),
            # so the only character COPY needs escaped is the backslash.
            copy.write(
                "".join(
                    f"{row.row_number}\t{json.dumps(row.data).replace(BACKSLASH, ESCAPED)}\t"
                    f"{row.content_hash}\t{verdict.score!r}\t"
                    f"{_flags_json(verdict.flags)}\n"
                    for row, verdict in zip(rows, verdicts, strict=True)
                )
            )
        cursor.execute(
            INSERT_ITEMS,
            [contribution.dataset_id, contribution.pk, contribution.dataset.labels_per_item],
        )
        return dict(cursor.fetchall())


def ingest(
    contribution: Contribution,
    claim: uuid.UUID,
    batch: Batch,
    report: Report,
    image_dir: Path,
    bands: DatasetBands,
    shard: Shard | None = None,
) -> None:
    """One batch in one transaction. Memory stays bounded by the batch: duplicates within it
    are caught here, duplicates of earlier batches, other shards or other contributions by the
    unique index."""
    dataset = contribution.dataset
    seen: set[str] = set()
    unique: list[Any] = []
    for row in batch.rows:
        if row.errors or row.data is None or row.content_hash is None:
            report.reject(row, row.errors or ["unreadable row"])
        elif row.content_hash in seen:
            report.reject(row, ["duplicate of an earlier row in this file"])
        else:
            seen.add(row.content_hash)
            unique.append(row)
    checked: list[Any] = []
    verdicts: list[Verdict] = []
    for row, verdict in zip(unique, check_rows(dataset, unique), strict=True):
        if verdict.problems:
            report.reject(row, verdict.problems)
        else:
            checked.append(row)
            verdicts.append(verdict)

    # Lock order, the same in every run and shard: the items' unique index (another shard's
    # uncommitted copy of a row is waited for), the dataset's band lock, then the contribution
    # row, FOR NO KEY UPDATE so the item inserts' foreign-key checks (KEY SHARE) never wait for
    # it. Only the band lock and the last steps serialize concurrent shards.
    with transaction.atomic():
        with connection.cursor() as cursor:
            # A crash may lose the last batches' commits, never half of one: the contribution's
            # progress rides in the same transaction, and a stale run is redone from the start.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            # Foreign keys checked as rows go in, not at commit while holding the band lock.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for row in checked:
            _store_image(dataset, row.data, image_dir)
        inserted = _insert_items(contribution, checked, verdicts) if checked else {}
        refused = [row for row in checked if row.content_hash not in inserted]
        if refused:
            owners = dict(
                Item.objects.filter(
                    dataset=dataset, content_hash__in=[r.content_hash for r in refused]
                ).values_list("content_hash", "contribution_id")
            )
            for row in refused:
                same_file = owners.get(row.content_hash) == contribution.pk
                report.reject(row, [
                    "duplicate of an earlier row in this file" if same_file
                    else "already in the dataset"
                ])  # fmt: skip
        new = [(r, v) for r, v in zip(checked, verdicts, strict=True) if r.content_hash in inserted]
        fresh, verdicts = [r for r, _ in new], [v for _, v in new]
        scored_down = mark_near_duplicates(
            dataset, contribution.pk, fresh, verdicts, bands, inserted.values()
        )
        _rescore({inserted[fresh[i].content_hash]: verdicts[i].score for i in scored_down})
        report.scored_down += len(scored_down)
        mark_near_duplicate_images(dataset, fresh, verdicts, inserted)
        near = [r for r, v in zip(fresh, verdicts, strict=True) if v.problems]
        if near:
            items_delete(Item.objects.filter(pk__in=[inserted.pop(r.content_hash) for r in near]))
            for row, verdict in zip(fresh, verdicts, strict=True):
                if verdict.problems:
                    report.reject(row, verdict.problems)
            kept = [(r, v) for r, v in zip(fresh, verdicts, strict=True) if not v.problems]
            fresh, verdicts = [r for r, _ in kept], [v for _, v in kept]
        store_bands(dataset, inserted, fresh, verdicts, bands)
        report.accept(fresh, verdicts)
        locked = claimed_row(contribution.pk, claim, no_key=True)
        if locked is None or (shard is not None and not shard.holds(locked)):
            raise ClaimLost  # and the batch rolls back
        # The row as locked, not ``contribution``: other shards add to the same counts.
        locked.rows_total += len(batch.rows)
        locked.rows_accepted += len(inserted)
        locked.rows_rejected = locked.rows_total - locked.rows_accepted
        locked.heartbeat_at = timezone.now()
        if shard is None:
            if batch.progress is not None:
                locked.progress = min(99, int(batch.progress * 100))
            locked.report = report.as_json()
        else:
            shard.record(locked, rows=len(batch.rows), accepted=len(inserted), report=report)
        locked.save(
            update_fields=[
                "rows_total",
                "rows_accepted",
                "rows_rejected",
                "progress",
                "heartbeat_at",
                "report",
                "updated_at",
            ]
        )
        contribution.rows_total, contribution.rows_accepted, contribution.rows_rejected = (
            locked.rows_total,
            locked.rows_accepted,
            locked.rows_rejected,
        )
        Dataset.objects.filter(pk=dataset.pk).update(items_count=F("items_count") + len(inserted))
    bands.committed()
