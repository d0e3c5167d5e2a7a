"""A benchmark's own PostgreSQL database, created fresh and dropped at the end (never the
development or test databases)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def database_url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def scratch_database(name: str, *, keep: bool = False) -> Iterator[None]:
    """Database ``name``, created fresh for the block; after it, Django's connections are
    closed and it is dropped (unless ``keep``, to look at it)."""
    recreate_database(name)
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        if not keep:
            drop_database(name)


def django_on(name: str, **env: str) -> None:
    """Point Django at database ``name`` (local settings, DEBUG off, quiet logs, an in-memory
    broker: nothing reaches a real one), with ``env`` on top, then set it up and migrate."""
    import os

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
            "DATABASE_URL": database_url(name),
            "DJANGO_DEBUG": "false",
            "DJANGO_LOG_LEVEL": "WARNING",
            "CELERY_BROKER_URL": "memory://",
            **env,
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
