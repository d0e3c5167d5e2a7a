"""Licensed download throughput beside a plain static file served by the same server.

    .venv/bin/python -m bench.bench_downloads [--mb 200] [--repeat 3] [--range-mb 8]

Creates its own database `bench_downloads` and a scratch folder (media and static roots), stores
one release file of `--mb` MB of random bytes as a ready release licensed to a buyer with a
`download` API token, puts a copy of the same bytes in the static root, and starts gunicorn
(2 sync workers, loopback, free port) on them. Then, interleaved, median of `--repeat`:

- licensed: `GET /api/v1/files/<id>` with the Bearer token (token, license and release checks,
  then the file streamed from storage);
- ranged: the same file fetched as consecutive `Range: bytes=a-b` requests of `--range-mb` MB,
  as fsspec/`datasets` read it (each one a full authenticated request);
- baselines: `GET /static/bench/plain.bin` (WhiteNoise), same bytes, same server, whole and
  in the same ranges.

Prints MB/s for each and the ratios to the baselines; then the median milliseconds of one
two-byte range request (`Range: bytes=0-1`) to the API, to a signed link (`/downloads/<token>/`)
and to the static copy, interleaved, with each licensed path's ratio to static and PASS/FAIL
against the target (at most 3x). Checks every path's sha256 once.
Everything is dropped at the end.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from bench.measure import open_dataset, options
from bench.scratch_db import drop_database, recreate_database
from bench.servers import ROOT, free_port

DB_NAME = "bench_downloads"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
CHUNK = 1 << 20
TINY_REQUESTS = 200
TINY_TARGET = 3.0  # a licensed two-byte range costs at most this many static ones


def write_random(path: Path, size: int) -> str:
    """``size`` random bytes at ``path``; returns their sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(8 * CHUNK, left))
            digest.update(block)
            out.write(block)
            left -= len(block)
    return digest.hexdigest()


def seed(media_root: Path, plain: Path, sha256: str, size: int) -> tuple[int, str, str]:
    """A ready release whose one file is the bytes at ``plain`` (copied into media storage), a
    buyer licensed for it, their download token and a signed link: returns (file id, token
    secret, link path)."""
    from django.utils import timezone
    from eth_account import Account

    from datasets_app.models import DatasetRelease, ReleaseFile
    from marketplace.accounts.services.api_tokens import api_token_create
    from marketplace.core.models import User
    from payments.models import LicenseGrant, LicenseTier
    from payments.services.downloads import download_link_sign

    owner = User.objects.create_user(Account.create().address)
    buyer = User.objects.create_user(Account.create().address)
    dataset = open_dataset(owner=owner, title="Bench", slug="bench")
    dataset.save()
    release = DatasetRelease.objects.create(dataset=dataset, number=1, created_by=owner)
    stored = Path("releases/bench/v1/data/train-00000-of-00001.parquet")
    (media_root / stored).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(plain, media_root / stored)
    release_file = ReleaseFile.objects.create(
        release=release,
        name="data/train-00000-of-00001.parquet",
        file=str(stored),
        sha256=sha256,
        rows=0,
        size_bytes=size,
    )
    DatasetRelease.objects.filter(pk=release.pk).update(
        status="ready", content_hash=sha256, size_bytes=size, ready_at=timezone.now()
    )
    tier = LicenseTier.objects.create(dataset=dataset, name="Bench", spdx_id="CC-BY-4.0")
    grant = LicenseGrant.objects.create(buyer=buyer, dataset=dataset, tier=tier)
    grant.releases.add(release)
    secret = api_token_create(user=buyer, name="bench", scopes=["download"]).secret
    link = f"/downloads/{download_link_sign(user=buyer, release_file=release_file)}/"
    return release_file.pk, secret, link


