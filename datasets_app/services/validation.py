"""Validation of a contribution: read the file in batches through the HF ``datasets`` readers,
check every row, and insert the accepted rows as items — safe to run twice or at once.

A run first *claims* the contribution (a UUID on the row). Each batch commits on its own, with
the row's progress, and only while the claim still holds; a run that stops beating for
``VALIDATION_STALE_SECONDS`` is taken over: its items are deleted and the file is read again.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import math
import re
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from celery import group
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from datasets_app.enums import ContributionStatus
from datasets_app.integrations.readers import (
    Batch,
    ReaderError,
    RowResult,
    estimated_rows,
    read_rows,
)
from datasets_app.integrations.thumbnails import make_thumbnail
from datasets_app.models import Contribution, Dataset, Item
from datasets_app.quality.images import perceptual_hash
from datasets_app.quality.pii import PiiKind, find_pii, redact
from datasets_app.quality.text import supported_languages
from datasets_app.services.row_quality import (
    DatasetBands,
    Verdict,
    check_rows,
    mark_near_duplicate_images,
    mark_near_duplicates,
    store_bands,
)
from marketplace.core.retries import DATABASE_ERRORS
from marketplace.core.services import audit_log_record

logger = logging.getLogger(__name__)
REPORT_EXAMPLES = 20  # the rejected rows with the lowest row numbers
EXAMPLE_CHARS = 200  # of a rejected row's content shown beside its reasons
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def items_delete(items: Any) -> int:
    """Delete ``items`` and return how many *items* went (``delete()`` also counts the band
    keys, labels and reservations that cascade with them)."""
    _, per_model = items.delete()
    return int(per_model.get(Item._meta.label, 0))


def contribution_results_clear(contribution: Contribution) -> None:
    """Forget a run's results (unsaved): counts, progress, report and score start afresh."""
    contribution.progress = 0
    contribution.rows_total = contribution.rows_accepted = contribution.rows_rejected = 0
    contribution.report = {}
    contribution.quality_score = None


class ClaimLost(Exception):
    """Another run took the contribution over; this one stops without touching it."""


