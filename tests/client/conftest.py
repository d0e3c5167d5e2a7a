"""The ``databounty`` client against a live server (pytest-django's ``live_server``, a real
HTTP server on loopback over the test database) and the test's anvil chain.

``cli(...)`` runs the command in-process through ``databounty.cli.main(argv)`` and returns its
exit code and output; the client's config folder is the test's own (``XDG_CONFIG_HOME``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from payments.integrations.anvil import DevAccount

# Loading a release with `datasets` must never try the Hugging Face Hub; the test only talks to
# the live server on loopback (huggingface_hub reads these once, at import).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, live_server: Any) -> Path:
    """The client's config folder, empty, and DATABOUNTY_URL pointing at the live server."""
    for name in list(os.environ):
        if name.startswith("DATABOUNTY_"):
            monkeypatch.delenv(name)
    home = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("DATABOUNTY_URL", live_server.url)
    return home / "databounty"


@pytest.fixture
def cli(
    config_home: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Run]:
    from databounty.cli import main

    monkeypatch.chdir(tmp_path)  # a download without --out lands in the test's folder

    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def key_file(tmp_path: Path) -> Callable[[DevAccount], Path]:
    """Writes a wallet's private key into a file, as a user keeps it."""

    def write(account: DevAccount) -> Path:
        path = tmp_path / f"key-{account.address[:10]}.hex"
        path.write_text(account.private_key.removeprefix("0x") + "\n")
        path.chmod(0o600)
        return path

    return write


@pytest.fixture
def no_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The upload is the point: its validation is not enqueued (no worker would take it)."""
    from datasets_app.tasks import validate_contribution

    monkeypatch.setattr(validate_contribution, "delay", lambda *args, **kwargs: None)


@pytest.fixture
def hf_online_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """`datasets` refuses every URL while offline; these tests read from the live server on
    loopback only."""
    import datasets
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
