"""Fixtures shared by every suite: the real PostgreSQL (pytest-django), a real anvil chain."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from payments.integrations.anvil import AnvilNode, DevAccount, dev_accounts, rpc_call

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS_DIR = ROOT / "var" / "test-artifacts"


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with an empty Redis cache (rate-limit counters live there)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _own_media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each test stores files (uploads, images) in a folder of its own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.UPLOAD_TMP_DIR = tmp_path / "uploads"


@pytest.fixture(scope="session")
def anvil_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    """One anvil process per test session, on a free loopback port; stopped at the end."""
    log = tmp_path_factory.mktemp("anvil") / "anvil.log"
    node = AnvilNode(log_path=log).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def anvil(anvil_node: AnvilNode, settings) -> Iterator[AnvilNode]:  # type: ignore[no-untyped-def]
    """The session's anvil with the chain settings pointed at it, and the chain state rolled back
    after the test (evm_snapshot / evm_revert), so tests do not see each other's transactions."""
    settings.CHAIN_RPC_URL = anvil_node.rpc_url
    settings.CHAIN_ID = anvil_node.chain_id
    snapshot = rpc_call(anvil_node.rpc_url, "evm_snapshot")
    try:
        yield anvil_node
    finally:
        rpc_call(anvil_node.rpc_url, "evm_revert", [snapshot])


@pytest.fixture(scope="session")
def dev_wallets() -> list[DevAccount]:
    """anvil's funded default accounts (public test keys)."""
    return dev_accounts()


@pytest.fixture
def chain_token(anvil: AnvilNode, dev_wallets: list[DevAccount], settings):  # type: ignore[no-untyped-def]
    """A 6-decimals test dollar on the test's anvil, registered as a Token, minted to dev
    wallets 1-4; the hot wallet (settings.HOT_WALLET_PRIVATE_KEY) is the treasury."""
    from tests.chain import make_chain_token

    return make_chain_token(anvil, dev_wallets, settings)


@pytest.fixture
def admin_user(db):  # type: ignore[no-untyped-def]
    """pytest-django's admin_user, with a wallet address as its username."""
    from marketplace.core.models import User

    return User.objects.create_superuser(
        "0x90F79bf6EB2c4f870365E785982E1f101E93b906", password="admin break-glass passphrase"
    )


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave screenshots and other things for people to look at."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


def _celery_env(queue: str) -> dict[str, str]:
    """The environment a worker or beat process needs to share this test session's database,
    broker and an isolated queue (so a developer's own worker never steals test tasks)."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }


@dataclass
class CeleryProcess:
    queue: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]
    media_root: Path  # where the process stores files; point settings.MEDIA_ROOT here

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """The log once it holds ``text``: a worker logs a task's success only after storing its
        result, so a caller holding the result may be ahead of the log line."""
        deadline = time.monotonic() + timeout
        while text not in (log := self.log()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the log after {timeout}s:\n{log[-3000:]}")
            time.sleep(0.1)
        return log

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        """Block until the worker logs "ready."; stop it and fail the test if it dies first or
        takes longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        while "ready." not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"Celery worker did not start:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown: finishes the task at hand
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log_file.close()


def _start_celery(args: list[str], queue: str, log_path: Path, **extra_env: str) -> CeleryProcess:
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    media_root = log_path.parent / "media"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "marketplace", *args],
        cwd=ROOT,
        env={**_celery_env(queue), "DJANGO_MEDIA_ROOT": str(media_root), **extra_env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return CeleryProcess(
        queue=queue, process=process, log_path=log_path, log_file=log, media_root=media_root
    )


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup, django_db_blocker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CeleryProcess]:
    """A real Celery worker process over the real Redis broker, on this session's test database.
    It takes tasks from its own queue (``.apply_async(queue=celery_worker.queue)``) and from the
    default queue, where services enqueue. Tests whose task reads rows they wrote must use
    ``transactional_db`` so the rows are committed."""
    from django.conf import settings

    queue = f"test-{uuid.uuid4().hex[:12]}"
    with django_db_blocker.unblock():
        worker = _start_celery(
            # Its own queue, plus the default one that services enqueue to (on the test broker
            # database, which no development worker reads).
            [
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "-Q",
                f"{queue},{settings.CELERY_TASK_DEFAULT_QUEUE}",
                "-n",
                f"{queue}@%h",
            ],
            queue,
            tmp_path_factory.mktemp("celery") / "worker.log",
        )
    worker.wait_until_ready()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def celery_beat(django_db_setup, django_db_blocker, tmp_path: Path) -> Iterator[CeleryProcess]:
    """A real beat process with a one-second health-check interval, sending to its own queue."""
    queue = f"test-beat-{uuid.uuid4().hex[:12]}"
    with django_db_blocker.unblock():
        beat = _start_celery(
            ["beat", "--loglevel", "INFO", "--schedule", str(tmp_path / "beat-schedule")],
            queue,
            tmp_path / "beat.log",
            CELERY_HEALTH_INTERVAL_SECONDS="1",
        )
    try:
        yield beat
    finally:
        beat.stop()


@pytest.fixture
def _close_http_sessions() -> Iterator[None]:
    """fsspec keeps its aiohttp sessions (and their keep-alive sockets) in cached filesystems;
    close them, so the live server's request threads end and release their DB connections."""
    from fsspec.implementations.http import HTTPFileSystem

    yield
    for fs in list(HTTPFileSystem._cache.values()):
        if fs._session is not None:
            HTTPFileSystem.close_session(fs.loop, fs._session)
    HTTPFileSystem.clear_instance_cache()