def _run_id(task_id: str | None) -> uuid.UUID:
    """The claim of a run: derived from its task's id when there is one, so the task's own
    retry (Celery keeps the id) recognises the claim it left and takes over at once instead of
    waiting ``VALIDATION_STALE_SECONDS`` for it to look dead."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"celery-task:{task_id}") if task_id else uuid.uuid4()


def _claim(
    contribution_id: int, task_id: str | None = None
) -> tuple[Contribution, uuid.UUID] | None:
    claim = _run_id(task_id)
    stale_before = timezone.now() - timedelta(seconds=settings.VALIDATION_STALE_SECONDS)
    with transaction.atomic():
        contribution = (
            Contribution.objects.select_for_update()
            .select_related("dataset")
            .filter(pk=contribution_id)
            .first()
        )
        if contribution is None:
            return None
        taking_over = contribution.status == ContributionStatus.VALIDATING and (
            contribution.heartbeat_at is None
            or contribution.heartbeat_at < stale_before
            or (task_id is not None and contribution.validation_claim == claim)  # our retry
        )
        if contribution.status != ContributionStatus.UPLOADED and not taking_over:
            return None  # finished, or another run is alive: nothing to do
        if taking_over:
            deleted = items_delete(Item.objects.filter(contribution=contribution))
            Dataset.objects.filter(pk=contribution.dataset_id).update(
                items_count=F("items_count") - deleted
            )
            logger.warning("taking over stale validation of contribution %s", contribution.pk)
        contribution.status = ContributionStatus.VALIDATING
        contribution.validation_claim = claim
        contribution.heartbeat_at = timezone.now()
        contribution_results_clear(contribution)
        contribution.save()
    return contribution, claim


@contextlib.contextmanager
def _local_file(contribution: Contribution) -> Iterator[Path]:
    """A local path to the stored file: the file itself on filesystem storage, else a copy."""
    try:
        yield Path(contribution.file.path)
        return
    except NotImplementedError:
        pass  # remote storage (S3): stream it to a temporary file
    with tempfile.NamedTemporaryFile(suffix=f".{contribution.file_format}") as copy:
        with contribution.file.open("rb") as stored:
            shutil.copyfileobj(stored, copy, length=1024 * 1024)
        copy.flush()
        yield Path(copy.name)


# A row's score is kept to the thousandth (row_quality rounds it so): counting accepted rows per
# thousandth gives an exact histogram, minimum, median and mean in at most 1,001 counters, which
# a shard keeps in its state and the last shard adds up, with no query over the items.
SCORE_BUCKETS = 10
PERSONAL_DATA_SAMPLES = 10  # row numbers kept per kind of personal data
_PERSONAL_DATA = re.compile(
    r"^(?P<where>.*) contains personal data \((?P<kind>"
    + "|".join(re.escape(kind.value) for kind in PiiKind)
    + r")\)$"
)


def score_distribution(scores: Mapping[int, int]) -> dict[str, Any]:
    """Accepted rows per score bucket, with min, median, max and mean, from ``scores``: rows
    per score in thousandths. Buckets are [0, 0.1), [0.1, 0.2), … [0.9, 1.0]."""
    rows = sum(scores.values())
    buckets = [0] * SCORE_BUCKETS
    for milli, count in scores.items():
        buckets[max(0, min(SCORE_BUCKETS - 1, milli * SCORE_BUCKETS // 1000))] += count
    summary: dict[str, float | None] = dict.fromkeys(("min", "median", "max", "mean"))
    if rows:
        values = sorted(scores.items())

        def nth(position: int) -> int:  # the score of the row at 0-based ``position``
            seen = 0
            for milli, count in values:
                seen += count
                if position < seen:
                    return milli
            raise IndexError(position)

        summary = {
            "min": values[0][0] / 1000,
            "median": (nth((rows - 1) // 2) + nth(rows // 2)) / 2000,
            "max": values[-1][0] / 1000,
            "mean": round(sum(milli * count for milli, count in values) / rows / 1000, 4),
        }
    return {
        "rows": rows,
        **summary,
        "buckets": [
            {"low": n / SCORE_BUCKETS, "high": (n + 1) / SCORE_BUCKETS, "rows": count}
            for n, count in enumerate(buckets)
        ],
    }


def _excerpt(content: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a report shows of a rejected row: ``excerpt``, its cells as ``name: value`` cut to
    EXAMPLE_CHARS, and ``redacted`` when personal data in it was replaced by its kind
    (``[EMAIL]``): the report never echoes personal data back, whether or not that is why the
    row was rejected. Redaction runs before any cut, so a cut cannot hide a hit from it."""
    if not content:
        return {}
    parts: list[str] = []
    redacted = False
    for name, value in content.items():
        if isinstance(value, dict):  # an image: its name in the ZIP
            value = value.get("file_name") or value.get("path") or "image"
        text = value if isinstance(value, str) else json.dumps(value)
        text = _CONTROL.sub(" ", text[: EXAMPLE_CHARS * 4]).encode("utf-8", "replace").decode()
        if hits := find_pii(text):
            text, redacted = redact(text, hits), True
        parts.append(f"{name}: {text}")
    excerpt = " · ".join(parts)
    if len(excerpt) > EXAMPLE_CHARS:
        excerpt = excerpt[: EXAMPLE_CHARS - 1].rstrip() + "…"
    return {"excerpt": excerpt, "redacted": redacted}


