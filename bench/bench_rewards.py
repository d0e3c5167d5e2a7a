"""Reward epoch over one million labels, against the real PostgreSQL.

    .venv/bin/python -m bench.bench_rewards [--items 334000] [--per-item 3] [--labelers 2000]
                                            [--contributions 500] [--repeat 3] [--keep-db]

Builds (server-side, with INSERT ... SELECT generate_series) one dataset whose `--items` rows
come from `--contributions` accepted contributions and were each decided inside one epoch with
`--per-item` labels from distinct labelers (90 % of them agreeing with the consensus), the
labelers' credibility rows, and `--repeat` bounties on that dataset paying rows and labels, each
funded through ``bounty_funding_credit``. Then times, in the same run:
  feature   ``reward_epoch_compute`` of each bounty (the same epoch of the same work, so every run
            does the same: reads, pricing, rewards, reward lines, ledger postings, audit row),
            each from a new connection with the ledger tables analyzed, as on a live database
  baseline  the plain GROUP BY reads it cannot do without: accepted rows per contribution, and
            agreeing labels per labeler over the same label-item-user join
Prints medians, rows and labels per second, the ratio feature / baseline, and PASS/FAIL for the
target (reward_epoch_compute <= 10 s on 1M labels). Uses its own database (bench_rewards,
recreated, dropped unless --keep-db).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

from bench.measure import accepted_contribution, options, timed
from bench.scratch_db import django_on, scratch_database

DB_NAME = "bench_rewards"
TARGET_SECONDS = 10.0
CLASSES = ["negative", "neutral", "positive"]


def configure() -> None:
    django_on(DB_NAME)


ITEMS_SQL = """
INSERT INTO datasets_app_item
    (dataset_id, contribution_id, row_number, data, content_hash, is_gold, is_hidden,
     quality_score, flags, labels_count, slots_open, consensus_label, consensus_confidence,
     consensus_at, created_at)
SELECT %(dataset)s, (%(contributions)s::bigint[])[1 + g %% %(n_contributions)s], g,
       jsonb_build_object('text', 'review number ' || g), lpad(to_hex(g), 64, '0'), false, false,
       0.5 + random() / 2, '[]'::jsonb, %(per_item)s, 0,
       to_jsonb((%(classes)s::text[])[1 + g %% 3]), 0.9, %(decided_at)s, now()
  FROM generate_series(0, %(items)s - 1) AS g
"""
# Labeler j of an item is (row + j * stride) mod labelers: distinct for j < per_item when
# stride * (per_item - 1) < labelers. 90 % agree with the consensus, the rest pick the next class.
LABELS_SQL = """
INSERT INTO datasets_app_label
    (item_id, labeler_id, dataset_id, value, is_gold_check, is_rejected, created_at)
SELECT i.id,
       (%(labelers)s::bigint[])[1 + (i.row_number + j * %(stride)s) %% %(n_labelers)s],
       i.dataset_id,
       CASE WHEN random() < 0.9 THEN i.consensus_label
            ELSE to_jsonb((%(classes)s::text[])[1 + (i.row_number + 1) %% 3]) END,
       false, false, %(decided_at)s
  FROM datasets_app_item i CROSS JOIN generate_series(0, %(per_item)s - 1) AS j
 WHERE i.dataset_id = %(dataset)s
"""
BASELINE_ROWS = """
SELECT c.contributor_id, c.id, count(i.id), sum(i.quality_score)
  FROM datasets_app_contribution c
  JOIN datasets_app_item i ON i.contribution_id = c.id
 WHERE c.dataset_id = %s AND c.validated_at >= %s AND c.validated_at < %s
 GROUP BY c.contributor_id, c.id
"""
BASELINE_LABELS = """
SELECT l.labeler_id, count(*)
  FROM datasets_app_label l
  JOIN datasets_app_item i ON i.id = l.item_id
  JOIN core_user u ON u.id = l.labeler_id
 WHERE i.dataset_id = %s AND i.consensus_at >= %s AND i.consensus_at < %s
   AND l.value = i.consensus_label
 GROUP BY l.labeler_id
