"""Connections are bounded: the web server as scripts/run.sh and the Docker image start it
(gunicorn with gunicorn.conf.py, production settings, DEBUG off) never holds more PostgreSQL
connections than its processes' pools allow, during a burst of concurrent requests or after it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from payments.integrations.anvil import free_port
from tests.factories import DatasetFactory

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
POOL_MAX_SIZE = 4
# More threads than pool slots, on purpose: without the pool every thread keeps a connection of
# its own (2 x 8 = 16), so only the pool can hold the count to WORKERS x POOL_MAX_SIZE.
THREADS = 8
CONCURRENT = 20
ROUNDS = 50


@dataclass
class Server:
    url: str
    connections_before: int  # to the test database, before the server started
    process: subprocess.Popen[bytes]
    log_path: Path


def _count_connections(db_name: str) -> int:
    """Backends connected to the test database, counted from the maintenance database so that
    the counting connection is not among them."""
    db = connection.settings_dict
    with psycopg.connect(
        dbname="postgres", user=db["USER"], password=db["PASSWORD"] or None,
        host=db["HOST"], port=db["PORT"], autocommit=True,
    ) as conn:  # fmt: skip
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [db_name]
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def server(transactional_db, tmp_path: Path) -> Iterator[Server]:
    """gunicorn on a free loopback port, on the test database, with production settings."""
    db = connection.settings_dict
    connection.ensure_connection()  # this process's own connection counts from the start
    connections_before = _count_connections(db["NAME"])
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
        "DJANGO_SECRET_KEY": "test-only-not-secret",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CACHE_URL": settings.CACHES["default"]["LOCATION"],
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "DATABASE_POOL": "true",
        "DATABASE_POOL_MAX_SIZE": str(POOL_MAX_SIZE),
        "WEB_CONCURRENCY": str(WORKERS),
        "GUNICORN_THREADS": str(THREADS),
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,  # where gunicorn.conf.py is
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    try:
        yield Server(
            url=url, connections_before=connections_before, process=process, log_path=log_path
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310
        response.read()
        return int(response.status)


def test_concurrent_requests_leave_at_most_the_pools_connections(server: Server):
    DatasetFactory.create_batch(3)
    db_name = connection.settings_dict["NAME"]
    started_with = server.connections_before
    bound = WORKERS * POOL_MAX_SIZE

    peak = started_with
    sampling = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampling.is_set():
            peak = max(peak, _count_connections(db_name))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    statuses: list[int] = []
    try:
        with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
            for _ in range(ROUNDS):
                statuses += pool.map(_get, [f"{server.url}/"] * CONCURRENT)
    finally:
        sampling.set()
        sampler.join()
    ended_with = _count_connections(db_name)

    assert statuses == [200] * (CONCURRENT * ROUNDS)
    assert server.process.poll() is None, server.log_path.read_text()[-3000:]
    # Every worker process used its pool, yet none went past it, during the burst or after.
    assert ended_with > started_with
    assert peak <= started_with + bound, f"{peak=} {started_with=} {bound=}"
    assert ended_with <= started_with + bound, f"{ended_with=} {started_with=} {bound=}"
