"""Big files are validated in shards (one task per row range) with the verdicts of one run."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from datasets_app.models import Contribution, Item, ItemBand
from datasets_app.services import (
    contribution_validate,
    contribution_validate_shard,
)
from tests.factories import DatasetFactory, submitted

TABULAR = [{"name": "text", "dtype": "string"}, {"name": "stars", "dtype": "int64"}]
WORDS = [f"{stem}{end}" for stem in ("lamp", "tent", "kettle", "shoe", "radio", "desk")
         for end in ("", "s", "ly", "er", "ing", "ful", "ness", "ish")]  # fmt: skip


def _csv() -> bytes:
    """45 rows across the shards of 10: in later shards, an exact duplicate of row 3, a
    near-duplicate of row 5 (same words, other case and punctuation), and bad rows."""
    rng = random.Random(7)  # noqa: S311 - test data
    texts = [" ".join(rng.choices(WORDS, k=16)) for _ in range(45)]
    texts[35] = texts[4].upper() + "!"  # row 36: near-duplicate of row 5
    rows = [f"{text},{1 + n % 5}" for n, text in enumerate(texts)]
    rows[24] = rows[2]  # row 25: exact duplicate of row 3
    rows[13] = ",3"  # row 14: empty text
    rows[41] = f"{texts[41]},lots"  # row 42: not an int
    return ("text,stars\n" + "\n".join(rows) + "\n").encode()


def _submit(dataset, content: bytes) -> Contribution:  # type: ignore[no-untyped-def]
    """Submitted without its validation task: the tests run validation themselves (a worker
    on the default queue would otherwise race them to it)."""
    return submitted(dataset, content, "big.csv", queue_validation=False)


def _outcome(contribution: Contribution) -> tuple[object, ...]:
    contribution.refresh_from_db()
    texts = sorted(Item.objects.filter(contribution=contribution).values_list("data", flat=True),
                   key=str)  # fmt: skip
    return (
        contribution.status,
        contribution.rows_total,
        contribution.rows_accepted,
        contribution.rows_rejected,
        contribution.report["reasons"],
        sorted(example["row"] for example in contribution.report["examples"]),
        contribution.quality_score,
        texts,
    )


def _validated_in_one_run(settings) -> Contribution:  # type: ignore[no-untyped-def]
    """The same file validated without shards."""
    settings.VALIDATION_SHARD_ROWS = 1_000_000
    single = _submit(DatasetFactory.create(columns=TABULAR), _csv())
    contribution_validate(contribution_id=single.pk)
    return single


def _run_shards(contribution: Contribution) -> list[str | None]:
    contribution.refresh_from_db()
    claim = str(contribution.validation_claim)
    return [
        contribution_validate_shard(contribution_id=contribution.pk, claim=claim, shard=int(n))
        for n in contribution.report["shards"]
    ]


@pytest.mark.django_db
def test_a_file_above_the_threshold_is_sharded_and_judged_as_one_run_would(settings):
    single = _submit(DatasetFactory.create(columns=TABULAR), _csv())
    assert contribution_validate(contribution_id=single.pk) == "partially_accepted"

    settings.VALIDATION_SHARD_ROWS = 10
    sharded = _submit(DatasetFactory.create(columns=TABULAR), _csv())
    assert contribution_validate(contribution_id=sharded.pk) is None  # handed to the shards
    sharded.refresh_from_db()
    assert sharded.status == "validating"
    assert [(s["start"], s["stop"]) for s in sharded.report["shards"].values()] == [
        (0, 9), (9, 18), (18, 27), (27, 36), (36, None)
    ]  # fmt: skip
    assert _run_shards(sharded) == [None, None, None, None, "partially_accepted"]

    assert _outcome(sharded) == _outcome(single)
    assert sharded.report["reasons"] == {
        "column 'text' is empty": 1,
        "column 'stars' expected int64": 1,
        "duplicate of an earlier row in this file": 1,
        "near-duplicate of an earlier row in this file": 1,
    }
    assert sharded.progress == 100 and sharded.validation_claim is None
    assert ItemBand.objects.filter(item__contribution=sharded).count() == 41
    sharded.dataset.refresh_from_db()
    assert sharded.dataset.items_count == 41


def _planned() -> tuple[Contribution, str]:
    """A contribution planned into shards that no worker runs, and the run's claim."""
    contribution = _submit(DatasetFactory.create(columns=TABULAR), _csv())
    contribution_validate(contribution_id=contribution.pk)
    contribution.refresh_from_db()
    return contribution, str(contribution.validation_claim)


