"""The release build task (thin: takes an id, calls one service). Registered by importing this
module in ``DatasetsAppConfig.ready`` (autodiscovery only finds ``tasks.py``)."""

from celery import shared_task

from datasets_app.services.releases import release_build, releases_requeue_stuck


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
