"""`databounty upload` (resumable chunks; after Ctrl-C the same command sends only the rest) and
`databounty status` (waits for a real worker's validation)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datasets_app.models import Contribution, UploadSession
from marketplace.accounts.services.api_tokens import api_token_create
from tests.client.conftest import Run
from tests.conftest import CeleryProcess
from tests.factories import ContributionFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

TABULAR = [{"name": "text", "dtype": "string"}, {"name": "stars", "dtype": "int64"}]
CHUNK = 1024


@pytest.fixture
def contributor(cli: Callable[..., Run]) -> Any:
    user = UserFactory.create()
    secret = api_token_create(user=user, name="cli", scopes=["read", "write"]).secret
    assert cli("login", "--token", secret).code == 0
    return user


@pytest.fixture
def worker(settings: Any, celery_worker: CeleryProcess, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The session's real worker, reading the files the live server stores, on its own queue
    (the default one on the test broker is shared by every run on this machine)."""
    from datasets_app.tasks import validate_contribution

    settings.MEDIA_ROOT = celery_worker.media_root
    monkeypatch.setattr(validate_contribution, "queue", celery_worker.queue, raising=False)
    monkeypatch.setattr(validate_contribution, "_exec_options", None)  # Celery caches them
    return celery_worker


def reviews_csv(path: Path, rows: int) -> Path:
    lines = ["text,stars"] + [f"review {i} of a kettle that works,{i % 5 + 1}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.usefixtures("no_validation")
def test_an_interrupted_upload_resumes_from_the_servers_offset(
    cli: Callable[..., Run],
    contributor: Any,
    settings: Any,
    tmp_path: Path,
    config_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.UPLOAD_CHUNK_BYTES = CHUNK
    dataset = DatasetFactory.create(columns=TABULAR, modality="tabular")
    upload = reviews_csv(tmp_path / "kettles.csv", 150)
    size = upload.stat().st_size
    assert size > 4 * CHUNK
    sha256 = hashlib.sha256(upload.read_bytes()).hexdigest()

    # Ctrl-C while the third chunk's progress is drawn: two chunks have reached the server.
    import databounty.cli

    real_bar = databounty.cli.byte_bar
    chunks: list[int] = []

    def bar_pressing_ctrl_c(start: int, total: int, description: str = "") -> Any:
        advance = real_bar(start, total, description)

        def on_chunk(n: int) -> None:
            chunks.append(n)
            if len(chunks) == 2:
                raise KeyboardInterrupt
            advance(n)

        return on_chunk

    monkeypatch.setattr(databounty.cli, "byte_bar", bar_pressing_ctrl_c)
    stopped = cli("upload", dataset.slug, str(upload))

    assert stopped.code == 130
    assert "Run the same command again" in stopped.err
    session = UploadSession.objects.get()
    assert (session.status, session.received_bytes) == ("receiving", 2 * CHUNK)
    state = json.loads((config_home / "uploads" / f"{sha256}.json").read_text())
    assert state["upload_id"] == str(session.pk)
    assert not Contribution.objects.exists()

    monkeypatch.setattr(databounty.cli, "byte_bar", real_bar)
    resumed = cli("upload", dataset.slug, str(upload))

    assert resumed.code == 0, resumed.err
    assert f"Resuming upload {session.pk} at {2 * CHUNK} of {size} bytes." in resumed.err
    contribution = Contribution.objects.get()
    assert f"Contribution {contribution.pk} received" in resumed.out
    assert (contribution.sha256, contribution.size_bytes) == (sha256, size)
    assert contribution.contributor == contributor
    session.refresh_from_db()
    assert (session.status, session.received_bytes) == ("complete", size)
    assert UploadSession.objects.count() == 1  # resumed, not started again
    assert not (config_home / "uploads" / f"{sha256}.json").exists()

    # The same file again is refused before a byte is sent, with the server's words.
    again = cli("upload", dataset.slug, str(upload))
    assert again.code == 1
    assert "(HTTP 409, duplicate_file)" in again.err
    assert UploadSession.objects.count() == 1


@pytest.mark.worker
def test_status_waits_for_a_real_workers_validation(
    worker: CeleryProcess, cli: Callable[..., Run], contributor: Any, tmp_path: Path
) -> None:
    dataset = DatasetFactory.create(columns=TABULAR, modality="tabular")
    upload = tmp_path / "mixed.csv"
    upload.write_text("text,stars\nfine kettle,4\nbad row,no\n")
    uploaded = cli("upload", dataset.slug, str(upload))
    assert uploaded.code == 0, uploaded.err
    contribution = Contribution.objects.get()

    run = cli("status", str(contribution.pk), "--interval", "0.2", "--timeout", "60")

    assert run.code == 0, run.err + worker.log()[-3000:]
    assert f"Contribution {contribution.pk} to {dataset.slug}: partially_accepted" in run.out
    assert "rows: 2 read, 1 accepted, 1 rejected" in run.out


def test_status_of_someone_elses_contribution_is_refused(
    cli: Callable[..., Run], contributor: Any
) -> None:
    other = ContributionFactory.create()  # someone else's
    run = cli("status", str(other.pk), "--no-wait")

    assert run.code == 1
    assert "(HTTP 404, " in run.err
