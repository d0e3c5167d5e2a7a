"""The installed `databounty` console script in its own process: a real Ctrl-C (SIGINT) in the
middle of an upload, and the same command run again finishing it from the server's offset."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from datasets_app.models import Contribution, UploadSession
from marketplace.accounts.services.api_tokens import api_token_create
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

CONSOLE_SCRIPT = Path(sys.executable).with_name("databounty")
CHUNK = 4096


def console(*argv: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(CONSOLE_SCRIPT), *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.usefixtures("no_validation")
def test_ctrl_c_stops_an_upload_and_the_same_command_resumes_it(
    config_home: Path, live_server: Any, settings: Any, tmp_path: Path
) -> None:
    settings.UPLOAD_CHUNK_BYTES = CHUNK
    dataset = DatasetFactory.create(
        columns=[{"name": "text", "dtype": "string"}, {"name": "stars", "dtype": "int64"}],
        modality="tabular",
    )
    user = UserFactory.create()
    env = {
        **os.environ,
        "DATABOUNTY_TOKEN": api_token_create(user=user, name="ci", scopes=["read", "write"]).secret,
    }
    upload = tmp_path / "big.csv"
    upload.write_text(
        "text,stars\n" + "".join(f"kettle review number {i},{i % 5 + 1}\n" for i in range(30_000))
    )
    size = upload.stat().st_size  # about 0.9 MB: hundreds of chunks

    first = console("upload", dataset.slug, str(upload), env=env)
    deadline = time.monotonic() + 30
    while not UploadSession.objects.filter(received_bytes__gte=4 * CHUNK).exists():
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    _out, err = first.communicate(timeout=30)

    assert first.returncode == 130, err
    assert "Run the same command again" in err and "Traceback" not in err
    session = UploadSession.objects.get()
    stopped_at = session.received_bytes
    assert 0 < stopped_at < size and session.status == "receiving"

    second = console("upload", dataset.slug, str(upload), env=env)
    out, err = second.communicate(timeout=120)

    assert second.returncode == 0, err
    assert f"Resuming upload {session.pk} at {stopped_at} of {size} bytes." in err
    contribution = Contribution.objects.get()
    assert f"Contribution {contribution.pk} received" in out
    assert contribution.sha256 == hashlib.sha256(upload.read_bytes()).hexdigest()
    assert UploadSession.objects.count() == 1
