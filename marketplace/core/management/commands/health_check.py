"""Asks a running Celery worker to run the health task and prints its answer: proof that the
broker, a worker and the database are all reachable."""

from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketplace.core.tasks import health_check


class Command(BaseCommand):
    help = "Run core.health_check on a worker and print what it reports."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait")
        parser.add_argument("--queue", help="the queue to send to (default: the default queue)")

    def handle(self, *args: Any, **options: Any) -> None:
        result = health_check.apply_async(queue=options["queue"])
        try:
            report = result.get(timeout=options["timeout"])
        except CeleryTimeoutError:
            raise CommandError(
                f"No worker answered within {options['timeout']:.0f}s: is a Celery worker "
                "running against this broker? (see var/log/worker.log)"
            ) from None
        self.stdout.write(
            f"worker on {report['host']} ran core.health_check; database: {report['database']}"
        )