"""


def build(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """The dataset, its contributions, items and labels, and `--repeat` funded bounties."""
    import random

    from django.db import connection
    from django.utils import timezone

    from datasets_app.models import Contribution, Dataset, LabelerCredibility
    from marketplace.core.models import User
    from payments.models import Bounty, Token
    from payments.services.bounties import bounty_funding_credit

    rng = random.Random(11)  # noqa: S311 - benchmark data

    def address() -> str:
        return "0x" + rng.randbytes(20).hex()

    owner = User.objects.create_user(address())
    labelers = User.objects.bulk_create(
        [User(address=address(), password="!") for _ in range(args.labelers)]  # noqa: S106
    )
    contributors = User.objects.bulk_create(
        [User(address=address(), password="!") for _ in range(args.contributions)]  # noqa: S106
    )
    skill = [rng.uniform(0.6, 0.95) for _ in labelers]
    LabelerCredibility.objects.bulk_create(
        LabelerCredibility(
            user=user,
            credibility=accuracy,
            gold_total=(total := rng.randint(0, 40)),
            gold_correct=round(total * accuracy),
            compared=500,
            agreed=round(500 * accuracy),
        )
        for user, accuracy in zip(labelers, skill, strict=True)
    )
    dataset = Dataset.objects.create(
        owner=owner, title="bench", slug="bench-rewards", description="bench", modality="text",
        label_task="single_label", label_classes=CLASSES, labels_per_item=args.per_item,
        columns=[{"name": "text", "dtype": "string"}], status="open",
    )  # fmt: skip
    start = timezone.now() - timedelta(hours=2)
    decided_at = start + timedelta(minutes=30)
    contributions = Contribution.objects.bulk_create(
        accepted_contribution(n, dataset=dataset, contributor=user, validated_at=decided_at)
        for n, user in enumerate(contributors)
    )
    stride = args.labelers // args.per_item
    params = {
        "dataset": dataset.pk,
        "contributions": [c.pk for c in contributions],
        "n_contributions": len(contributions),
        "labelers": [u.pk for u in labelers],
        "n_labelers": len(labelers),
        "stride": stride,
        "classes": CLASSES,
        "per_item": args.per_item,
        "items": args.items,
        "decided_at": decided_at,
    }
    with connection.cursor() as cursor:
        began = time.perf_counter()
        cursor.execute(ITEMS_SQL, params)
        cursor.execute(LABELS_SQL, params)
        cursor.execute("SELECT count(*) FROM datasets_app_label")
        (labels,) = cursor.fetchone() or (0,)
        cursor.execute("VACUUM ANALYZE")
    print(
        f"built {args.items:,} items and {labels:,} labels from {len(contributions)} "
        f"contributions and {len(labelers):,} labelers in {time.perf_counter() - began:.1f} s"
    )
    token = Token.objects.create(chain_id=31337, address=address(), symbol="DBT", decimals=18)
    bounties = []
    for n in range(args.repeat):
        bounty = Bounty.objects.create(
            dataset=dataset, sponsor=owner, title=f"bench {n}", token=token, pays_for="both",
            rate_per_row=10**18, rate_per_label=4 * 10**17, pool_amount=10**30,
            starts_at=start, ends_at=start + timedelta(hours=1), epoch_length=timedelta(hours=1),
        )  # fmt: skip
        bounties.append(bounty_funding_credit(bounty=bounty, amount=10**30, reference=f"bench:{n}"))
    return dataset, bounties


def main() -> None:
    parser = options(
        __doc__, items=334_000, per_item=3, labelers=2_000, contributions=500, repeat=3
    )
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} for a look")
    args = parser.parse_args()

    with scratch_database(DB_NAME, keep=args.keep_db):
        configure()
        from django.db import connection

        from payments.models import Reward, RewardLine
        from payments.services.ledger import ledger_books_check
        from payments.services.rewards import reward_epoch_compute

        dataset, bounties = build(args)
        start, end = bounties[0].starts_at, bounties[0].ends_at

        def baseline() -> None:
            with connection.cursor() as cursor:
                cursor.execute(BASELINE_ROWS, [dataset.pk, start, end])
                cursor.fetchall()
                cursor.execute(BASELINE_LABELS, [dataset.pk, start, end])
                cursor.fetchall()

        print(f"{os.cpu_count()} CPUs")
        print("baseline: GROUP BY of accepted rows and of agreeing labels")
        base = []
        for _ in range(args.repeat):
            base += timed(baseline, 1)
            print(f"    {base[-1]:.3f} s", flush=True)
        print("feature: reward_epoch_compute")
        feature = []
        epochs = []
        for bounty in bounties:
            # Each run starts as a worker would, on a new connection. The ledger's statistics
            # are those of an empty ledger (analyzed above, before any entry): the balance
            # trigger must stay on its index regardless (migration 0005).
            connection.close()
            began = time.perf_counter()
            epoch = reward_epoch_compute(bounty_id=bounty.pk, now=end)
            feature.append(time.perf_counter() - began)
            assert epoch is not None
            epochs.append(epoch)
            print(
                f"    {feature[-1]:.3f} s  ({epoch.rewards_count:,} rewards, "
                f"{RewardLine.objects.filter(reward__epoch=epoch).count():,} lines, "
                f"awarded {int(epoch.awarded) / 10**18:,.2f} tokens)",
                flush=True,
            )
        assert len({(int(e.awarded), e.rewards_count) for e in epochs}) == 1, "runs differ"
        first = epochs[0]
        lines = RewardLine.objects.filter(reward__epoch=first)
        rows = sum(lines.filter(kind="rows").values_list("units", flat=True))
        labels = sum(lines.filter(kind="labels").values_list("units", flat=True))
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM datasets_app_label")
            (all_labels,) = cursor.fetchone() or (0,)
        median, base_median = statistics.median(feature), statistics.median(base)
        books = ledger_books_check(token=bounties[0].token)
        print()
        print(
            f"reward_epoch_compute  median {median:7.3f} s   "
            f"{args.items / median:,.0f} rows/s, {all_labels / median:,.0f} labels/s "
            f"({rows:,} rows paid, {labels:,} agreeing labels paid, "
            f"{Reward.objects.filter(epoch=first).count():,} rewards)"
        )
        print(f"baseline GROUP BYs    median {base_median:7.3f} s")
        print(f"ratio reward_epoch_compute / baseline: {median / base_median:.1f}x")
        print(f"ledger books balance: {books.ok}")
        ok = median <= TARGET_SECONDS and books.ok
        print(
            f"{'PASS' if median <= TARGET_SECONDS else 'FAIL'}  reward_epoch_compute on "
            f"{all_labels:,} labels <= {TARGET_SECONDS:.0f} s: {median:.2f} s"
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