class _Report:
    def __init__(self) -> None:
        self.reasons: Counter[str] = Counter()
        self.examples: list[dict[str, Any]] = []
        self.score_sum = 0.0  # quality scores of the accepted rows
        self.scores: Counter[int] = Counter()  # accepted rows per score, in thousandths
        self.flagged = 0  # accepted rows carrying flags (personal data under a flag policy)
        self.scored_down = (
            0  # accepted rows scored down for being just under the near-dup threshold
        )
        # "rejected" or "flagged" -> kind of personal data -> rows and their first row numbers
        self.personal_data: dict[str, dict[str, dict[str, Any]]] = {}

    def _personal(self, action: str, kind: str, row_number: int) -> None:
        entry = self.personal_data.setdefault(action, {}).setdefault(
            kind, {"rows": 0, "sample_rows": []}
        )
        entry["rows"] += 1
        if len(entry["sample_rows"]) < PERSONAL_DATA_SAMPLES:
            entry["sample_rows"].append(row_number)

    def reject(self, row: RowResult, errors: list[str]) -> None:
        row_number = row.row_number
        kinds: set[str] = set()
        named: list[str] = []
        for error in errors:
            if found := _PERSONAL_DATA.match(error):
                # The kind stays in the reason, as people name it: "… personal data (IBAN)".
                kinds.add(found["kind"])
                error = f"{found['where']} contains personal data ({PiiKind(found['kind']).label})"
                reason = error
            else:
                # "column 'age' expected int64, got 'abc'" counts under "column 'age' expected
                # int64", "near-duplicate of row 3 in this file" under "… in this file".
                reason = error.split(", got")[0].split(" (")[0]
            if reason.startswith("near-duplicate of row "):
                reason = "near-duplicate of an earlier row in this file"
            self.reasons[reason] += 1
            named.append(error)
        for kind in sorted(kinds):  # a row counts once per kind, in however many columns
            self._personal("rejected", kind, row_number)
        # Keep the first REPORT_EXAMPLES rejected rows by number, whatever order they come in.
        if len(self.examples) < REPORT_EXAMPLES or row_number < self.examples[-1]["row"]:
            example = {"row": row_number, "errors": named, **_excerpt(row.data or row.raw)}
            bisect.insort(self.examples, example, key=lambda e: e["row"])
            del self.examples[REPORT_EXAMPLES:]

    def accept(self, rows: list[Any], verdicts: list[Verdict]) -> None:
        """Count the rows that became items (``verdicts`` in the same order)."""
        self.score_sum += sum(v.score for v in verdicts)
        self.scores.update(round(v.score * 1000) for v in verdicts)
        for row, verdict in zip(rows, verdicts, strict=True):
            if verdict.flags:
                self.flagged += 1
                for flag in verdict.flags:
                    if flag.startswith("pii:"):
                        self._personal("flagged", flag.removeprefix("pii:"), row.row_number)

    def _personal_data_json(self, actions: tuple[str, ...]) -> list[dict[str, Any]]:
        return [
            {
                "kind": kind,
                "name": PiiKind(kind).label,
                "action": action,
                "rows": entry["rows"],
                "sample_rows": entry["sample_rows"],
            }
            for action in actions
            for kind, entry in sorted(
                self.personal_data.get(action, {}).items(),
                key=lambda item: (-item[1]["rows"], item[0]),
            )
        ]

    def as_json(self, **extra: Any) -> dict[str, Any]:
        kept = "error" not in extra  # a report with an error kept none of the file's rows
        return {
            "reasons": dict(self.reasons.most_common(50)),
            "examples": self.examples,
            "flagged": self.flagged if kept else 0,
            "scored_down": self.scored_down if kept else 0,
            "personal_data": self._personal_data_json(
                ("rejected", "flagged") if kept else ("rejected",)
            ),
            "score_distribution": score_distribution(self.scores if kept else {}),
            **extra,
        }

    def as_state(self) -> dict[str, Any]:
        """What a shard keeps on the contribution until the last shard merges them all."""
        return {
            "reasons": dict(self.reasons),
            "examples": self.examples,
            "flagged": self.flagged,
            "scored_down": self.scored_down,
            "score_sum": self.score_sum,
            "scores": {str(milli): count for milli, count in self.scores.items()},
            "personal_data": self.personal_data,
        }

    @classmethod
    def merged(cls, states: list[dict[str, Any]]) -> _Report:
        report = cls()
        for state in states:
            report.reasons.update(state["reasons"])
            report.examples += state["examples"]
            report.flagged += state["flagged"]
            report.scored_down += state.get("scored_down", 0)
            report.score_sum += state["score_sum"]
            report.scores.update({int(milli): n for milli, n in state.get("scores", {}).items()})
            for action, kinds in state.get("personal_data", {}).items():
                for kind, entry in kinds.items():
                    merged = report.personal_data.setdefault(action, {}).setdefault(
                        kind, {"rows": 0, "sample_rows": []}
                    )
                    merged["rows"] += entry["rows"]
                    merged["sample_rows"] = sorted(merged["sample_rows"] + entry["sample_rows"])[
                        :PERSONAL_DATA_SAMPLES
                    ]
        report.examples = sorted(report.examples, key=lambda e: e["row"])[:REPORT_EXAMPLES]
        return report


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


