"""`databounty download` (every file of a licensed release, each checked against its SHA-256,
a partial file continued) and `databounty.load()` (a `datasets.Dataset` read from the server)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import databounty
import pytest

from datasets_app.models import Dataset, DatasetRelease
from marketplace.accounts.services.api_tokens import api_token_create
from tests.client.conftest import Run
from tests.factories import DatasetFactory, UserFactory, make_grant, make_release

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def licensed(cli: Callable[..., Run]) -> tuple[Dataset, DatasetRelease, str]:
    """A dataset with two releases; the signed-in buyer holds a license for v2 only."""
    dataset = DatasetFactory.create(slug="reviews")
    make_release(dataset, number=1, shards=2, rows=40)
    v2 = make_release(dataset, number=2, shards=3, rows=25)
    buyer = UserFactory.create()
    make_grant(buyer, dataset, [v2])
    secret = api_token_create(user=buyer, name="cli", scopes=["read", "download"]).secret
    assert cli("login", "--token", secret).code == 0
    return dataset, v2, secret


def test_download_saves_every_file_and_checks_its_sha256(
    cli: Callable[..., Run], licensed: tuple[Dataset, DatasetRelease, str], tmp_path: Path
) -> None:
    _dataset, release, _secret = licensed
    out = tmp_path / "out"

    run = cli("download", "reviews", "--out", str(out))

    assert run.code == 0, run.err
    files = list(release.files.all())
    assert len(files) == 4  # three shards and the card
    for f in files:
        saved = out / f.name
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == f.sha256
        assert f"{saved}  sha256 {f.sha256} ok" in run.out
    assert not list(out.rglob("*.part"))


def test_download_keeps_a_file_already_there_and_intact(
    cli: Callable[..., Run], licensed: tuple[Dataset, DatasetRelease, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert cli("download", "reviews", "--out", str(out)).code == 0
    saved = {path: path.stat().st_ino for path in out.rglob("*") if path.is_file()}

    again = cli("download", "reviews", "--out", str(out))

    assert again.code == 0, again.err
    # Not written again: a fetched file replaces the old one (another inode).
    assert {path: path.stat().st_ino for path in out.rglob("*") if path.is_file()} == saved
    assert again.out.count(" ok\n") == len(saved) == 4


def _half_a_shard(
    release: DatasetRelease, out: Path, *, spoiled: bool = False
) -> tuple[Any, bytes, Path]:
    """The release's second shard, its bytes, and its ``.part`` left under ``out`` holding the
    first half (every bit flipped when ``spoiled``: not the file's bytes)."""
    shard = release.files.get(name="data/train-00001-of-00003.parquet")
    whole = shard.file.read()
    part = out / "data" / "train-00001-of-00003.parquet.part"
    part.parent.mkdir(parents=True)
    half = whole[: len(whole) // 2]
    part.write_bytes(bytes(b ^ 0xFF for b in half) if spoiled else half)
    return shard, whole, part


def test_download_continues_a_partial_file(
    cli: Callable[..., Run],
    licensed: tuple[Dataset, DatasetRelease, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out"
    shard, whole, part = _half_a_shard(licensed[1], out)
    import databounty.cli

    starts: dict[str, int] = {}
    real_bar = databounty.cli.byte_bar

    def recording_bar(start: int, total: int, description: str = "") -> Any:
        starts[description] = start
        return real_bar(start, total, description)

    monkeypatch.setattr(databounty.cli, "byte_bar", recording_bar)

    run = cli("download", "reviews", "--version", "2", "--out", str(out))

    assert run.code == 0, run.err
    # The server answered the Range request with the second half only.
    assert starts[shard.name] == len(whole) // 2
    assert starts["data/train-00000-of-00003.parquet"] == 0
    assert (out / shard.name).read_bytes() == whole
    assert not part.exists()


def test_download_starts_again_when_the_partial_file_is_bad(
    cli: Callable[..., Run], licensed: tuple[Dataset, DatasetRelease, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shard, whole, part = _half_a_shard(licensed[1], out, spoiled=True)

    run = cli("download", "reviews", "--version", "2", "--out", str(out))

    assert run.code == 0, run.err
    assert (out / shard.name).read_bytes() == whole
    assert not part.exists()


def test_download_refuses_a_file_whose_bytes_do_not_match(
    cli: Callable[..., Run], licensed: tuple[Dataset, DatasetRelease, str], tmp_path: Path
) -> None:
    _dataset, release, _secret = licensed
    shard = release.files.get(name="data/train-00000-of-00003.parquet")
    stored = Path(shard.file.path)
    corrupted = bytearray(stored.read_bytes())
    corrupted[100] ^= 0xFF  # one flipped byte on the server's disk
    stored.write_bytes(bytes(corrupted))
    out = tmp_path / "out"

    run = cli("download", "reviews", "--out", str(out))

    assert run.code == 1
    assert run.err.strip().endswith(
        f"error: data/train-00000-of-00003.parquet does not match its SHA-256 ({shard.sha256}); "
        "the download was deleted. (checksum_mismatch)"
    )
    assert not (out / shard.name).exists()
    assert not list(out.rglob("*.part"))


def test_download_of_a_version_not_licensed_is_refused(
    cli: Callable[..., Run], licensed: tuple[Dataset, DatasetRelease, str], tmp_path: Path
) -> None:
    run = cli("download", "reviews", "--version", "1", "--out", str(tmp_path / "v1"))

    assert run.code == 1
    assert "(HTTP 40" in run.err and "Traceback" not in run.err
    assert not (tmp_path / "v1").exists()


@pytest.mark.usefixtures("_close_http_sessions", "hf_online_for_loopback")
def test_load_returns_the_licensed_release_as_a_dataset(
    licensed: tuple[Dataset, DatasetRelease, str], tmp_path: Path, live_server: Any
) -> None:
    loaded = databounty.load("reviews", cache_dir=str(tmp_path / "hf-cache"))

    assert loaded.num_rows == 75  # v2: three shards of 25 rows
    assert loaded.column_names == ["text", "label", "score"]
    assert sorted(loaded["text"])[:2] == ["v2 shard 0 review 0", "v2 shard 0 review 1"]