@pytest.mark.django_db
def test_a_shard_run_twice_changes_nothing(settings):
    settings.VALIDATION_SHARD_ROWS = 10
    contribution, claim = _planned()
    assert (
        contribution_validate_shard(contribution_id=contribution.pk, claim=claim, shard=1) is None
    )
    contribution.refresh_from_db()
    after_once = (contribution.rows_total, contribution.rows_accepted, contribution.report)
    items = Item.objects.filter(contribution=contribution).count()
    # Redelivered: the shard is done, nothing moves.
    assert (
        contribution_validate_shard(contribution_id=contribution.pk, claim=claim, shard=1) is None
    )
    contribution.refresh_from_db()
    assert (contribution.rows_total, contribution.rows_accepted, contribution.report) == after_once
    assert Item.objects.filter(contribution=contribution).count() == items
    # A live run of shard 2 is left alone by a duplicate...
    state = contribution.report["shards"]["2"]
    state.update(status="running", run="other", heartbeat=timezone.now().isoformat(),
                 rows_total=0, rows_accepted=0)  # fmt: skip
    Contribution.objects.filter(pk=contribution.pk).update(report=contribution.report)
    assert (
        contribution_validate_shard(contribution_id=contribution.pk, claim=claim, shard=2) is None
    )
    contribution.refresh_from_db()
    assert contribution.report["shards"]["2"]["run"] == "other"
    # ... and a stale one is taken over; a run whose claim is not the contribution's does nothing.
    assert contribution_validate_shard(contribution_id=contribution.pk, claim=str(
        contribution.pk).zfill(32), shard=0) is None  # fmt: skip
    state = contribution.report["shards"]["2"]
    state["heartbeat"] = (timezone.now() - timedelta(hours=1)).isoformat()
    Contribution.objects.filter(pk=contribution.pk).update(report=contribution.report)
    for shard in (2, 0, 3, 4, 2):
        contribution_validate_shard(contribution_id=contribution.pk, claim=claim, shard=shard)

    settings.VALIDATION_SHARD_ROWS = 1_000
    single = _submit(DatasetFactory.create(columns=TABULAR), _csv())
    contribution_validate(contribution_id=single.pk)
    # Shard 2 ran before shard 0 here, so the later copy of row 3 was the one kept: same
    # verdicts, another example row.
    assert _outcome(contribution)[:5] == _outcome(single)[:5]
    assert _outcome(contribution)[6:] == _outcome(single)[6:]


@pytest.mark.django_db
def test_a_stale_shard_is_redone_without_doubling_its_rows(settings):
    settings.VALIDATION_SHARD_ROWS = 10
    contribution, claim = _planned()
    contribution_validate_shard(contribution_id=contribution.pk, claim=claim, shard=0)
    contribution.refresh_from_db()
    # Make shard 0 look like a worker that died after committing its rows.
    contribution.report["shards"]["0"].update(
        status="running", heartbeat=(timezone.now() - timedelta(hours=1)).isoformat()
    )
    Contribution.objects.filter(pk=contribution.pk).update(report=contribution.report)
    assert _run_shards(contribution)[-1] == "partially_accepted"

    settings.VALIDATION_SHARD_ROWS = 1_000
    single = _submit(DatasetFactory.create(columns=TABULAR), _csv())
    contribution_validate(contribution_id=single.pk)
    assert _outcome(contribution) == _outcome(single)


