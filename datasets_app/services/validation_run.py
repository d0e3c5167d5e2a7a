"""What a validation run and a shard's run share: the run's claim id, the local copy of the file,
reading it into items batch by batch with the failure handling (``read_batches``), and the
finish that sets the verdict under the claim (see ``validation`` for how claims work).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from datasets_app.enums import ContributionStatus
from datasets_app.integrations.readers.base import ReaderError
from datasets_app.integrations.readers.rows import read_rows
from datasets_app.models import Contribution, Item
from datasets_app.services.row_quality import DatasetBands
from datasets_app.services.validation_ingest import (
    ClaimLost,
    claimed_row,
    ingest,
    items_discard,
)
from datasets_app.services.validation_report import Report
from marketplace.core.retries import DATABASE_ERRORS
from marketplace.core.services import audit_log_record

if TYPE_CHECKING:
    from datasets_app.services.validation_shards import Shard

logger = logging.getLogger(__name__)


def contribution_results_clear(contribution: Contribution) -> None:
    """Forget a run's results (unsaved): counts, progress, report and score start afresh."""
    contribution.progress = 0
    contribution.rows_total = contribution.rows_accepted = contribution.rows_rejected = 0
    contribution.report = {}
    contribution.quality_score = None


def run_id(task_id: str | None) -> uuid.UUID:
    """The claim of a run: derived from its task's id when there is one, so the task's own
    retry (Celery keeps the id) recognises the claim it left and takes over at once instead of
    waiting ``VALIDATION_STALE_SECONDS`` for it to look dead."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"celery-task:{task_id}") if task_id else uuid.uuid4()


@contextlib.contextmanager
def local_file(contribution: Contribution) -> Iterator[Path]:
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


class RunEnd(enum.Enum):
    """How ``read_batches`` ended."""

    READ = "read"  # every row went through: the caller sets the verdict
    TAKEN_OVER = "taken_over"  # another run holds the claim now: stop, touching nothing
    REJECTED = "rejected"  # the file cannot be read: the contribution is finished, rejected


def read_batches(
    contribution: Contribution,
    claim: uuid.UUID,
    report: Report,
    *,
    what: str,
    shard: Shard | None = None,
    **read_options: Any,
) -> RunEnd:
    """Read the contribution's file (``read_options``: a shard's ``start_row``/``stop_row``) into
    items, one transaction per batch, under ``claim``.
    A database error is raised as it is, leaving the claim for the task's retry to take over
    (its committed batches are deleted and the rows read again); a file the readers refuse
    rejects the contribution; any other error fails it and is raised. ``what`` names the run in
    the log ("validation of contribution 7", "shard 2 of contribution 7")."""
    dataset = contribution.dataset
    bands = DatasetBands(dataset.pk)
    try:
        with local_file(contribution) as path, tempfile.TemporaryDirectory() as images:
            for batch in read_rows(
                path,
                file_format=contribution.file_format,
                columns=dataset.columns,
                batch_size=settings.VALIDATION_BATCH_ROWS,
                image_dir=Path(images),  # a ZIP's images; the formats read in shards have none
                **read_options,
            ):
                ingest(contribution, claim, batch, report, Path(images), bands, shard)
    except ClaimLost:
        logger.info("%s was taken over", what)
        return RunEnd.TAKEN_OVER
    except DATABASE_ERRORS:
        raise  # transient: the task retries under the same claim
    except ReaderError as exc:
        finish(
            contribution,
            claim,
            status=ContributionStatus.REJECTED,
            report=report.as_json(error={"code": exc.code, "detail": exc.detail}),
            discard=True,
        )
        return RunEnd.REJECTED
    except Exception:
        logger.exception("%s failed", what)
        finish(
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
    return RunEnd.READ


def _discard_items(contribution: Contribution) -> None:
    """A file that fails part-way leaves nothing behind: drop the items its earlier batches
    committed (run inside the finishing transaction)."""
    items_discard(
        Item.objects.filter(contribution=contribution), dataset_id=contribution.dataset_id
    )
    contribution.rows_accepted = 0
    contribution.rows_rejected = contribution.rows_total


def finish(
    contribution: Contribution,
    claim: uuid.UUID,
    *,
    status: str,
    report: dict[str, Any],
    discard: bool = False,
) -> None:
    with transaction.atomic():
        locked = claimed_row(contribution.pk, claim)
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


def outcome(contribution: Contribution) -> str:
    if contribution.rows_accepted == 0:
        return ContributionStatus.REJECTED
    if contribution.rows_rejected == 0:
        return ContributionStatus.ACCEPTED
    return ContributionStatus.PARTIALLY_ACCEPTED


def quality_score(report: Report, rows_total: int) -> float:
    """Every row counts: a rejected one scores 0, an accepted one its row score."""
    return round(report.score_sum / rows_total, 4) if rows_total else 0.0