def start_server(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(gunicorn),
                "marketplace.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                "2",
                "-k",
                "sync",  # gunicorn.conf.py asks for gthread; this measures plain sync workers
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{log.read_text()[-3000:]}")
            try:
                requests.head(f"http://127.0.0.1:{port}/static/bench/plain.bin", timeout=5)
                return process
            except requests.RequestException:  # not listening yet, or workers still booting
                time.sleep(0.2)
        raise SystemExit("gunicorn did not answer within 30 s")
    except BaseException:
        stop_server(process)
        raise


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def fetch_whole(url: str, headers: dict[str, str], digest: hashlib._Hash | None) -> int:
    total = 0
    with requests.get(url, headers=headers, stream=True, timeout=60) as response:
        response.raise_for_status()
        for block in response.iter_content(CHUNK):
            total += len(block)
            if digest is not None:
                digest.update(block)
    return total


def fetch_ranged(
    url: str, headers: dict[str, str], size: int, step: int, digest: hashlib._Hash | None
) -> int:
    total = 0
    with requests.Session() as session:
        for start in range(0, size, step):
            end = min(start + step, size) - 1
            response = session.get(
                url, headers={**headers, "Range": f"bytes={start}-{end}"}, timeout=60
            )
            assert response.status_code == 206, response.status_code
            total += len(response.content)
            if digest is not None:
                digest.update(response.content)
    return total


def timed_request(url: str, headers: dict[str, str]) -> float:
    """Milliseconds for a two-byte range: the per-request cost (auth, license, headers).
    (Two: WhiteNoise answers a one-byte range, ``bytes=0-0``, with 416.)"""
    started = time.perf_counter()
    response = requests.get(url, headers={**headers, "Range": "bytes=0-1"}, timeout=10)
    assert response.status_code == 206 and len(response.content) == 2
    return (time.perf_counter() - started) * 1000


def timed(fetch: Callable[[hashlib._Hash | None], int], size: int) -> float:
    started = time.perf_counter()
    assert fetch(None) == size
    return size / (time.perf_counter() - started) / 1e6  # MB/s


def main() -> None:
    args = options(__doc__, mb=200, repeat=3, range_mb=8).parse_args()
    size = args.mb * 1_000_000

    scratch = Path(tempfile.mkdtemp(prefix="bench-downloads-"))
    media_root, static_root = scratch / "media", scratch / "static"
    plain = static_root / "bench" / "plain.bin"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": DATABASE_URL,
        "DJANGO_MEDIA_ROOT": str(media_root),
        "DJANGO_STATIC_ROOT": str(static_root),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    recreate_database(DB_NAME)
    server = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        print(f"writing {args.mb} MB of random bytes ...", flush=True)
        sha256 = write_random(plain, size)
        file_id, secret, link = seed(media_root, plain, sha256, size)
        connections.close_all()

        port = free_port()
        server = start_server(port, env, scratch / "gunicorn.log")
        base = f"http://127.0.0.1:{port}"
        licensed_url = f"{base}/api/v1/files/{file_id}"
        auth = {"Authorization": f"Bearer {secret}"}
        step = args.range_mb * 1_000_000
        static_url = f"{base}/static/bench/plain.bin"
        ranges = f"{args.range_mb} MB ranges"
        runs: dict[str, Callable[[hashlib._Hash | None], int]] = {
            "static, whole file": lambda d: fetch_whole(static_url, {}, d),
            "licensed API, whole file": lambda d: fetch_whole(licensed_url, auth, d),
            f"static, {ranges}": lambda d: fetch_ranged(static_url, {}, size, step, d),
            f"licensed API, {ranges}": lambda d: fetch_ranged(licensed_url, auth, size, step, d),
        }
        baseline_of = {
            "licensed API, whole file": "static, whole file",
            f"licensed API, {ranges}": f"static, {ranges}",
        }
        for name, fetch in runs.items():  # warm-up, and every path serves the exact bytes
            digest = hashlib.sha256()
            assert fetch(digest) == size and digest.hexdigest() == sha256, name
        assert requests.get(licensed_url, timeout=10).status_code == 401  # no token, no bytes

        speeds: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeat):
            for name, fetch in runs.items():
                speeds[name].append(timed(fetch, size))
        medians = {name: statistics.median(values) for name, values in speeds.items()}
        print(f"\n{args.mb} MB over loopback, gunicorn (2 sync workers), median of {args.repeat}:")
        for name, values in speeds.items():
            runs_text = ", ".join(f"{v:.0f}" for v in values)
            baseline = baseline_of.get(name)
            ratio = f"  x{medians[name] / medians[baseline]:.2f} of {baseline}" if baseline else ""
            print(f"  {name:<28} {medians[name]:7.0f} MB/s  ({runs_text}){ratio}")
        tiny: dict[str, list[float]] = {"licensed API": [], "signed link": [], "static": []}
        for _ in range(TINY_REQUESTS):  # interleaved, so a busy moment hits all three
            tiny["licensed API"].append(timed_request(licensed_url, auth))
            tiny["signed link"].append(timed_request(f"{base}{link}", {}))
            tiny["static"].append(timed_request(static_url, {}))
        tiny_ms = {name: statistics.median(values) for name, values in tiny.items()}
        print(f"\n  a two-byte range request, median of {TINY_REQUESTS}:")
        for name, ms in tiny_ms.items():
            times = ms / tiny_ms["static"]
            verdict = (
                ""
                if name == "static"
                else (
                    f"  x{times:.2f} of static: {'PASS' if times <= TINY_TARGET else 'FAIL'}"
                    f" (target <= {TINY_TARGET:g}x)"
                )
            )
            print(f"  {name:<28} {ms:7.2f} ms{verdict}")
    finally:
        if server is not None:
            stop_server(server)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 - best effort before dropping the database
            pass
        drop_database(DB_NAME)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