def _shard_and_wait(contribution: Contribution, log: Callable[[], str], *, seconds: float) -> None:
    """Plan the shards here (the run returns at once) and wait for a worker to finish them."""
    assert contribution_validate(contribution_id=contribution.pk) is None
    deadline = time.monotonic() + seconds
    while Contribution.objects.get(pk=contribution.pk).status == "validating":
        assert time.monotonic() < deadline, log()[-3000:]
        time.sleep(0.2)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_shards_are_run_by_a_real_worker(celery_worker, settings):
    settings.MEDIA_ROOT = celery_worker.media_root
    settings.VALIDATION_SHARD_ROWS = 10
    contribution = _submit(DatasetFactory.create(columns=TABULAR), _csv())
    # The threshold is read where the file is planned: here; the worker runs the shards.
    _shard_and_wait(contribution, celery_worker.log, seconds=60)
    single = _validated_in_one_run(settings)
    assert _outcome(contribution) == _outcome(single)
    assert "datasets.validate_contribution_shard" in celery_worker.log()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_shards_run_at_once_agree_with_one_run(celery_worker, settings, tmp_path):
    """Three shards at once in a prefork worker of three processes, many small batches
    interleaved: no deadlock, and the duplicate and near-duplicate across shards are each
    caught once. (Processes, as in production: HF datasets cannot read in threads.)"""
    from tests.conftest import _start_celery

    queue = f"test-{uuid.uuid4().hex[:12]}"
    worker = _start_celery(
        ["worker", "--pool", "prefork", "--concurrency", "3", "--loglevel", "INFO",
         "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "-n", f"{queue}@%h"],
        queue,
        tmp_path / "worker.log",
        VALIDATION_BATCH_ROWS="3",
        # The session's worker reads the default queue too: both share its media folder.
        DJANGO_MEDIA_ROOT=str(celery_worker.media_root),
    )  # fmt: skip
    try:
        worker.wait_for_log("ready.", timeout=60)
        settings.MEDIA_ROOT = celery_worker.media_root
        settings.VALIDATION_SHARD_ROWS = 15
        contribution = _submit(DatasetFactory.create(columns=TABULAR), _csv())
        _shard_and_wait(contribution, worker.log, seconds=90)
    finally:
        worker.stop()
    contribution.refresh_from_db()
    assert contribution.status == "partially_accepted", contribution.report
    assert contribution.report["shards"] == 3

    single = _validated_in_one_run(settings)
    mine, theirs = _outcome(contribution), _outcome(single)
    assert (mine[:5], mine[6]) == (theirs[:5], theirs[6])
    # Which copy of a pair was kept depends on which shard committed first.
    assert {item["text"].lower().rstrip("!") for item in mine[7]} == {  # type: ignore[attr-defined]
        item["text"].lower().rstrip("!")
        for item in theirs[7]  # type: ignore[attr-defined]
    }


@pytest.mark.django_db
def test_shards_come_in_multiples_of_the_worker_processes(settings):
    """5 shards on 2 processes leave one idle for the last round: the plan avoids that."""
    from datasets_app.services import validation_shards

    settings.VALIDATION_SHARD_ROWS = 10
    settings.VALIDATION_PARALLELISM = 2
    settings.VALIDATION_SHARD_MAX_ROWS = 25
    contribution = _submit(DatasetFactory.create(columns=TABULAR), _csv())  # 45 rows
    estimate, plan = validation_shards.shard_plan(contribution)
    assert estimate >= 45 and len(plan) == 2  # not 5 of 10: 2 processes, at most 25 rows each
    assert plan[0] == (0, plan[1][0]) and plan[1][1] is None
    settings.VALIDATION_SHARD_MAX_ROWS = 20
    assert len(validation_shards.shard_plan(contribution)[1]) == 4  # 45 rows over 20 max: 2 rounds


def _csv_25k() -> bytes:
    """25,000 rows: a copy of row 3 and a near-duplicate of row 5 near the end (another shard),
    and one bad row in the middle."""
    rng = random.Random(25)  # noqa: S311 - test data
    texts = [" ".join(rng.choices(WORDS, k=16)) for _ in range(25_000)]
    texts[24_000] = texts[4].upper() + "!"  # row 24,001: near-duplicate of row 5
    rows = [f"{text},{1 + n % 5}" for n, text in enumerate(texts)]
    rows[23_000] = rows[2]  # row 23,001: exact duplicate of row 3
    rows[12_500] = f"{texts[12_500]},lots"  # not an int
    return ("text,stars\n" + "\n".join(rows) + "\n").encode()


@pytest.mark.django_db
def test_a_25k_row_file_is_split_across_every_worker_process(settings):
    """Above the default threshold (20k rows) every process takes part, however far below the
    largest shard the file is: 3 processes, 3 shards; the verdict is one run's."""
    from datasets_app.services import validation_shards
    from marketplace.settings import base

    settings.VALIDATION_SHARD_ROWS = base.VALIDATION_SHARD_ROWS
    assert base.VALIDATION_SHARD_ROWS <= 20_000
    settings.VALIDATION_SHARD_MAX_ROWS = base.VALIDATION_SHARD_MAX_ROWS
    settings.VALIDATION_PARALLELISM = 3
    content = _csv_25k()
    sharded = _submit(DatasetFactory.create(columns=TABULAR), content)
    _, plan = validation_shards.shard_plan(sharded)
    assert len(plan) == 3 and plan[-1][1] is None
    sizes = [stop - start for start, stop in plan[:-1] if stop is not None]
    assert all(abs(size - 25_000 / 3) < 1_000 for size in sizes), plan
    assert contribution_validate(contribution_id=sharded.pk) is None  # handed to the shards
    sharded.refresh_from_db()
    assert len(sharded.report["shards"]) == 3
    assert _run_shards(sharded) == [None, None, "partially_accepted"]

    settings.VALIDATION_SHARD_ROWS = 1_000_000
    single = _submit(DatasetFactory.create(columns=TABULAR), content)
    assert contribution_validate(contribution_id=single.pk) == "partially_accepted"
    single.refresh_from_db()
    assert "shards" not in single.report
    assert _outcome(sharded) == _outcome(single)
    assert sharded.report["shards"] == 3
    assert sharded.report["reasons"] == {
        "column 'stars' expected int64": 1,
        "duplicate of an earlier row in this file": 1,
        "near-duplicate of an earlier row in this file": 1,
    }
    assert sharded.rows_total == 25_000 and sharded.rows_accepted == 24_997


@pytest.mark.django_db
def test_the_parallelism_defaults_to_the_worker_concurrency(settings):
    """Without VALIDATION_PARALLELISM the shard count follows CELERY_WORKER_CONCURRENCY; a
    file at or under the threshold is one run, whatever the processes."""
    from datasets_app.services import validation_shards

    del settings.VALIDATION_PARALLELISM
    settings.CELERY_WORKER_CONCURRENCY = 4
    settings.VALIDATION_SHARD_ROWS = 20
    settings.VALIDATION_SHARD_MAX_ROWS = 500_000
    contribution = _submit(DatasetFactory.create(columns=TABULAR), _csv())  # 45 rows
    assert len(validation_shards.shard_plan(contribution)[1]) == 4
    settings.VALIDATION_SHARD_ROWS = 45
    assert validation_shards.shard_plan(contribution) == (0, [])
