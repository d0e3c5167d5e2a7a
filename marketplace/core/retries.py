"""Transient failures are retried by Celery with backoff, so nothing a user paid for (or
uploaded) waits for a sweeper when the database blinks.

A task opts in with ``base=RetryTransient``: an ``OperationalError`` or ``InterfaceError``
(connection refused or lost, too many clients, serialization failure, deadlock, a query
cancelled by an administrator) is retried after an exponentially growing, fully jittered delay
(``retry_backoff`` seconds, doubling, at most ``retry_backoff_max``), at most ``max_retries``
times. psycopg raises ``SerializationFailure``, ``DeadlockDetected`` and
``TooManyConnections`` as subclasses of its ``OperationalError``, which Django re-raises as
``django.db.OperationalError``. Tasks may widen ``autoretry_for`` (the payment checks add the
chain's transient answers). Every such task's service is idempotent: it locks its row and
checks its status, so a retry after a half-done attempt redoes nothing twice.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from django.db import InterfaceError, OperationalError, close_old_connections

DATABASE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


class RetryTransient(Task[Any, Any]):
    autoretry_for = DATABASE_ERRORS
    retry_backoff = 2  # seconds before the first retry (at most; full jitter), then doubling
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 10  # with the delays above: about 3 minutes on average, 6 at most

    def on_retry(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """A database error may leave this process's connection broken: drop it so the retry
        connects afresh (eager runs share the caller's connection and transaction: kept)."""
        if isinstance(exc, DATABASE_ERRORS) and not self.request.is_eager:
            close_old_connections()
        super().on_retry(exc, task_id, args, kwargs, einfo)
