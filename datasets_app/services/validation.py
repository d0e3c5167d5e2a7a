"""Validation of a contribution: read the file in batches through the HF ``datasets`` readers,
check every row, and insert the accepted rows as items — safe to run twice or at once.

A run first *claims* the contribution (a UUID on the row). Each batch commits on its own, with
the row's progress, and only while the claim still holds; a run that stops beating for
``VALIDATION_STALE_SECONDS`` is taken over: its items are deleted and the file is read again.

The work is in ``validation_run`` (claim id, reading batches, failure handling, finish),
``validation_ingest`` (a batch into items), ``validation_report`` (the report) and
``validation_shards`` (big files, read in shards by several tasks).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from datasets_app.enums import ContributionStatus
from datasets_app.models import Contribution, Item
from datasets_app.quality.text import supported_languages
from datasets_app.services.validation_ingest import items_discard
from datasets_app.services.validation_report import Report
from datasets_app.services.validation_run import (
    RunEnd,
    contribution_results_clear,
    finish,
    outcome,
    quality_score,
    read_batches,
    run_id,
)
from datasets_app.services.validation_shards import shard_plan, shards_start

logger = logging.getLogger(__name__)


def _claim(
    contribution_id: int, task_id: str | None = None
) -> tuple[Contribution, uuid.UUID] | None:
    claim = run_id(task_id)
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
            items_discard(
                Item.objects.filter(contribution=contribution), dataset_id=contribution.dataset_id
            )
            logger.warning("taking over stale validation of contribution %s", contribution.pk)
        contribution.status = ContributionStatus.VALIDATING
        contribution.validation_claim = claim
        contribution.heartbeat_at = timezone.now()
        contribution_results_clear(contribution)
        contribution.save()
    return contribution, claim


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
    estimate, plan = shard_plan(contribution)
    if plan:
        shards_start(contribution, claim, estimate, plan)
        return None  # the shards finish it
    report = Report()
    end = read_batches(
        contribution, claim, report, what=f"validation of contribution {contribution.pk}"
    )
    if end is not RunEnd.READ:
        return ContributionStatus.REJECTED if end is RunEnd.REJECTED else None
    contribution.refresh_from_db()
    status = outcome(contribution)
    Contribution.objects.filter(pk=contribution.pk).update(
        quality_score=quality_score(report, contribution.rows_total)
    )
    extra: dict[str, Any] = {}
    if contribution.rows_total == 0:
        extra["error"] = {"code": "empty_file", "detail": "The file has no data rows."}
    finish(contribution, claim, status=status, report=report.as_json(**extra))
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
