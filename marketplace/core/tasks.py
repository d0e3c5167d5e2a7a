"""Project-wide tasks. Tasks stay thin: they call a service and return."""

from typing import Any

from celery import shared_task

from marketplace.core.selectors import health_report


@shared_task(name="core.health_check", ignore_result=False, soft_time_limit=10, time_limit=15)
def health_check() -> dict[str, Any]:
    """Proves a worker is alive and reaches the database; beat runs it every minute."""
    return health_report()
