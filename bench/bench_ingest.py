"""Upload + ingest of a large CSV through the real services, against the real PostgreSQL.

    .venv/bin/python -m bench.bench_ingest [--rows 1000000] [--repeat 3] [--workers 2]
    BENCH_PROFILE=/tmp/profile.txt .venv/bin/python -m bench.bench_ingest --rows 100000 --repeat 1

The file: reviews of 20-40 English words (sentences built from a fixed vocabulary of common
words) and a star rating; the dataset's language is ``en`` and every check runs: types, exact
and near duplicates, personal data (rejected), text sanity, language.
For each run, in a fresh child process (so its peak memory is its own):
  upload   the file goes through the resumable chunked upload (8 MiB chunks), is hashed and stored
  ingest   the upload's on-commit task is run by a real Celery worker (prefork, ``--workers``
           processes, VALIDATION_PARALLELISM set to match) on a queue of its own: validation
           reads the file with the HF datasets readers (in one shard per worker process above
           VALIDATION_SHARD_ROWS), runs every check, and COPYs the items; timed from the
           upload's completion to the verdict
  baseline the same file parsed by pyarrow.csv alone (the floor: no checks, no database)
  copy     the same file COPYed by PostgreSQL into a plain table (no checks, no indexes)
Prints rows/s through all checks, the 1M-row wall time (measured at --rows 1000000, else
projected), the peak RSS of the largest worker process, cores busy (the worker tree's CPU
seconds during the ingest / its wall seconds), and the ratios to pyarrow and to COPY: medians
over the runs; then each target of issue 13, met or how far off. With BENCH_PROFILE the
ingest runs in the bench process instead, unsharded, under cProfile, and the profile is written
to that file.
Uses its own database (databounty_bench, recreated each run) and a temporary media folder.
"""

from __future__ import annotations

import argparse
import csv
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

from bench.scratch_db import recreate_database
from bench.servers import ROOT

DB_NAME = "databounty_bench"


# Plausible English reviews from a fixed vocabulary of common words, so the language check
# (dataset language "en") has real sentences to detect, as it would on a real upload. Sentences
# are mostly slots (few fixed words), so two reviews share about as few word pairs as real
# ones do and the near-duplicate check is not fed a crowd of look-alikes.
_VOCABULARY = """
det: the this that my our your his her their every one another each some
adj: small new old good great cheap strong quiet heavy light bright simple useful solid nice clean
  warm soft easy fine large little happy perfect friendly careful early late long short thin
  thick dark fresh sweet hard smooth loud sharp safe busy strange lovely pretty ugly tiny huge
  fast slow proper rough wide narrow deep flat empty full real common modern classic basic handy
  sturdy fragile noisy silent cold hot dry wet broken expensive awful decent excellent poor
  reliable comfortable stylish practical elegant cheerful gentle plain rich tidy messy famous
  local foreign
noun: lamp kettle chair table phone cable battery screen box handle door window kitchen garden
  bag jacket shoe camera radio clock bottle pillow blanket printer charger speaker bike desk
  mirror tent knife pan brush watch book toy sofa carpet curtain fridge oven mug plate spoon fork
  towel shirt dress coat hat glove sock belt wallet helmet ladder hammer drill saw rope bucket
  basket candle vase frame poster guitar piano drum keyboard mouse monitor laptop tablet router
  headset blender toaster heater fan mattress stroller backpack suitcase umbrella scarf boot
  sandal tray jar lid cup bowl shelf drawer cabinet bench stool hose mower grill cooler flask
  thermos
person: wife husband son daughter friend neighbour mother father brother sister team family
  children boss guests uncle aunt cousin grandmother grandfather partner colleague teacher
  students kids baby dog cat
past: arrived worked broke lasted looked felt came stopped started changed helped moved turned
  stayed fitted cracked leaked failed shrank faded melted wobbled rattled squeaked survived
  improved impressed surprised disappointed delighted annoyed confused
verb: use like love need want buy keep carry clean open fix recommend return order charge wash
  pack hang fold store mend replace borrow share test try compare choose prefer enjoy hate
  notice admire
adv: well quickly slowly really nearly always often never still already quite very almost easily
  badly soon finally suddenly honestly simply clearly gently loudly quietly rarely mostly barely
  hardly truly
prep: with after before under near inside around without for beside behind over
time: days weeks months years hours nights mornings trips winters summers
number: two three four five six seven eight ten twelve many several few
conj: and but so because although while since unless
"""
_WORDS = {
    slot.strip(): words.split()
    for slot, words in (
        entry.split(":") for entry in _VOCABULARY.replace("\n  ", " ").strip().splitlines()
    )
}
_PATTERNS = [
    "{det} {adj} {noun} {past} {adv} {prep} {det} {noun}",
    "I {verb} {det} {noun} {conj} it is {adj}",
    "{det} {person} {past} {prep} {det} {adj} {noun}",
    "after {number} {time} {det} {noun} {past} {adv}",
    "{det} {noun} is {adv} {adj} {conj} {det} {noun} {past}",
    "we {verb} {det} {adj} {noun} {prep} {det} {person}",
    "{det} {person} {adv} {verb}s {det} {adj} {noun}",
    "{adv} {det} {adj} {noun} {past} {prep} {number} {time}",
    "you {verb} {det} {noun} {conj} {det} {person} {past}",
    "{det} {adj} {adj} {noun} {past} {det} {person}",
]


