"""The rows API (the data viewer) on one million items, beside a bare keyset SELECT.

    .venv/bin/python -m bench.bench_rows_api [--items 1000000] [--repeat 200] [--page-size 50]

Creates its own database `bench_rows_api` (migrated), one dataset and `--items` items loaded
with COPY: a `text` of 12 words drawn from a Zipf distribution over 5,000 made-up words, a
`stars` number, a consensus label on 60 % of rows (three classes), a flag on 1 %. The viewer's
two indexes (migration 0009) are dropped for the load and built again after it, timed: that is
what the migration costs on a table this size. Then, each case `--repeat` times after a warm-up,
p50 and p99 in milliseconds:

  baseline        bare `SELECT … FROM datasets_app_item WHERE dataset_id = … ORDER BY id LIMIT 50`
                  (psycopg through Django's connection; no HTTP, no JSON)
  first page      GET /api/v1/datasets/<slug>/rows/ as the owner (Django test client: session,
                  middleware, view, JSON), every row's agreement included
  empty page      the same request with a cursor past the last row: the fixed cost of the
                  request path (session, user, dataset, license check) without rows
  preview page    the same as an anonymous visitor (the preview of the first 1,000 rows)
  keyset deep     page 1,001 through its cursor (rows 50,001-50,050), and page 10,001
  offset deep     the same rows by bare SQL `OFFSET 50000 LIMIT 50` / `OFFSET 500000` (what a
                  page-numbered API would run), beside the bare keyset query for those pages
  label filter    ?label=positive (first page)
  search          ?q=<word> for a frequent, a middling and a rare word (first page)

Cases run round robin (one request of each per round), so a busy machine slows them alike.
Prints the figures and each case's ratio to the baseline. Everything is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.measure import percentile, timed
from bench.scratch_db import database_url, scratch_database

DB_NAME = "bench_rows_api"
VOCABULARY = 5_000
WORDS_PER_ROW = 12
CLASSES = ["negative", "neutral", "positive"]
NULL = "\\N"  # COPY's text format
FLAGGED = '["pii:email"]'
VIEWER_INDEXES = ("item_viewer_idx", "item_search_idx")


def make_words(rng: np.random.Generator) -> list[str]:
    """5,000 distinct pronounceable made-up words (to_tsvector('simple') keeps them whole)."""
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        length = int(rng.integers(2, 4))
        words.add(
            "".join(
                consonants[int(rng.integers(len(consonants)))] + vowels[int(rng.integers(5))]
                for _ in range(length)
            )
        )
    return sorted(words, key=lambda w: (len(w), w))


def load_items(dataset_id: int, items: int, words: list[str], seed: int = 0) -> None:
    """COPY ``items`` rows into datasets_app_item, in blocks of 100k."""
    from django.db import connection

    rng = np.random.default_rng(seed)
    ranks = np.arange(1, VOCABULARY + 1)
    weights = 1 / ranks
    weights /= weights.sum()
    vocab = np.array(words)
    columns = (
        "dataset_id, row_number, data, content_hash, is_gold, is_hidden, quality_score, flags, "
        "labels_count, slots_open, consensus_label, consensus_confidence, created_at"
    )
    block = 100_000
    with connection.cursor() as cursor:
        for start in range(0, items, block):
            n = min(block, items - start)
            picks = vocab[rng.choice(VOCABULARY, size=(n, WORDS_PER_ROW), p=weights)]
            labelled = rng.random(n) < 0.6
            classes = rng.integers(0, 3, size=n)
            flagged = rng.random(n) < 0.01
            lines = []
            for i in range(n):
                number = start + i
                data = json.dumps({"text": " ".join(picks[i]), "stars": int(number % 5 + 1)})
                label = f'"{CLASSES[classes[i]]}"' if labelled[i] else NULL
                flags = FLAGGED if flagged[i] else "[]"
                votes, slots, confidence = (3, 0, "0.67") if labelled[i] else (0, 3, NULL)
                lines.append(
                    f"{dataset_id}\t{number}\t{data}\t{number:064x}\tf\tf\t1\t{flags}\t"
                    f"{votes}\t{slots}\t{label}\t{confidence}\tnow\n"
                )
            with cursor.copy(f"COPY datasets_app_item ({columns}) FROM STDIN") as copy:
                copy.write("".join(lines))
            print(f"  loaded {start + n:,} items", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the database (to EXPLAIN)")
    args = parser.parse_args()
    size = args.page_size

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
            "DATABASE_URL": database_url(DB_NAME),
            "DJANGO_DEBUG": "false",  # no query log growing in memory
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    with scratch_database(DB_NAME, keep=args.keep):
        run(args.items, args.repeat, size)


def run(items: int, repeat: int, size: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from datasets_app.models import Dataset
    from datasets_app.selectors.rows import Cursor
    from marketplace.core.models import User

    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("0x" + os.urandom(20).hex())
    dataset = Dataset.objects.create(
        owner=owner, title="bench", slug="bench-rows", description="bench", modality="text",
        label_task="single_label", label_classes=CLASSES, status="open", preview_rows=1000,
        columns=[{"name": "text", "dtype": "string"}, {"name": "stars", "dtype": "int64"}],
    )  # fmt: skip
    words = make_words(np.random.default_rng(1))

    with connection.cursor() as cursor:
        definitions = {}
        for name in VIEWER_INDEXES:
            cursor.execute("SELECT pg_get_indexdef(%s::regclass)", [name])
            definitions[name] = cursor.fetchone()[0]
            cursor.execute(f"DROP INDEX {name}")
    start = time.perf_counter()
    load_items(dataset.pk, items, words)
    load_seconds = time.perf_counter() - start
    build_seconds = {}
    with connection.cursor() as cursor:
        for name, definition in definitions.items():
            start = time.perf_counter()
            cursor.execute(definition)
            build_seconds[name] = time.perf_counter() - start
        cursor.execute("VACUUM ANALYZE datasets_app_item")
    Dataset.objects.filter(pk=dataset.pk).update(items_count=items)
    print(f"loaded {items:,} items in {load_seconds:.1f} s; index builds: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in build_seconds.items()))  # fmt: skip

    shown = f"dataset_id = {dataset.pk} AND NOT is_hidden AND NOT is_gold"
    # Only integers are formatted into these statements (the bench's own dataset id).
    columns = "id, data, consensus_label, labels_count, flags"
    select = f"SELECT {columns} FROM datasets_app_item WHERE {shown}"  # noqa: S608

    def bare(sql: str, params: list[Any] | None = None) -> Callable[[], Any]:
        def go() -> Any:
            with connection.cursor() as cursor:
                cursor.execute(sql, params or [])
                rows = cursor.fetchall()
                assert len(rows) == size, len(rows)
                return rows

        return go

    def id_at(offset: int) -> int:
        with connection.cursor() as cursor:
            sql = f"SELECT id FROM datasets_app_item WHERE {shown} ORDER BY id OFFSET %s LIMIT 1"  # noqa: S608
            cursor.execute(sql, [offset])
            return int(cursor.fetchone()[0])

    owner_client, visitor = Client(), Client()
    owner_client.force_login(owner)
    base = f"/api/v1/datasets/{dataset.slug}/rows/?page_size={size}"

    def api(client: Client, query: str = "", expect: int = size) -> Callable[[], Any]:
        def go() -> Any:
            response = client.get(base + query)
            assert response.status_code == 200, response.content[:300]
            assert len(response.json()["results"]) == expect, len(response.json()["results"])
            return response

        return go

    def matches(word: str) -> int:
        with connection.cursor() as cursor:
            sql = (
                f"SELECT count(*) FROM datasets_app_item WHERE {shown} AND "  # noqa: S608
                "to_tsvector('simple'::regconfig, data) @@ "
                "websearch_to_tsquery('simple'::regconfig, %s)"
            )
            cursor.execute(sql, [word])
            return int(cursor.fetchone()[0])

    # A frequent, a middling and a rare word, by their Zipf rank.
    searches = {rank: words[rank - 1] for rank in (1, 100, 4000)}
    deep = {page: id_at((page - 1) * size - 1) for page in (1001, 10001) if page * size <= items}
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("baseline: bare SELECT ORDER BY id LIMIT 50", bare(f"{select} ORDER BY id LIMIT {size}")),
        ("API first page (owner)", api(owner_client)),
        # The same request path answering no rows: what Django, the session and DRF cost alone.
        (
            "API empty page (cursor past the end)",
            api(owner_client, f"&page={Cursor(after=2**62).encode()}", expect=0),
        ),
        ("API first page (visitor, preview)", api(visitor)),
    ]
    for page, after in deep.items():
        cursor_text = Cursor(after=after).encode()
        cases += [
            (f"API page {page:,} via keyset cursor", api(owner_client, f"&page={cursor_text}")),
            (f"bare SQL page {page:,} keyset (id > …)",
             bare(f"{select} AND id > %s ORDER BY id LIMIT {size}", [after])),
            (f"bare SQL page {page:,} OFFSET {(page - 1) * size:,}",
             bare(f"{select} ORDER BY id OFFSET {(page - 1) * size} LIMIT {size}")),
        ]  # fmt: skip
    cases.append(("API label=positive", api(owner_client, "&label=positive")))
    for rank, word in searches.items():
        count = matches(word)
        cases.append(
            (f"API q={word} (rank {rank}, {count:,} rows, {count / items:.2%})",
             api(owner_client, f"&q={word}", expect=min(size, count)))
        )  # fmt: skip

    # Round robin: each round runs every case once, so a busy machine slows all cases alike.
    samples: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _name, case in cases:
        timed(case, 0, warmup=5)
    for _ in range(repeat):
        for name, case in cases:
            samples[name] += timed(case, 1)
    results = [
        (name, percentile(samples[name], 0.5) * 1000, percentile(samples[name], 0.99) * 1000)
        for name, _ in cases
    ]
    baseline = results[0][1]
    width = max(len(name) for name, _, _ in results)
    print(f"\n{items:,} items, page size {size}, {repeat} runs per case")
    print(f"{'case':<{width}}  {'p50 ms':>8}  {'p99 ms':>8}  {'p50 / baseline':>14}")
    for name, p50, p99 in results:
        print(f"{name:<{width}}  {p50:8.2f}  {p99:8.2f}  {p50 / baseline:13.1f}x")
    mean = statistics.mean(p50 for _, p50, _ in results[1:])
    print(f"(mean p50 over the other cases: {mean:.2f} ms)")


if __name__ == "__main__":
    main()