def _ingest(
    contribution: Contribution,
    claim: uuid.UUID,
    batch: Batch,
    report: _Report,
    image_dir: Path,
    bands: DatasetBands,
    shard: _Shard | None = None,
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
        locked = (
            Contribution.objects.select_for_update(no_key=True)
            .filter(pk=contribution.pk, validation_claim=claim)
            .first()
        )
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


def _discard_items(contribution: Contribution) -> None:
    """A file that fails part-way leaves nothing behind: drop the items its earlier batches
    committed (run inside the finishing transaction)."""
    deleted = items_delete(Item.objects.filter(contribution=contribution))
    if deleted:
        Dataset.objects.filter(pk=contribution.dataset_id).update(
            items_count=F("items_count") - deleted
        )
    contribution.rows_accepted = 0
    contribution.rows_rejected = contribution.rows_total


def _finish(
    contribution: Contribution,
    claim: uuid.UUID,
    *,
    status: str,
    report: dict[str, Any],
    discard: bool = False,
) -> None:
    with transaction.atomic():
        locked = (
            Contribution.objects.select_for_update()
            .filter(pk=contribution.pk, validation_claim=claim)
            .first()
        )
        if locked is None:
            return
        if discard:
            _discard_items(locked)
        locked.status = status
        locked.progress = 100
        locked.report = report
        locked.validated_at = timezone.now()
        locked.validation_claim = None
        locked.save()
        audit_log_record(
            action=f"contribution.{status}",
            target=locked,
            data={"accepted": locked.rows_accepted, "rejected": locked.rows_rejected},
        )


def _outcome(contribution: Contribution) -> str:
    if contribution.rows_accepted == 0:
        return ContributionStatus.REJECTED
    if contribution.rows_rejected == 0:
        return ContributionStatus.ACCEPTED
    return ContributionStatus.PARTIALLY_ACCEPTED


def contribution_validate(*, contribution_id: int, task_id: str | None = None) -> str | None:
    """Validate one contribution; returns its final status, or None if there was nothing to do
    (already finished, or another live run holds it). ``task_id``: the Celery task's id, kept
    by its retries. A database error is raised as it is, leaving the claim for the retry to take
    over (its committed batches are deleted and the file read again); any other error fails
    the contribution."""
    claimed = _claim(contribution_id, task_id)
    if claimed is None:
        return None
    contribution, claim = claimed
    estimate, plan = _shard_plan(contribution)
    if plan:
        _shards_start(contribution, claim, estimate, plan)
        return None  # the shards finish it
    dataset = contribution.dataset
    report = _Report()
    bands = DatasetBands(dataset.pk)
    try:
        with _local_file(contribution) as path, tempfile.TemporaryDirectory() as images:
            for batch in read_rows(
                path,
                file_format=contribution.file_format,
                columns=dataset.columns,
                batch_size=settings.VALIDATION_BATCH_ROWS,
                image_dir=Path(images),
            ):
                _ingest(contribution, claim, batch, report, Path(images), bands)
    except ClaimLost:
        logger.info("validation of contribution %s was taken over", contribution.pk)
        return None
    except DATABASE_ERRORS:
        raise  # transient: the task retries under the same claim
    except ReaderError as exc:
        _finish(
            contribution,
            claim,
            status=ContributionStatus.REJECTED,
            report=report.as_json(error={"code": exc.code, "detail": exc.detail}),
            discard=True,
        )
        return ContributionStatus.REJECTED
    except Exception:
        logger.exception("validation of contribution %s failed", contribution.pk)
        _finish(
            contribution,
            claim,
            status=ContributionStatus.FAILED,
            report=report.as_json(
                error={
                    "code": "internal_error",
                    "detail": "Validation failed on our side; moderators were told.",
                }
            ),
            discard=True,
        )
        raise
    contribution.refresh_from_db()
    status = _outcome(contribution)
    Contribution.objects.filter(pk=contribution.pk).update(
        # Every row counts: a rejected one scores 0, an accepted one its row score.
        quality_score=round(report.score_sum / contribution.rows_total, 4)
        if contribution.rows_total
        else 0.0
    )
    extra: dict[str, Any] = {}
    if contribution.rows_total == 0:
        extra["error"] = {"code": "empty_file", "detail": "The file has no data rows."}
    _finish(contribution, claim, status=status, report=report.as_json(**extra))
    return status


# --- Big files: shards ---------------------------------------------------------------------
#
# A file of more than VALIDATION_SHARD_ROWS rows (20k) is cut into row ranges (a multiple of
# VALIDATION_PARALLELISM of them, each at most VALIDATION_SHARD_MAX_ROWS), one Celery task each
# (``validate_contribution_shard``), so every worker process shares it: a 25k-row file on 2
# processes is 2 shards of 12.5k, not one run with a process idle. Each shard keeps its
# state in ``report["shards"][n]`` (status, its own run id and heartbeat, its counts and report)
# and claims itself as the whole run does: a duplicate or re-delivered shard finds it running
# or done and returns; a shard that stops beating is taken over, its items deleted and its range
# read again. Counts and progress are added to the contribution row under its lock, batch by
# batch; the shard that finishes last merges the reports and sets the verdict (a chord without
# a result backend, which re-delivery cannot confuse). Duplicates across shards: the unique
# (dataset, content_hash) index; near-duplicates: the band lock (``row_quality``) makes each
# batch see every batch committed before it, whichever shard wrote it.


def _shard_rows() -> int:
    return int(getattr(settings, "VALIDATION_SHARD_ROWS", 20_000))


def _parallelism() -> int:
    """The worker processes that validate: VALIDATION_PARALLELISM, by default the Celery
    worker's concurrency."""
    default = getattr(settings, "CELERY_WORKER_CONCURRENCY", 2)
    return max(1, int(getattr(settings, "VALIDATION_PARALLELISM", default)))


def _shard_plan(contribution: Contribution) -> tuple[int, list[tuple[int, int | None]]]:
    """The estimated rows, and row ranges (after, up to) for a big file; [] to read it in one
    run. The last range is open, so a low estimate still reads every row. Shard count: from
    the estimate and the parallelism alone, never fewer shards than worker processes."""
    if contribution.file_format not in ("csv", "tsv", "jsonl", "parquet"):
        return 0, []
    try:
        with _local_file(contribution) as path:
            estimate = estimated_rows(path, file_format=contribution.file_format)
    except OSError:
        return 0, []  # read as one run, which reports the missing file properly
    limit = _shard_rows()
    if not estimate or estimate <= limit:
        return 0, []
    # As many shards as worker processes, or a multiple of it: 5 shards on 2 processes leave
    # one process idle for the last third (1M rows: 87 s in 5 shards, 53 s in 2). No shard
    # is larger than VALIDATION_SHARD_MAX_ROWS, so a huge file still spreads over rounds.
    parallel = _parallelism()
    largest = max(limit, int(getattr(settings, "VALIDATION_SHARD_MAX_ROWS", 500_000)))
    count = parallel * math.ceil(estimate / (parallel * largest))
    size = math.ceil(estimate / count)
    return estimate, [(n * size, (n + 1) * size if n < count - 1 else None) for n in range(count)]


def _shards_start(
    contribution: Contribution,
    claim: uuid.UUID,
    estimate: int,
    plan: list[tuple[int, int | None]],
) -> None:
    from datasets_app.tasks import validate_contribution_shard

    with transaction.atomic():
        locked = (
            Contribution.objects.select_for_update()
            .filter(pk=contribution.pk, validation_claim=claim)
            .first()
        )
        if locked is None:
            return
        locked.report = {
            "estimated_rows": estimate,
            "shards": {
                str(n): {"start": start, "stop": stop, "status": "pending"}
                for n, (start, stop) in enumerate(plan)
            },
        }
        locked.heartbeat_at = timezone.now()
        locked.save(update_fields=["report", "heartbeat_at", "updated_at"])
        pk, claim_text = locked.pk, str(claim)
        transaction.on_commit(
            lambda: group(
                validate_contribution_shard.si(pk, claim_text, n) for n in range(len(plan))
            ).apply_async()
        )


@dataclass
class _Shard:
    number: int
    start: int
    stop: int | None
    run: str  # this run of the shard: a duplicate or taken-over run holds another

    def state(self, contribution: Contribution) -> dict[str, Any]:
        return cast(dict[str, Any], contribution.report["shards"][str(self.number)])

    def holds(self, contribution: Contribution) -> bool:
        shards = contribution.report.get("shards") or {}
        return bool(shards.get(str(self.number), {}).get("run") == self.run)

    def record(
        self, contribution: Contribution, *, rows: int, accepted: int, report: _Report
    ) -> None:
        state = self.state(contribution)
        state.update(report.as_state())
        state["rows_total"] += rows
        state["rows_accepted"] += accepted
        state["heartbeat"] = timezone.now().isoformat()
        estimate = contribution.report.get("estimated_rows") or 0
        if estimate:
            contribution.progress = min(99, contribution.rows_total * 100 // estimate)

    def items(self, contribution: Contribution) -> Any:
        items = Item.objects.filter(contribution=contribution, row_number__gt=self.start)
        return items if self.stop is None else items.filter(row_number__lte=self.stop)


def _shard_claim(
    contribution_id: int, claim: uuid.UUID, number: int, task_id: str | None = None
) -> tuple[Contribution, _Shard] | None:
    run_id = _run_id(task_id).hex
    stale_before = timezone.now() - timedelta(seconds=settings.VALIDATION_STALE_SECONDS)
    with transaction.atomic():
        contribution = (
            Contribution.objects.select_for_update()
            .select_related("dataset")
            .filter(
                pk=contribution_id,
                validation_claim=claim,
                status=ContributionStatus.VALIDATING,
            )
            .first()
        )
        if contribution is None:
            return None  # finished, or the whole run was taken over
        state = (contribution.report.get("shards") or {}).get(str(number))
        if state is None or state["status"] == "done":
            return None
        if state["status"] == "running":
            ours = task_id is not None and state["run"] == run_id  # our own retry
            if datetime.fromisoformat(state["heartbeat"]) >= stale_before and not ours:
                return None  # another run of this shard is alive
            stale = _Shard(number, state["start"], state["stop"], state["run"])
            deleted = items_delete(stale.items(contribution))
            Dataset.objects.filter(pk=contribution.dataset_id).update(
                items_count=F("items_count") - deleted
            )
            contribution.rows_total -= state["rows_total"]
            contribution.rows_accepted -= state["rows_accepted"]
            contribution.rows_rejected = contribution.rows_total - contribution.rows_accepted
            logger.warning("taking over stale shard %s of contribution %s", number, contribution_id)
        shard = _Shard(number, state["start"], state["stop"], run_id)
        state.update(
            status="running",
            run=shard.run,
            heartbeat=timezone.now().isoformat(),
            rows_total=0,
            rows_accepted=0,
            **_Report().as_state(),
        )
        contribution.heartbeat_at = timezone.now()
        contribution.save()
    return contribution, shard


def contribution_validate_shard(
    *, contribution_id: int, claim: str, shard: int, task_id: str | None = None
) -> str | None:
    """Validate one shard of a big contribution; returns the contribution's final status when
    this shard was the last to finish, else None. Safe to run twice or at once. ``task_id``
    and database errors: as in ``contribution_validate``, for the shard."""
    claim_id = uuid.UUID(claim)
    claimed = _shard_claim(contribution_id, claim_id, shard, task_id)
    if claimed is None:
        return None
    contribution, run = claimed
    dataset = contribution.dataset
    report = _Report()
    bands = DatasetBands(dataset.pk)
    try:
        with _local_file(contribution) as path, tempfile.TemporaryDirectory() as images:
            for batch in read_rows(
                path,
                file_format=contribution.file_format,
                columns=dataset.columns,
                batch_size=settings.VALIDATION_BATCH_ROWS,
                start_row=run.start,
                stop_row=run.stop,
            ):
                _ingest(contribution, claim_id, batch, report, Path(images), bands, run)
    except ClaimLost:
        logger.info("shard %s of contribution %s was taken over", shard, contribution.pk)
        return None
    except DATABASE_ERRORS:
        raise  # transient: the task retries under the same shard run
    except ReaderError as exc:
        _finish(
            contribution,
            claim_id,
            status=ContributionStatus.REJECTED,
            report=report.as_json(error={"code": exc.code, "detail": exc.detail}),
            discard=True,
        )
        return ContributionStatus.REJECTED
    except Exception:
        logger.exception("shard %s of contribution %s failed", shard, contribution.pk)
        _finish(
            contribution,
            claim_id,
            status=ContributionStatus.FAILED,
            report=report.as_json(
                error={
                    "code": "internal_error",
                    "detail": "Validation failed on our side; moderators were told.",
                }
            ),
            discard=True,
        )
        raise
    return _shard_done(contribution, claim_id, run)


def _shard_done(contribution: Contribution, claim: uuid.UUID, shard: _Shard) -> str | None:
    with transaction.atomic():
        locked = (
            Contribution.objects.select_for_update()
            .filter(pk=contribution.pk, validation_claim=claim)
            .first()
        )
        if locked is None or not shard.holds(locked):
            return None
        shard.state(locked)["status"] = "done"
        states = list(locked.report["shards"].values())
        if any(state["status"] != "done" for state in states):
            locked.save(update_fields=["report", "updated_at"])
            return None
        report = _Report.merged(states)
        locked.quality_score = (
            round(report.score_sum / locked.rows_total, 4) if locked.rows_total else 0.0
        )
        locked.save(update_fields=["report", "quality_score", "updated_at"])
        status = _outcome(locked)
        _finish(locked, claim, status=status, report=report.as_json(shards=len(states)))
    return status


def validation_warm_up() -> None:
    """Load once per worker, before it forks its pool, what every validation needs: the HF
    ``datasets`` library the readers use (0.6 s to import) and the language model (0.3 s).
    Otherwise each pool process loads both during its first validation, while the file waits,
    and holds its own copy instead of sharing the parent's pages."""
    import datasets  # noqa: F401 - imported for its side effect: loaded into the parent

    supported_languages()


def contributions_requeue_stuck() -> int:
    """Beat: re-enqueue contributions whose task was lost (uploaded but never claimed, or
    validating without a heartbeat); duplicates are harmless thanks to the claim."""
    from datasets_app.tasks import validate_contribution

    cutoff = timezone.now() - timedelta(seconds=settings.VALIDATION_STALE_SECONDS)
    stuck = list(
        Contribution.objects.filter(
            status__in=[ContributionStatus.UPLOADED, ContributionStatus.VALIDATING],
            updated_at__lt=cutoff,
        ).values_list("pk", flat=True)[:500]
    )
    for pk in stuck:
        validate_contribution.delay(pk)
    return len(stuck)
