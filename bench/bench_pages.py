"""Pages under gunicorn beside a Django hello-world view on the same gunicorn, same settings.

    .venv/bin/python -m bench.bench_pages [--seconds 10] [--concurrency 4] [--items 5000]

Creates its own database `bench_pages` (migrated) and seeds it: 40 public datasets, one of them
with `--items` items, three labels on most of them spread over the last 30 days, 20 accepted
contributions with validation reports, and a ready version with column statistics. Then starts
two gunicorn servers on free loopback ports, each with the project's gunicorn.conf.py (2 workers,
gthread) and marketplace.settings.production (DEBUG off, HTTPS headers; the load generator says
``X-Forwarded-Proto: https`` as the TLS proxy in front would):

  hello     a view returning "Hello, world" through the project's full middleware stack
            (``hello_application`` below: the project's WSGI handler with a one-URL urlconf)
  pages     marketplace.wsgi:application, asked for ``/`` and ``/datasets/<slug>/`` by a visitor
            who is not signed in (the clients keep no cookies: the whole page comes from the
            cache, datasets_app/page_cache.py), and for the dataset page by a signed-in labeler
            (a session cookie: the page is rendered for them; shown, not part of the target)

Each case runs `--seconds` after a 2 s warm-up (not counted) with `--concurrency` threads, each a
keep-alive http.client connection, and prints how many answers came, req/s, p50 and p99 (ms) and
each page's share of hello's req/s (a client finishes the request it is on when time is up; p99
wants a hundred answers or more). The servers are stopped and the database dropped at the end.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bench.measure import accepted_contribution, options, percentile
from bench.scratch_db import database_url, drop_database, recreate_database
from bench.servers import free_port, start_gunicorn, stop_all

DB_NAME = "bench_pages"
SLUG = "bench-reviews"
WARM_UP_SECONDS = 2.0  # each client also waits for its first answer, however long it takes
HEADERS = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https", "Connection": "keep-alive"}


# --- the hello-world app (imported by gunicorn in its own process) ---------------------------


def hello(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse("Hello, world")


def _urlpatterns() -> list[Any]:
    from django.urls import path

    return [path("", hello)]


urlpatterns: list[Any] = []
if os.environ.get("BENCH_PAGES_HELLO") == "1":
    import django
    from django.core.handlers.wsgi import WSGIHandler

    django.setup(set_prefix=False)
    urlpatterns = _urlpatterns()

    class HelloHandler(WSGIHandler):
        """The project's handler and middleware; only the urlconf is this module's."""

        def get_response(self, request: Any) -> Any:
            request.urlconf = __name__
            return super().get_response(request)

    hello_application = HelloHandler()


# --- seeding ---------------------------------------------------------------------------------


def seed(items: int) -> None:
    from django.utils import timezone

    from datasets_app.models import Contribution, Dataset, DatasetRelease, Item, Label
    from marketplace.core.models import User

    now = timezone.now()
    owner = User.objects.create(address="0x" + "11" * 20, display_name="Bench owner")
    labelers = [
        User.objects.create(address=f"0x{n + 0x20:040x}", display_name=f"Labeler {n}")
        for n in range(6)
    ]
    columns = [{"name": "text", "dtype": "string"}, {"name": "stars", "dtype": "int64"}]
    classes = ["negative", "neutral", "positive"]
    Dataset.objects.bulk_create(
        Dataset(
            owner=owner,
            title=f"Bench dataset {n}",
            slug=f"bench-dataset-{n}",
            description="Short product reviews with their sentiment. " * 3,
            modality="text",
            columns=columns,
            label_task="single_label",
            label_classes=classes,
            status="open",
            items_count=100 * n,
            labels_count=250 * n,
        )
        for n in range(39)
    )
    dataset = Dataset.objects.create(
        owner=owner,
        title="Bench reviews",
        slug=SLUG,
        description="Product reviews, one sentence each, labelled by sentiment.",
        modality="text",
        columns=columns,
        label_task="single_label",
        label_classes=classes,
        labels_per_item=3,
        status="open",
        agreement_alpha=0.71,
    )
    contributions = Contribution.objects.bulk_create(
        accepted_contribution(
            n,
            dataset=dataset,
            contributor=labelers[n % 6],
            size_bytes=10_000,
            rows_total=items // 20 + 10,
            rows_accepted=items // 20,
            report={"reasons": {"already in the dataset": 6, "personal data (email)": 4}},
        )
        for n in range(20)
    )
    rows = Item.objects.bulk_create(
        Item(
            dataset=dataset,
            contribution=contributions[n % 20],
            row_number=n,
            data={"text": f"Review number {n}: the product did what it said.", "stars": n % 5},
            content_hash=f"{n:064x}",
            labels_count=3 if n % 10 else 0,
            consensus_label=classes[n % 3] if n % 10 else None,
            consensus_at=now if n % 10 else None,
        )
        for n in range(items)
    )
    labels = []
    for n, item in enumerate(rows):
        if n % 10 == 0:
            continue
        for k in range(3):
            labels.append(
                Label(
                    item=item,
                    labeler=labelers[(n + k) % 6],
                    dataset=dataset,
                    value=classes[(n + k) % 3],
                )
            )
    Label.objects.bulk_create(labels, batch_size=5_000)
    # Spread the labels over the chart's 30 days.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE datasets_app_label SET created_at = now() - (id %% 30) * interval '1 day' "
            "WHERE dataset_id = %s",
            [dataset.pk],
        )
    Dataset.objects.filter(pk=dataset.pk).update(
        items_count=len(rows), labels_count=len(labels), contributions_count=20
    )
    DatasetRelease.objects.create(
        dataset=dataset,
        number=1,
        status="ready",
        content_hash="b" * 64,
        created_by=owner,
        statistics={
            "rows": len(rows),
            "columns": [
                {
                    "name": "stars",
                    "kind": "number",
                    "count": len(rows),
                    "histogram": {
                        "bins": [{"low": s, "high": s, "count": len(rows) // 5} for s in range(5)]
                    },
                }
            ],
        },
        card="---\nlicense: other\n---\n# Bench reviews\n",
        created_at=now - timedelta(days=1),
    )


def session_cookie(address: str) -> str:
    """A ``Cookie`` header signing the seeded user of ``address`` in (not the owner)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from marketplace.core.models import User

    user = User.objects.get(address=address)
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


