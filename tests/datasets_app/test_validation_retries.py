"""A database error during validation is retried by Celery at once (with backoff), and the retry
takes its own half-done run over: every row is stored once, and nothing waits for the sweeper."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from django.db import OperationalError

from datasets_app.models import Contribution, Item
from datasets_app.services import validation, validation_run
from datasets_app.tasks import validate_contribution, validate_contribution_shard
from tests.datasets_app.test_validation import TABULAR, submit
from tests.factories import DatasetFactory
from tests.faults import flaky_database, start_worker_behind

ROWS = 7
CSV = b"text,stars\n" + "".join(f"row {n},{n % 5 + 1}\n" for n in range(ROWS)).encode()


def ingest_failing_once(at: int, error: str) -> tuple[Callable[..., None], list[int]]:
    """A stand-in for ``validation_run.ingest`` whose ``at``-th call raises OperationalError
    ``error`` instead of storing its batch; and the list its calls are counted in."""
    ingest = validation_run.ingest
    batches: list[int] = []

    def fails_once(*args: Any, **kwargs: Any) -> None:
        batches.append(1)
        if len(batches) == at:
            raise OperationalError(error)
        ingest(*args, **kwargs)

    return fails_once, batches


@pytest.mark.django_db
def test_a_database_error_mid_validation_is_retried_and_each_row_is_stored_once(settings):
    """The task runs eagerly (its retry too, under the same task id); the error is raised by a
    stand-in for one batch, after two batches committed: what is real is the claim, the
    committed batches and the retry's take-over."""
    settings.VALIDATION_BATCH_ROWS = 2
    dataset = DatasetFactory.create(columns=TABULAR, modality="tabular")
    contribution = submit(dataset, "rows.csv", CSV)
    third_batch_fails_once, batches = ingest_failing_once(
        3, "server closed the connection unexpectedly"
    )
    with patch.object(validation_run, "ingest", third_batch_fails_once):
        result = validate_contribution.apply(args=(contribution.pk,))

    assert result.successful(), result.traceback
    assert result.get() == "accepted"
    contribution.refresh_from_db()
    assert contribution.status == "accepted" and contribution.validation_claim is None
    assert (contribution.rows_total, contribution.rows_accepted) == (ROWS, ROWS)
    rows = sorted(
        Item.objects.filter(contribution=contribution).values_list("row_number", flat=True)
    )
    assert rows == list(range(1, ROWS + 1))  # the first two batches were redone, not doubled
    dataset.refresh_from_db()
    assert dataset.items_count == ROWS
    assert len(batches) == 3 + 4  # 4 batches of 2 rows, the first three tried before the error


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_whose_database_refuses_its_first_connection_validates_at_once(
    settings, tmp_path: Path
):
    """Real: a Celery worker process over Redis, PostgreSQL behind a loopback proxy that closes
    the worker's first connection (psycopg raises a real OperationalError), Celery's autoretry
    with backoff, and the same claim taken over by the retry. No sweeper runs."""
    dataset = DatasetFactory.create(columns=TABULAR, modality="tabular")
    with flaky_database() as proxy:
        worker = start_worker_behind(proxy, tmp_path / "worker.log", VALIDATION_BATCH_ROWS="2")
        try:
            worker.wait_for_log("ready.", timeout=60)
            settings.MEDIA_ROOT = worker.media_root
            with patch("datasets_app.tasks.validate_contribution.delay"):
                contribution = submit(dataset, "rows.csv", CSV)
            proxy.cut()
            proxy.refuse_next(1)
            validate_contribution.apply_async((contribution.pk,), queue=worker.queue)
            deadline = time.monotonic() + 60
            while Contribution.objects.get(pk=contribution.pk).status in ("uploaded", "validating"):
                assert time.monotonic() < deadline, worker.log()[-3000:]
                time.sleep(0.2)
            log = worker.log()
        finally:
            worker.stop()
    assert proxy.refused == 1
    assert "retry: Retry in" in log and "OperationalError" in log, log[-3000:]
    contribution.refresh_from_db()
    assert contribution.status == "accepted", contribution.report
    assert Item.objects.filter(contribution=contribution).count() == ROWS


@pytest.mark.django_db
def test_a_database_error_in_a_shard_is_retried_and_the_verdict_matches_one_run(settings):
    """As above, for one shard of a big file (eagerly; the error raised by a stand-in): the
    shard's retry takes its own running state over at once, and the result equals a run
    without any error."""
    from tests.datasets_app.test_validation_shards import (
        _csv,
        _outcome,
        _submit,
        _validated_in_one_run,
    )

    single = _validated_in_one_run(settings)
    settings.VALIDATION_SHARD_ROWS = 10
    settings.VALIDATION_BATCH_ROWS = 3
    sharded = _submit(DatasetFactory.create(columns=TABULAR), _csv())
    assert validation.contribution_validate(contribution_id=sharded.pk) is None
    sharded.refresh_from_db()
    claim = str(sharded.validation_claim)
    second_batch_fails_once, _ = ingest_failing_once(
        2, "could not serialize access due to concurrent update"
    )

    results = []
    for shard in sharded.report["shards"]:
        with patch.object(validation_run, "ingest", second_batch_fails_once):
            result = validate_contribution_shard.apply(args=(sharded.pk, claim, int(shard)))
        assert result.successful(), result.traceback
        results.append(result.get())
    assert results[-1] == "partially_accepted" and set(results[:-1]) == {None}
    assert _outcome(sharded) == _outcome(single)
    sharded.dataset.refresh_from_db()
    assert sharded.dataset.items_count == single.rows_accepted
