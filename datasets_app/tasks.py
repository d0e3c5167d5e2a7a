"""Thin tasks: take ids, call one service."""

from typing import Any

from celery import Task, shared_task
from celery.signals import worker_init

from datasets_app import services
from datasets_app.services.releases import release_build, releases_requeue_stuck
from datasets_app.services.validation import validation_warm_up
from marketplace.core.retries import RetryTransient


@shared_task(
    name="datasets.validate_contribution",
    bind=True,
    base=RetryTransient,  # a database error is retried; the retry takes its own claim over
    acks_late=True,  # the service is idempotent: a redelivered task finds the row claimed or done
    soft_time_limit=3300,
    time_limit=3400,
)
def validate_contribution(self: Task[Any, Any], contribution_id: int) -> str | None:
    return services.contribution_validate(contribution_id=contribution_id, task_id=self.request.id)


@shared_task(
    name="datasets.validate_contribution_shard",
    bind=True,
    base=RetryTransient,
    acks_late=True,  # idempotent: a redelivered shard finds itself running (alive) or done
    soft_time_limit=3300,
    time_limit=3400,
)
def validate_contribution_shard(
    self: Task[Any, Any], contribution_id: int, claim: str, shard: int
) -> str | None:
    return services.contribution_validate_shard(
        contribution_id=contribution_id, claim=claim, shard=shard, task_id=self.request.id
    )


@shared_task(
    name="datasets.rebuild_near_duplicate_bands",
    base=RetryTransient,  # a database error is retried: validation would otherwise rebuild inline
    acks_late=True,  # idempotent: a second run finds the layout already rebuilt
    soft_time_limit=3300,
    time_limit=3400,
)
def rebuild_near_duplicate_bands(dataset_id: int) -> bool:
    return services.near_duplicate_bands_rebuild(dataset_id=dataset_id)


@shared_task(name="datasets.requeue_stuck_contributions", soft_time_limit=60, time_limit=90)
def requeue_stuck_contributions() -> int:
    return services.contributions_requeue_stuck()


@shared_task(name="datasets.release_expired_reservations", soft_time_limit=60, time_limit=90)
def release_expired_reservations() -> int:
    return services.reservations_release_expired()


@shared_task(name="datasets.expire_uploads", soft_time_limit=120, time_limit=150)
def expire_uploads() -> int:
    return services.upload_sessions_expire()


@shared_task(
    name="datasets.update_item_consensus", acks_late=True, soft_time_limit=60, time_limit=90
)
def update_item_consensus(item_id: int) -> object:
    return services.item_consensus_update(item_id=item_id)


@shared_task(
    name="datasets.refresh_consensus", acks_late=True, soft_time_limit=1700, time_limit=1800
)
def refresh_consensus() -> int:
    """Beat: Dawid-Skene over every dataset with labels."""
    return services.datasets_consensus_refresh_all()


@shared_task(
    name="datasets.refresh_dataset_consensus",
    acks_late=True,  # re-deciding from the same labels again gives the same labels
    soft_time_limit=1700,
    time_limit=1800,
)
def refresh_dataset_consensus(dataset_id: int) -> dict[str, object]:
    """Staff asked for it in admin: Dawid-Skene over one dataset, off the request."""
    return services.dataset_consensus_refresh(dataset_id=dataset_id)


@worker_init.connect
def warm_up_validation(**_: Any) -> None:
    """In the worker's main process, before the pool forks: validation's libraries and model."""
    validation_warm_up()


@shared_task(
    name="datasets.build_release",
    # Idempotent: a redelivered or duplicate task finds the release locked by a live run (the
    # advisory lock), or finished; a run that died left its lock with its connection.
    acks_late=True,
    soft_time_limit=4 * 3600,
    time_limit=4 * 3600 + 300,
)
def build_release(release_id: int) -> str | None:
    return release_build(release_id=release_id)


@shared_task(name="datasets.requeue_stuck_releases", soft_time_limit=60, time_limit=90)
def requeue_stuck_releases() -> int:
    """Beat: re-enqueue releases left building with no live run (lost enqueue, dead worker)."""
    return releases_requeue_stuck()
