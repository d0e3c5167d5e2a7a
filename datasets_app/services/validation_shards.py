"""Big files: shards.

A file of more than VALIDATION_SHARD_ROWS rows (20k) is cut into row ranges (a multiple of
VALIDATION_PARALLELISM of them, each at most VALIDATION_SHARD_MAX_ROWS), one Celery task each
(``validate_contribution_shard``), so every worker process shares it: a 25k-row file on 2
processes is 2 shards of 12.5k, not one run with a process idle. Each shard keeps its
state in ``report["shards"][n]`` (status, its own run id and heartbeat, its counts and report)
and claims itself as the whole run does: a duplicate or re-delivered shard finds it running
or done and returns; a shard that stops beating is taken over, its items deleted and its range
read again. Counts and progress are added to the contribution row under its lock, batch by
batch; the shard that finishes last merges the reports and sets the verdict (a chord without
a result backend, which re-delivery cannot confuse). Duplicates across shards: the unique
(dataset, content_hash) index; near-duplicates: the band lock (``row_quality``) makes each
batch see every batch committed before it, whichever shard wrote it.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from celery import group
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from datasets_app.enums import ContributionStatus
from datasets_app.integrations.readers.rows import estimated_rows
from datasets_app.models import Contribution, Item
from datasets_app.services.validation_ingest import claimed_row, items_discard
from datasets_app.services.validation_report import Report
from datasets_app.services.validation_run import (
    RunEnd,
    finish,
    local_file,
    outcome,
    quality_score,
    read_batches,
    run_id,
)

logger = logging.getLogger(__name__)


def _shard_rows() -> int:
    return int(getattr(settings, "VALIDATION_SHARD_ROWS", 20_000))


def _parallelism() -> int:
    """The worker processes that validate: VALIDATION_PARALLELISM, by default the Celery
    worker's concurrency."""
    default = getattr(settings, "CELERY_WORKER_CONCURRENCY", 2)
    return max(1, int(getattr(settings, "VALIDATION_PARALLELISM", default)))


def shard_plan(contribution: Contribution) -> tuple[int, list[tuple[int, int | None]]]:
    """The estimated rows, and row ranges (after, up to) for a big file; [] to read it in one
    run. The last range is open, so a low estimate still reads every row. Shard count: from
    the estimate and the parallelism alone, never fewer shards than worker processes."""
    if contribution.file_format not in ("csv", "tsv", "jsonl", "parquet"):
        return 0, []
    try:
        with local_file(contribution) as path:
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


def shards_start(
    contribution: Contribution,
    claim: uuid.UUID,
    estimate: int,
    plan: list[tuple[int, int | None]],
) -> None:
    from datasets_app.tasks import validate_contribution_shard

    with transaction.atomic():
        locked = claimed_row(contribution.pk, claim)
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
class Shard:
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
        self, contribution: Contribution, *, rows: int, accepted: int, report: Report
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
) -> tuple[Contribution, Shard] | None:
    run = run_id(task_id).hex
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
            ours = task_id is not None and state["run"] == run  # our own retry
            if datetime.fromisoformat(state["heartbeat"]) >= stale_before and not ours:
                return None  # another run of this shard is alive
            stale = Shard(number, state["start"], state["stop"], state["run"])
            items_discard(stale.items(contribution), dataset_id=contribution.dataset_id)
            contribution.rows_total -= state["rows_total"]
            contribution.rows_accepted -= state["rows_accepted"]
            contribution.rows_rejected = contribution.rows_total - contribution.rows_accepted
            logger.warning("taking over stale shard %s of contribution %s", number, contribution_id)
        shard = Shard(number, state["start"], state["stop"], run)
        state.update(
            status="running",
            run=shard.run,
            heartbeat=timezone.now().isoformat(),
            rows_total=0,
            rows_accepted=0,
            **Report().as_state(),
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
    report = Report()
    what = f"shard {shard} of contribution {contribution.pk}"
    end = read_batches(
        contribution, claim_id, report, what=what, shard=run, start_row=run.start, stop_row=run.stop
    )
    if end is not RunEnd.READ:
        return ContributionStatus.REJECTED if end is RunEnd.REJECTED else None
    return _shard_done(contribution, claim_id, run)


def _shard_done(contribution: Contribution, claim: uuid.UUID, shard: Shard) -> str | None:
    with transaction.atomic():
        locked = claimed_row(contribution.pk, claim)
        if locked is None or not shard.holds(locked):
            return None
        shard.state(locked)["status"] = "done"
        states = list(locked.report["shards"].values())
        if any(state["status"] != "done" for state in states):
            locked.save(update_fields=["report", "updated_at"])
            return None
        report = Report.merged(states)
        locked.quality_score = quality_score(report, locked.rows_total)
        locked.save(update_fields=["report", "quality_score", "updated_at"])
        status = outcome(locked)
        finish(locked, claim, status=status, report=report.as_json(shards=len(states)))
    return status