# --- load ------------------------------------------------------------------------------------


@dataclass
class Load:
    """What one ``load`` got: every answer's latency (seconds, sorted) and how long it ran."""

    latencies: list[float]
    elapsed: float

    def figures(self, case: str) -> dict[str, float]:
        """req/s, p50 and p99 in ms, from however many answers came (at least one)."""
        if not self.latencies:
            raise SystemExit(
                f"{case}: no answer came in {self.elapsed:.1f} s; run longer (--seconds)"
            )
        return {
            "answers": len(self.latencies),
            "rps": len(self.latencies) / self.elapsed,
            "p50": percentile(self.latencies, 0.5) * 1000,
            "p99": percentile(self.latencies, 0.99) * 1000,
        }


def load(port: int, path: str, seconds: float, concurrency: int, cookie: str = "") -> Load:
    """``concurrency`` keep-alive clients asking ``path`` for ``seconds``; every answer must be
    200. Each client waits for the answer it is on when time is up."""
    stop = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures: list[str] = []

    headers = {**HEADERS, "Cookie": cookie} if cookie else HEADERS

    def client(mine: list[float]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while not stop.is_set():
                started = time.perf_counter()
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(f"{path}: {response.status}")
                    stop.set()
                mine.append(time.perf_counter() - started)
        except (OSError, http.client.HTTPException) as error:
            failures.append(f"{path}: {error!r}")
            stop.set()
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(mine,)) for mine in latencies]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise SystemExit(failures[0])
    return Load(sorted(x for mine in latencies for x in mine), elapsed)


def main() -> None:
    args = options(__doc__, seconds=10.0, concurrency=4, items=5_000).parse_args()

    recreate_database(DB_NAME)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
        "DATABASE_URL": database_url(DB_NAME),
        "DJANGO_SECRET_KEY": "bench-pages-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CACHE_URL": os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/7"),
        "GUNICORN_ACCESS_LOG": "/dev/null",
    }
    os.environ.update(env)
    servers: list[subprocess.Popen[bytes]] = []
    try:
        import django

        django.setup()
        from django.core.cache import cache
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        cache.clear()
        started = time.perf_counter()
        seed(args.items)
        signed_in = session_cookie(f"0x{0x20:040x}")
        print(f"seeded {args.items:,} items in {time.perf_counter() - started:.1f} s")
        from django.db import connections

        connections.close_all()

        hello_port, pages_port = free_port(), free_port()
        servers.append(
            start_gunicorn(
                "bench.bench_pages:hello_application", hello_port, {**env, "BENCH_PAGES_HELLO": "1"}
            )
        )
        servers.append(start_gunicorn("marketplace.wsgi:application", pages_port, env))
        cases = [
            ("hello", hello_port, "/", ""),
            ("home /", pages_port, "/", ""),
            ("dataset page", pages_port, f"/datasets/{SLUG}/", ""),
            # Not part of the target: a signed-in labeler gets the page rendered for them.
            ("  signed in", pages_port, f"/datasets/{SLUG}/", signed_in),
        ]
        results: dict[str, dict[str, float]] = {}
        for name, port, path, cookie in cases:
            load(port, path, WARM_UP_SECONDS, args.concurrency, cookie)  # answers not counted
            results[name] = load(port, path, args.seconds, args.concurrency, cookie).figures(name)
        base = results["hello"]["rps"]
        print(
            f"gunicorn 2 workers (gthread), concurrency {args.concurrency}, "
            f"{args.seconds:g} s per case"
        )
        print(f"{'case':<14}{'answers':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'of hello':>10}")
        for name, figures in results.items():
            print(
                f"{name:<14}{figures['answers']:>9.0f}{figures['rps']:>9.0f}"
                f"{figures['p50']:>9.2f}{figures['p99']:>9.2f}{figures['rps'] / base:>10.1%}"
            )
        few = [name.strip() for name, figures in results.items() if figures["answers"] < 100]
        if few:
            print(
                f"{', '.join(few)}: fewer than 100 answers, so p99 is about the slowest one;"
                " run longer (--seconds) for a real tail"
            )
    finally:
        stop_all(servers)
        from django.db import connections

        connections.close_all()
        drop_database(DB_NAME)


if __name__ == "__main__":
    main()
