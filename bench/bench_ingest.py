"""Upload + ingest of a large CSV through the real services, against the real PostgreSQL.

    .venv/bin/python bench/bench_ingest.py [--rows 1000000] [--repeat 1] [--workers 2]
    BENCH_PROFILE=/tmp/profile.txt .venv/bin/python bench/bench_ingest.py --rows 100000

For each run, in a fresh child process (so its peak memory is its own):
  upload   the file goes through the resumable chunked upload (8 MiB chunks), is hashed and stored
  ingest   the upload's on-commit task is run by a real Celery worker (prefork, ``--workers``
           processes) on a queue of its own: validation reads the file with the HF datasets
           readers (in shards of VALIDATION_SHARD_ROWS when it is bigger), runs every check,
           and COPYs the items; timed from the upload's completion to the verdict
  baseline the same file parsed by pyarrow.csv alone (the floor: no checks, no database)
Prints rows/s through all checks beside pyarrow's rate, the peak RSS of the largest worker
process, medians over the runs, and their ratio. With BENCH_PROFILE the ingest runs in the bench
process instead, unsharded, under cProfile, and the profile is written to that file.
Uses its own database (databounty_bench, recreated each run) and a temporary media folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch_db import recreate_database  # noqa: E402

DB_NAME = "databounty_bench"


def make_csv(path: Path, rows: int) -> None:
    """Rows of 14 words drawn at random from a few hundred, so that (like real reviews) no two
    are near-duplicates, and every row passes every check."""
    rng = random.Random(2026)  # noqa: S311 - benchmark data
    stems = [
        "fast",
        "broken",
        "lovely",
        "cheap",
        "late",
        "great",
        "noisy",
        "solid",
        "meh",
        "ok",
        "strap",
        "screen",
        "battery",
        "cable",
        "box",
        "lid",
        "motor",
        "lens",
        "zip",
        "seal",
    ]
    vocabulary = [
        f"{stem}{suffix}"
        for stem in stems
        for suffix in ("", "er", "est", "ly", "s", "ish", "ness", "ed", "ing", "y", "ful", "less")
    ]
    with open(path, "w") as out:
        out.write("text,stars\n")
        for i in range(rows):
            words = " ".join(rng.choices(vocabulary, k=14))
            out.write(f"{words},{1 + i % 5}\n")


def child(mode: str, path: Path) -> dict[str, float]:
    """Runs in a fresh process: one phase, reporting seconds and its own peak RSS."""
    if mode == "baseline":
        import pyarrow.csv as pacsv

        start = time.perf_counter()
        rows = pacsv.read_csv(path).num_rows
        seconds = time.perf_counter() - start
    else:
        import django

        django.setup()
        from django.core.management import call_command

        from datasets_app.models import Contribution, Dataset
        from datasets_app.services import (
            contribution_validate,
            upload_chunk_append,
            upload_session_complete,
            upload_session_create,
        )
        from marketplace.core.models import User

        call_command("migrate", verbosity=0)
        owner = User.objects.create_user("0x" + os.urandom(20).hex())
        dataset = Dataset.objects.create(
            owner=owner, title="bench", slug=f"bench-{os.getpid()}", description="bench",
            modality="tabular", label_task="single_label", label_classes=["a", "b"],
            columns=[{"name": "text", "dtype": "string"}, {"name": "stars", "dtype": "int64"}],
            status="open",
        )  # fmt: skip
        worker = None
        if not os.environ.get("BENCH_PROFILE"):
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "--loglevel",
                 "WARNING", "--concurrency", os.environ["BENCH_WORKERS"], "-Q",
                 os.environ["CELERY_TASK_DEFAULT_QUEUE"], "-n", f"bench-{os.getpid()}@%h"],
                cwd=ROOT, stdout=sys.stderr, stderr=sys.stderr,
            )  # fmt: skip
            _wait_for_worker()
        start = time.perf_counter()
        size = path.stat().st_size
        session = upload_session_create(
            dataset=dataset, user=owner, filename="bench.csv", total_size=size
        )
        chunk = 8 * 1024 * 1024
        with open(path, "rb") as source:
            offset = 0
            while block := source.read(chunk):
                upload_chunk_append(session_id=session.pk, user=owner, offset=offset, data=block)
                offset += len(block)
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            from django.conf import settings

            settings.VALIDATION_SHARD_ROWS = 10**12  # one run, in this process
            with patch("datasets_app.tasks.validate_contribution.delay"):
                contribution = upload_session_complete(session_id=session.pk, user=owner)
            upload_seconds = time.perf_counter() - start
            start = time.perf_counter()
            profiler = cProfile.Profile()
            profiler.runcall(contribution_validate, contribution_id=contribution.pk)
            seconds = time.perf_counter() - start
            with open(os.environ["BENCH_PROFILE"], "w") as report:
                pstats.Stats(profiler, stream=report).sort_stats("cumulative").print_stats(60)
                pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(40)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            worker_rss = usage.ru_maxrss / 1024
            worker_cpu = usage.ru_utime + usage.ru_stime
            machine_cpu = 0.0
        else:
            try:
                contribution = upload_session_complete(session_id=session.pk, user=owner)
                upload_seconds = time.perf_counter() - start
                start = time.perf_counter()
                machine_before = _machine_busy_seconds()
                while Contribution.objects.get(pk=contribution.pk).status in (
                    "uploaded",
                    "validating",
                ):
                    time.sleep(0.05)
                seconds = time.perf_counter() - start
                machine_cpu = _machine_busy_seconds() - machine_before
            finally:
                assert worker is not None
                worker.terminate()
                worker.wait(timeout=60)
            # The largest process of the worker's tree (Linux: RUSAGE_CHILDREN's maxrss is the
            # biggest descendant that was waited for, pool processes included).
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            worker_rss = usage.ru_maxrss / 1024
            worker_cpu = usage.ru_utime + usage.ru_stime
        contribution = Contribution.objects.get(pk=contribution.pk)
        rows = contribution.rows_accepted
        assert contribution.status == "accepted", (contribution.status, contribution.report)
        return {
            "rows": rows,
            "upload_seconds": upload_seconds,
            "seconds": seconds,
            "peak_rss_mb": worker_rss,
            "worker_cpu_seconds": worker_cpu,
            "machine_cpu_seconds": machine_cpu,
            "shards": contribution.report.get("shards", 1),
        }
    return {
        "rows": rows,
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat): workers, PostgreSQL, and
    whatever else runs on the machine."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _wait_for_worker() -> None:
    from marketplace.celery import app

    deadline = time.monotonic() + 60
    while not app.control.inspect(timeout=1).ping():
        if time.monotonic() > deadline:
            raise RuntimeError("the bench worker did not start")
    time.sleep(1)  # every pool process up


def run_child(mode: str, path: Path, media: Path, workers: int) -> dict[str, float]:
    env = {
        **os.environ,
        "BENCH_WORKERS": str(workers),
        "CELERY_TASK_DEFAULT_QUEUE": f"bench-ingest-{os.getpid()}",
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "DJANGO_MEDIA_ROOT": str(media),
        "UPLOAD_TMP_DIR": str(media / "uploads"),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (prefork)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        make_csv(path, args.rows)
        print(f"file: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB")
        ingest, baseline = [], []
        for run in range(args.repeat):
            recreate_database(DB_NAME)
            baseline.append(run_child("baseline", path, Path(tmp), args.workers))
            ingest.append(run_child("ingest", path, Path(tmp) / f"media-{run}", args.workers))
            b, i = baseline[-1], ingest[-1]
            print(
                f"run {run + 1}: upload {args.rows / i['upload_seconds']:,.0f} rows/s "
                f"({i['upload_seconds']:.1f} s); ingest through all checks "
                f"{i['rows'] / i['seconds']:,.0f} rows/s ({i['seconds']:.1f} s, "
                f"{i['shards']:.0f} shard(s) on {args.workers} worker processes using "
                f"{i['worker_cpu_seconds']:.0f} s of CPU, the machine "
                f"{i['machine_cpu_seconds']:.0f} s with PostgreSQL; peak worker RSS "
                f"{i['peak_rss_mb']:.0f} MB); pyarrow.csv parse of the same file "
                f"{b['rows'] / b['seconds']:,.0f} rows/s ({b['seconds']:.2f} s, "
                f"peak {b['peak_rss_mb']:.0f} MB)"
            )
        med = statistics.median
        ingest_rate = med(i["rows"] / i["seconds"] for i in ingest)
        upload_rate = med(args.rows / i["upload_seconds"] for i in ingest)
        base_rate = med(b["rows"] / b["seconds"] for b in baseline)
        print(f"median upload: {upload_rate:,.0f} rows/s")
        print(f"median ingest (all checks): {ingest_rate:,.0f} rows/s, "
              f"peak worker RSS {med(i['peak_rss_mb'] for i in ingest):.0f} MB")  # fmt: skip
        print(f"median baseline (pyarrow.csv, no checks, no DB): {base_rate:,.0f} rows/s, "
              f"peak RSS {med(b['peak_rss_mb'] for b in baseline):.0f} MB")  # fmt: skip
        print(f"ratio ingest / baseline: {ingest_rate / base_rate:.2e}")


if __name__ == "__main__":
    main()