def _sentence(rng: random.Random) -> str:
    words = _WORDS
    return rng.choice(_PATTERNS).format_map({k: rng.choice(v) for k, v in words.items()})


def review(rng: random.Random) -> str:
    """20 to 40 words of sentences (the last one cut at the length), capitalised, with stops."""
    target = rng.randint(20, 40)
    words: list[str] = []
    while len(words) < target:
        sentence = _sentence(rng).split()
        sentence[0] = sentence[0].capitalize()
        sentence[-1] += "."
        words += sentence
    words = words[:target]
    words[-1] = words[-1].rstrip(".") + "."
    return " ".join(words)


def make_csv(path: Path, rows: int) -> None:
    """``rows`` reviews of 20-40 English words (no two near-duplicates: sentences are drawn
    from thousands of fillings) with a star rating; every row should pass every check."""
    rng = random.Random(2026)  # noqa: S311 - benchmark data
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["text", "stars"])
        for i in range(rows):
            writer.writerow([review(rng), 1 + i % 5])


def child(mode: str, path: Path) -> dict[str, float]:
    """Runs in a fresh process: one phase, reporting seconds and its own peak RSS."""
    if mode == "baseline":
        import pyarrow.csv as pacsv

        start = time.perf_counter()
        rows = pacsv.read_csv(path).num_rows
        seconds = time.perf_counter() - start
    elif mode == "copy":
        rows, seconds = _copy_baseline(path)
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
            status="open", language="en", pii_policy="reject",
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
            machine_before = _machine_busy_seconds()
            cpu_before = time.process_time()
            profiler = cProfile.Profile()
            profiler.runcall(contribution_validate, contribution_id=contribution.pk)
            seconds = time.perf_counter() - start
            machine_cpu = _machine_busy_seconds() - machine_before
            worker_cpu = time.process_time() - cpu_before
            with open(os.environ["BENCH_PROFILE"], "w") as report:
                pstats.Stats(profiler, stream=report).sort_stats("cumulative").print_stats(60)
                pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(40)
            worker_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        else:
            assert worker is not None
            try:
                contribution = upload_session_complete(session_id=session.pk, user=owner)
                upload_seconds = time.perf_counter() - start
                start = time.perf_counter()
                machine_before = _machine_busy_seconds()
                worker_before = _tree_cpu_seconds(worker.pid)
                while Contribution.objects.get(pk=contribution.pk).status in (
                    "uploaded",
                    "validating",
                ):
                    time.sleep(0.05)
                seconds = time.perf_counter() - start
                machine_cpu = _machine_busy_seconds() - machine_before
                # The validation's CPU alone (not the worker's start-up), its pool included.
                worker_cpu = _tree_cpu_seconds(worker.pid) - worker_before
            finally:
                worker.terminate()
                worker.wait(timeout=60)
            # The largest process of the worker's tree (Linux: RUSAGE_CHILDREN's maxrss is the
            # biggest descendant that was waited for, pool processes included).
            worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        contribution = Contribution.objects.get(pk=contribution.pk)
        rows = contribution.rows_total  # every row went through every check
        assert contribution.status in ("accepted", "partially_accepted"), (
            contribution.status,
            contribution.report,
        )
        return {
            "rows": rows,
            "rejected": contribution.rows_rejected,
            "reasons": contribution.report.get("reasons", {}),
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


def _copy_baseline(path: Path) -> tuple[int, float]:
    """PostgreSQL COPY of the same file into a plain table (no indexes, no checks): the
    floor for writing these rows at all, on the same server."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute("CREATE TABLE bench_copy (text text, stars bigint)")
        start = time.perf_counter()
        with conn.cursor() as cur, open(path, "rb") as source:
            with cur.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                while block := source.read(1024 * 1024):
                    copy.write(block)
            rows = cur.rowcount
        seconds = time.perf_counter() - start
        conn.execute("DROP TABLE bench_copy")
    return rows, seconds


def _tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants alive now (/proc)."""
    ticks = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            ticks += sum(map(int, stat.rsplit(")", 1)[1].split()[11:13]))  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += map(int, (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended meanwhile
    return ticks / os.sysconf("SC_CLK_TCK")


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
        "VALIDATION_PARALLELISM": str(workers),  # the shard plan: one per worker process
        "CELERY_TASK_DEFAULT_QUEUE": f"bench-ingest-{os.getpid()}",
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "DJANGO_MEDIA_ROOT": str(media),
        "UPLOAD_TMP_DIR": str(media / "uploads"),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_ingest", "--child", mode, str(path)],
        env=env, cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode:
        sys.stderr.write(out.stderr[-6000:])
        out.check_returncode()
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs; medians are printed")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (prefork)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        make_csv(path, args.rows)
        words = statistics.mean(len(review.split()) for review in _sample_texts(path))
        size = path.stat().st_size / 1e6
        print(f"file: {args.rows:,} rows of 20-40 English words (mean {words:.1f}), "
              f"{size:.1f} MB; dataset language 'en', every check on")  # fmt: skip
        ingest, baseline, copies = [], [], []

        def where(i: dict[str, float]) -> str:
            if os.environ.get("BENCH_PROFILE"):
                return "1 run in the bench process under cProfile"
            return f"{i['shards']:.0f} shard(s) on {args.workers} worker processes"

        for run in range(args.repeat):
            recreate_database(DB_NAME)
            baseline.append(run_child("baseline", path, Path(tmp), args.workers))
            copies.append(run_child("copy", path, Path(tmp), args.workers))
            ingest.append(run_child("ingest", path, Path(tmp) / f"media-{run}", args.workers))
            b, c, i = baseline[-1], copies[-1], ingest[-1]
            print(
                f"run {run + 1}: upload {args.rows / i['upload_seconds']:,.0f} rows/s "
                f"({i['upload_seconds']:.1f} s); ingest through all checks "
                f"{i['rows'] / i['seconds']:,.0f} rows/s ({i['seconds']:.1f} s, "
                f"{where(i)}, "
                f"{i['worker_cpu_seconds']:.0f} s of worker CPU = "
                f"{i['worker_cpu_seconds'] / i['seconds']:.2f} cores busy, the machine "
                f"{i['machine_cpu_seconds'] / i['seconds']:.2f} with PostgreSQL; peak worker RSS "
                f"{i['peak_rss_mb']:.0f} MB; {i['rejected']:.0f} rejected {i['reasons']}); "
                f"pyarrow.csv {b['rows'] / b['seconds']:,.0f} rows/s ({b['seconds']:.2f} s); "
                f"PostgreSQL COPY {c['rows'] / c['seconds']:,.0f} rows/s ({c['seconds']:.2f} s)"
            )
        med = statistics.median
        ingest_rate = med(i["rows"] / i["seconds"] for i in ingest)
        upload_rate = med(args.rows / i["upload_seconds"] for i in ingest)
        base_rate = med(b["rows"] / b["seconds"] for b in baseline)
        copy_rate = med(c["rows"] / c["seconds"] for c in copies)
        busy = med(i["worker_cpu_seconds"] / i["seconds"] for i in ingest)
        machine = med(i["machine_cpu_seconds"] / i["seconds"] for i in ingest)
        million = med(i["seconds"] for i in ingest) if args.rows == 1_000_000 else None
        print(f"medians of {args.repeat} run(s):")
        print(f"  upload: {upload_rate:,.0f} rows/s")
        print(f"  ingest (all checks): {ingest_rate:,.0f} rows/s; 1M rows: "
              + (f"{million:.1f} s" if million else f"{1_000_000 / ingest_rate:.0f} s "
                 f"(projected from {args.rows:,})")
              + f"; peak worker RSS {med(i['peak_rss_mb'] for i in ingest):.0f} MB; "
              f"cores busy {busy:.2f} of {os.cpu_count()} (worker CPU s / wall s; "
              f"{machine:.2f} with PostgreSQL)")  # fmt: skip
        print(f"  pyarrow.csv parse (no checks, no DB): {base_rate:,.0f} rows/s")
        print(f"  PostgreSQL COPY into a plain table (no checks, no indexes): {copy_rate:,.0f} "
              f"rows/s")  # fmt: skip
        print(f"  ratio ingest / pyarrow: {ingest_rate / base_rate:.2e}; "
              f"ingest / COPY: {ingest_rate / copy_rate:.3f}")  # fmt: skip
        rss = med(i["peak_rss_mb"] for i in ingest)
        print("  targets (issue 13): " + "; ".join([
            _target(f"{ingest_rate:,.0f} rows/s", ingest_rate / TARGET_ROWS_PER_SECOND,
                    f">= {TARGET_ROWS_PER_SECOND:,} rows/s"),
            _target(f"1M in {million or 1_000_000 / ingest_rate:.0f} s",
                    TARGET_MILLION_SECONDS / (million or 1_000_000 / ingest_rate),
                    f"<= {TARGET_MILLION_SECONDS} s" + ("" if million else " (projected)")),
            _target(f"peak worker RSS {rss:.0f} MB", TARGET_RSS_MB / rss,
                    f"<= {TARGET_RSS_MB} MB"),
        ]))  # fmt: skip


TARGET_ROWS_PER_SECOND = 15_000
TARGET_MILLION_SECONDS = 60
TARGET_RSS_MB = 1024


def _target(measured: str, ratio: float, goal: str) -> str:
    """``measured`` against ``goal``: met, or how far off (``ratio`` > 1 is better than it)."""
    verdict = "met" if ratio >= 1 else f"{(1 - ratio):.0%} short"
    return f"{measured} vs {goal}: {verdict}"


def _sample_texts(path: Path, rows: int = 2000) -> list[str]:
    with open(path, newline="") as source:
        reader = csv.reader(source)
        next(reader)
        return [row[0] for _, row in zip(range(rows), reader, strict=False)]


if __name__ == "__main__":
    main()
