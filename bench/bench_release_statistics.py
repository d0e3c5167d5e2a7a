"""What the per-column statistics cost a release build, and that their memory stays flat.

    .venv/bin/python -m bench.bench_release_statistics [--items 300000] [--repeat 2]

Creates its own database `bench_release_stats` (migrated) and a scratch media folder, one text
dataset with four columns (`text` of 3-60 words, `stars` 1-5, `score` uniform floats, `verified`
bool; 5 % of `score` null) and `--items` items loaded with COPY, 70 % with a consensus label.
Then, interleaved, `--repeat` times each: `release_build` as it is, and `release_build` with
`ReleaseStatistics.add` replaced by a no-op (the build without statistics). Prints each build's
wall and CPU seconds and µs per row (CPU of this process: on a shared machine wall time swings
with the load, CPU much less), the statistics' CPU per row, and the traced peak of Python memory
the statistics hold (tracemalloc over feeding the same rows to `ReleaseStatistics` alone, at
a tenth and at all of the rows: flat means bounded). Everything is dropped at the end.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from typing import Any

import numpy as np

from bench.scratch_db import database_url, scratch_database

DB_NAME = "bench_release_stats"
CLASSES = ["negative", "neutral", "positive"]
WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
]
COLUMNS = [
    {"name": "text", "dtype": "string"},
    {"name": "stars", "dtype": "int64"},
    {"name": "score", "dtype": "float64"},
    {"name": "verified", "dtype": "bool"},
]
NULL = "\\N"


def rows(items: int, seed: int = 0) -> list[tuple[dict[str, Any], str | None]]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 61, size=items)
    words = rng.integers(0, len(WORDS), size=int(lengths.sum()))
    labelled = rng.random(items) < 0.7
    classes = rng.integers(0, 3, size=items)
    scores = rng.random(items) * 100
    out = []
    at = 0
    for i in range(items):
        n = int(lengths[i])
        text = " ".join(WORDS[w] for w in words[at : at + n])
        at += n
        data = {
            "text": text,
            "stars": int(i % 5 + 1),
            "score": None if i % 20 == 0 else round(float(scores[i]), 3),
            "verified": bool(i % 3),
        }
        out.append((data, CLASSES[classes[i]] if labelled[i] else None))
    return out


def load_items(dataset_id: int, data: list[tuple[dict[str, Any], str | None]]) -> None:
    from django.db import connection

    columns = (
        "dataset_id, row_number, data, content_hash, is_gold, is_hidden, quality_score, flags, "
        "labels_count, slots_open, consensus_label, consensus_confidence, created_at"
    )
    block = 100_000
    with connection.cursor() as cursor:
        for start in range(0, len(data), block):
            lines = []
            for number in range(start, min(start + block, len(data))):
                values, label = data[number]
                text = json.dumps(values).replace("\\", "\\\\")
                label_text = json.dumps(label) if label else NULL
                votes, slots, confidence = (3, 0, "0.67") if label else (0, 3, NULL)
                lines.append(
                    f"{dataset_id}\t{number}\t{text}\t{number:064x}\tf\tf\t1\t[]\t"
                    f"{votes}\t{slots}\t{label_text}\t{confidence}\tnow\n"
                )
            with cursor.copy(f"COPY datasets_app_item ({columns}) FROM STDIN") as copy:
                copy.write("".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(
            prefix="bench-release-stats-", ignore_cleanup_errors=True
        ) as media,
        scratch_database(DB_NAME),
    ):
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
                "DATABASE_URL": database_url(DB_NAME),
                "DJANGO_DEBUG": "false",
                "DJANGO_MEDIA_ROOT": media,
                "DJANGO_LOG_LEVEL": "WARNING",
            }
        )
        run(args.items, args.repeat)


def run(items: int, repeat: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from datasets_app.models import Dataset
    from datasets_app.services import release_statistics
    from datasets_app.services.releases import release_build, release_publish
    from marketplace.core.models import User

    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("0x" + os.urandom(20).hex())
    dataset = Dataset.objects.create(
        owner=owner, title="bench", slug="bench-release-stats", description="bench",
        modality="text", label_task="single_label", label_classes=CLASSES, status="open",
        columns=COLUMNS,
    )  # fmt: skip
    data = rows(items)
    load_items(dataset.pk, data)
    print(f"{items:,} items loaded", file=sys.stderr)

    real_add = release_statistics.ReleaseStatistics.add

    def no_statistics(self: Any, *args: Any) -> None:
        return None

    timings: dict[str, list[float]] = {"with statistics": [], "without": []}
    cpu: dict[str, list[float]] = {"with statistics": [], "without": []}
    for _ in range(repeat):
        for name, add in (("with statistics", real_add), ("without", no_statistics)):
            release_statistics.ReleaseStatistics.add = add  # type: ignore[method-assign,assignment]
            release = release_publish(dataset=dataset, actor=owner, confirm_low_labelled_share=True)
            start, start_cpu = time.perf_counter(), time.process_time()
            assert release_build(release_id=release.pk) == "ready"
            timings[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    release_statistics.ReleaseStatistics.add = real_add  # type: ignore[method-assign]

    print(f"build of {items:,} rows (median of {repeat}; CPU: this process, not PostgreSQL's):")
    for name in ("with statistics", "without"):
        wall, used = statistics.median(timings[name]), statistics.median(cpu[name])
        print(
            f"  {name:16} {wall:7.2f} s wall  {wall / items * 1e6:6.1f} µs/row   "
            f"{used:7.2f} s CPU  {used / items * 1e6:6.1f} µs/row"
        )
    extra = statistics.median(cpu["with statistics"]) - statistics.median(cpu["without"])
    print(f"  statistics' CPU per row: {extra / items * 1e6:.1f} µs")

    for share in (0.1, 1.0):
        n = int(items * share)
        accumulator = release_statistics.ReleaseStatistics(
            columns=COLUMNS, label_name="label", label_task="single_label",
            label_classes=CLASSES, label_dtype="ClassLabel(3 classes)",
        )  # fmt: skip
        classes = {name: index for index, name in enumerate(CLASSES)}
        tracemalloc.start()
        for values, label in itertools.islice(data, n):
            accumulator.add(values, None if label is None else classes[label], {})
        accumulator.result()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  statistics' peak memory over {n:>9,} rows: {peak / 1024:7.1f} KiB")


if __name__ == "__main__":
    main()
