"""Incentive integrity: who gets the bounty when a third of the crowd games it (real services,
real PostgreSQL).

    .venv/bin/python -m bench.bench_incentives [--rows-per-upload 40] [--honest-uploaders 8]
        [--honest-labelers 20] [--random 2] [--constant 2] [--duplicate 2] [--near-duplicate 2]
        [--near-duplicate-farmers 2] [--sybils 4] [--gold-items 24] [--gold-rate 0.1] [--seed 7]
        [--lazy 2] [--annotation-items 120] [--tasks classes,spans,boxes] [--keep-db]

Builds a 3-class text dataset whose true classes only this script knows, a bounty paying rows and
labels (funded through ``bounty_funding_credit``), and a crowd:

  honest uploaders     CSV files of fresh sentences
  honest labelers      answer the true class with accuracy 0.85-0.95 (mistakes go to a
                       neighbouring class: negative <-> neutral <-> positive)
  random labelers      a uniformly random class
  constant labelers    always the same class
  duplicate uploaders  the same file again, then files of rows already in the dataset
  near-dup uploaders   rows already in the dataset with small edits (case and punctuation, a
                       word appended, one or two words swapped)
  near-dup farmers     copies of honest rows with two words changed, a whole file of them each:
                       at the default 0.7 threshold copies of the shortest rows (22-23 words,
                       the two apart: exact word-pair Jaccard 0.68-0.69) are not near-duplicates,
                       and are accepted scored down (row_quality.novelty_scaled)
  sybil ring           accounts that label in a burst, one after the other: the first to reach an
                       item picks a class at random, the others copy it on the items they share

and runs the real pipeline: files go through ``contribution_submit`` and validation (the Celery
tasks run eagerly, in process, from the same ``on_commit`` hooks a worker would get them from),
the owner marks gold items with ``item_set_gold``, labelers work through ``labeling_next_item``
and ``label_submit`` (each item's consensus is decided by ``item_consensus_update`` when its k-th
label arrives), ``dataset_consensus_refresh`` re-decides everything at the end, and
``reward_epoch_compute`` pays the epoch. Then a second bounty on the same work, funded with half
of the first one's demand, shows the pool capping it.

Then (``--tasks``) a text-span dataset and an image-box dataset, each with its own bounty paying
labels, hidden true spans/boxes on ``--annotation-items`` items (a quarter of them, up to
``--gold-items``, gold) and a crowd labelling through the real queue, consensus and rewards:

  honest labelers      find each true span/box with accuracy 0.85-0.95; 15 % of what they mark
                       has a boundary a word off or the box's edges ~6 % off, 3 % a wrong class
  random labelers      1-3 random spans/boxes of random classes
  lazy labelers        only the first true span/box of each item
  copy ring            label in a burst; the first to reach an item marks at random, the others
                       copy it

printing each group's share of the pool, the consensus F1 against the truth, and PASS/FAIL for
random and copying labelers < 3 % of the awarded pool and a lazy labeler earning less than an
honest one.

Prints, per group, users, tokens and share of what was awarded; consensus accuracy against the
hidden truth (and plain majority for comparison); the ledger books check; PASS/FAIL for the
targets (adversaries < 3 % of the awarded pool, consensus >= 95 % correct, >= 95 % of the farmed
copies at or above the threshold rejected). Exits 1 on a miss.
Uses its own database (bench_incentives, recreated, dropped unless --keep-db) and a temporary
media folder.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench.incentive_annotations import (
    ANNOTATION_ADVERSARIES,
    ANNOTATION_HONEST,
    AnnotationWorld,
    annotation_answer,
    annotation_dataset,
    build_annotation_crowd,
    consensus_f1,
    make_annotation_items,
    mark_gold,
)
from bench.incentive_crowd import (
    ADVERSARIES,
    CLASSES,
    HONEST,
    Member,
    World,
    build_crowd,
    make_words,
    print_credibility,
    run_labeling,
    run_uploads,
)
from bench.scratch_db import scratch_database

if TYPE_CHECKING:
    from datasets_app.models import Dataset
    from payments.models import Bounty, RewardEpoch, Token

DB_NAME = "bench_incentives"
DECIMALS = 18
RATE_PER_ROW = 10**18  # base units: one token per quality-weighted accepted row
RATE_PER_LABEL = 4 * 10**17  # 0.4 token per credibility-weighted agreeing label


def configure(media: Path, gold_rate: float) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="marketplace.settings.local",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        DATABASE_CONN_MAX_AGE="0",
        DJANGO_DEBUG="false",
        DJANGO_MEDIA_ROOT=str(media),
        UPLOAD_TMP_DIR=str(media / "uploads"),
        DJANGO_LOG_LEVEL="WARNING",
        # Tasks run eagerly in this process; nothing may reach a real broker.
        CELERY_BROKER_URL="memory://",
        CELERY_RESULT_BACKEND="cache+memory://",
        LABEL_GOLD_RATE=str(gold_rate),
    )
    import django

    django.setup()
    from django.core.management import call_command

    from marketplace.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    call_command("migrate", verbosity=0)


# -- results ---------------------------------------------------------------------------------


def accuracy(dataset: Dataset, world: World) -> tuple[float, int]:
    from datasets_app.models import Item

    decided = Item.objects.filter(dataset=dataset, is_gold=False, consensus_label__isnull=False)
    pairs = [
        (data["text"], label) for data, label in decided.values_list("data", "consensus_label")
    ]
    right = sum(world.truth[text] == label for text, label in pairs)
    return right / max(1, len(pairs)), len(pairs)


def majority_accuracy(dataset: Dataset, world: World) -> float:
    from datasets_app.models import Label
    from datasets_app.quality.consensus import majority_vote

    rows = Label.objects.filter(dataset=dataset, item__is_gold=False).values_list(
        "item_id", "labeler_id", "value", "item__data"
    )
    texts = {}
    votes = []
    for item, labeler, value, data in rows:
        votes.append((item, labeler, CLASSES.index(value)))
        texts[item] = data["text"]
    decided = majority_vote(votes, len(CLASSES))
    right = sum(world.truth[texts[item]] == CLASSES[c] for item, (c, _) in decided.items())
    return right / max(1, len(decided))


def accuracy_by_mix(dataset: Dataset, crowd: list[Member], world: World) -> None:
    """Consensus accuracy of items grouped by how many of their labels came from adversaries
    (and from the ring): where the mistakes come from."""
    from datasets_app.models import Label

    group_of = {m.user.pk: m.group for m in crowd}
    mix: dict[int, Counter[str]] = defaultdict(Counter)
    decided: dict[int, tuple[str, object]] = {}
    rows = Label.objects.filter(dataset=dataset, item__is_gold=False).values_list(
        "item_id", "labeler_id", "item__data", "item__consensus_label"
    )
    for item, labeler, data, label in rows:
        group = group_of[labeler]
        mix[item]["adversary"] += group in ADVERSARIES
        mix[item]["ring"] += group == "sybil ring"
        decided[item] = (world.truth[data["text"]], label)
    for key in ("adversary", "ring"):
        buckets: dict[int, list[bool]] = defaultdict(list)
        for item, (true, label) in decided.items():
            buckets[mix[item][key]].append(true == label)
        print(
            f"  by {key} labels on the item: "
            + ", ".join(
                f"{n}: {sum(b) / len(b):.0%} of {len(b)}" for n, b in sorted(buckets.items())
            )
        )


def shares(epoch: RewardEpoch, crowd: list[Member]) -> dict[str, tuple[int, int]]:
    """group -> (users paid, base units awarded)."""
    from payments.models import Reward

    group_of = {m.user.pk: m.group for m in crowd}
    paid: dict[str, tuple[int, int]] = {}
    for user_id, amount in Reward.objects.filter(epoch=epoch).values_list("user_id", "amount"):
        users, total = paid.get(group_of[user_id], (0, 0))
        paid[group_of[user_id]] = (users + 1, total + int(amount))
    return paid


def print_shares(
    title: str,
    epoch: RewardEpoch,
    crowd: list[Member],
    paid: dict[str, tuple[int, int]],
    groups: tuple[tuple[str, ...], tuple[str, ...]] = (HONEST, ADVERSARIES),
) -> float:
    """Each group's users, tokens and share (``paid``: the epoch's ``shares``); returns the
    adversaries' share of the awarded."""
    honest, adversarial = groups
    awarded = int(epoch.awarded)
    sizes = Counter(m.group for m in crowd)
    print(
        f"\n{title}: pool {int(epoch.pool_before) / 10**DECIMALS:,.2f} tokens, demand "
        f"{int(epoch.demand) / 10**DECIMALS:,.2f}, awarded {awarded / 10**DECIMALS:,.2f}, "
        f"capped by pool: {epoch.basis['capped_by_pool']}"
    )
    print(f"  {'group':<26}{'users':>6}{'paid':>6}{'tokens':>14}{'of awarded':>12}{'of pool':>10}")
    adversaries = 0
    for group in honest + adversarial:
        users, amount = paid.get(group, (0, 0))
        if group in adversarial:
            adversaries += amount
        print(
            f"  {group:<26}{sizes[group]:>6}{users:>6}{amount / 10**DECIMALS:>14,.2f}"
            f"{amount / max(1, awarded):>12.2%}{amount / max(1, int(epoch.pool_before)):>10.2%}"
        )
    share = adversaries / max(1, awarded)
    print(f"  {'adversaries together':<38}{adversaries / 10**DECIMALS:>14,.2f}{share:>12.2%}")
    uploaders = sum(
        paid.get(g, (0, 0))[1] for g in adversarial if g.endswith(("uploaders", "farmers"))
    )
    if uploaders:
        labelers = adversaries - uploaders
        print(
            f"  of which rows that validation accepted from (near-)duplicate uploaders "
            f"{uploaders / max(1, awarded):.2%}, labels {labelers / max(1, awarded):.2%}"
        )
    return share


def make_bounty(dataset: Dataset, token: Token, title: str) -> Bounty:
    from django.utils import timezone

    from payments.services.bounties import bounty_create

    # One epoch whose window covers the whole run: the work lands inside it, and the epoch is
    # computed with now = its end.
    start = timezone.now() - timedelta(minutes=1)
    return bounty_create(
        dataset=dataset, sponsor=dataset.owner, title=title, token=token, pays_for="both",
        rate_per_row=RATE_PER_ROW, rate_per_label=RATE_PER_LABEL, pool_amount=10**30,
        starts_at=start, ends_at=start + timedelta(days=1), epoch_length=timedelta(days=1),
    )  # fmt: skip


def simulate(args: argparse.Namespace, tmp: Path) -> bool:
    from datasets_app.models import Item
    from datasets_app.services import dataset_consensus_refresh, dataset_create, item_set_gold
    from marketplace.core.models import User
    from payments.models import Bounty, Token
    from payments.services.bounties import bounty_funding_credit
    from payments.services.ledger import ledger_books_check
    from payments.services.rewards import reward_epoch_compute

    rng = random.Random(args.seed)  # noqa: S311 - simulation
    world = World(rng=rng, words=make_words(rng))
    owner = User.objects.create_user("0x" + rng.randbytes(20).hex())
    token = Token.objects.create(
        chain_id=31337, address="0x" + rng.randbytes(20).hex(), symbol="DBT", decimals=DECIMALS
    )
    dataset = dataset_create(
        owner=owner, title="Sentiment of short reviews", description="Three-class sentiment.",
        modality="text", columns=[{"name": "text", "dtype": "string"}],
        label_task="single_label", label_classes=CLASSES, status="open",
        near_duplicate_threshold=args.near_duplicate_threshold,
    )  # fmt: skip
    bounty = make_bounty(dataset, token, "Rows and labels")
    capped_bounty = make_bounty(dataset, token, "Rows and labels, small pool")
    pool = 10**9 * 10**DECIMALS  # far above the demand: the shares are the formula's
    bounty = bounty_funding_credit(bounty=bounty, amount=pool, reference="bench:uncapped")
    crowd = build_crowd(args, rng)
    groups = Counter(m.group for m in crowd)
    adversaries = sum(groups[g] for g in ADVERSARIES)
    print(
        f"crowd: {len(crowd)} users, {adversaries} adversaries ({adversaries / len(crowd):.0%}): "
        + ", ".join(f"{g} {groups[g]}" for g in HONEST + ADVERSARIES)
    )

    started = time.perf_counter()
    outcome = run_uploads(dataset, crowd, world, args.rows_per_upload, tmp)
    print(f"\nuploads ({time.perf_counter() - started:.1f} s): rows accepted / offered")
    for group, counts in outcome.items():
        print(f"  {group:<44}{counts['accepted']:>5} / {counts['offered']}")
        if "offered at or above the threshold" in counts:
            print(
                f"    {'of which at or above the dataset threshold':<42}"
                f"{counts['accepted at or above the threshold']:>5} / "
                f"{counts['offered at or above the threshold']}"
            )
    for note in world.upload_notes:
        print(f"  {note}")

    honest_uploaders = [m.user for m in crowd if m.group == "honest uploaders"]
    items = list(
        Item.objects.filter(
            dataset=dataset, contribution__contributor__in=honest_uploaders
        ).order_by("?")[: args.gold_items]
    )
    for item in items:
        item_set_gold(item=item, actor=owner, gold_label=world.truth[item.data["text"]])
    started = time.perf_counter()
    labels = run_labeling(dataset, crowd, world)
    seconds = time.perf_counter() - started
    print(f"\nlabeling: {labels} labels in {seconds:.1f} s ({len(items)} gold items)")
    online, decided = accuracy(dataset, world)
    refresh = dataset_consensus_refresh(dataset_id=dataset.pk)
    final, decided = accuracy(dataset, world)
    majority = majority_accuracy(dataset, world)
    print(f"  items decided: {decided}")
    print(f"  plain majority vote                  accuracy {majority:.2%}")
    print(f"  credibility-weighted (as labels came) accuracy {online:.2%}")
    print(
        f"  after Dawid-Skene refresh            accuracy {final:.2%} "
        f"({refresh['changed']} items changed, alpha {refresh['alpha'] or 0:.3f})"
    )
    accuracy_by_mix(dataset, crowd, world)
    print_credibility(
        crowd, ("honest labelers", "random labelers", "constant labelers", "sybil ring")
    )

    end = bounty.ends_at
    epoch = reward_epoch_compute(bounty_id=bounty.pk, now=end)
    assert epoch is not None
    paid = shares(epoch, crowd)
    share = print_shares("uncapped bounty", epoch, crowd, paid)
    capped_pool = int(epoch.demand) // 2
    bounty_funding_credit(bounty=capped_bounty, amount=capped_pool, reference="bench:capped")
    capped = reward_epoch_compute(bounty_id=capped_bounty.pk, now=capped_bounty.ends_at)
    assert capped is not None
    capped_paid = shares(capped, crowd)
    capped_share = print_shares(
        "capped bounty (pool = half the demand)", capped, crowd, capped_paid
    )
    assert Bounty.objects.filter(pk__in=[bounty.pk, capped_bounty.pk], status="closed").count()
    books = ledger_books_check(token=token)
    farmed = outcome["near-duplicate farmers"]
    caught = 1 - farmed["accepted at or above the threshold"] / max(
        1, farmed["offered at or above the threshold"]
    )
    farmers_paid = [
        p.get("near-duplicate farmers", (0, 0))[1] / max(1, int(e.awarded))
        for e, p in ((epoch, paid), (capped, capped_paid))
    ]
    print(
        f"\nnear-duplicate farmers: {farmed['accepted']} of {farmed['offered']} rows got through "
        f"({farmed['accepted at or above the threshold']} of the "
        f"{farmed['offered at or above the threshold']} at or above the "
        f"{dataset.near_duplicate_threshold} threshold); {farmers_paid[0]:.2%} of the awarded "
        f"pool uncapped, {farmers_paid[1]:.2%} capped"
        + (
            f"; exact Jaccard of the accepted copies with their source "
            f"{min(world.farmed_through):.2f}-{max(world.farmed_through):.2f}"
            if world.farmed_through
            else ""
        )
    )

    results = [
        ("adversaries' share of the awarded pool < 3 %", max(share, capped_share) < 0.03,
         f"{share:.2%} uncapped, {capped_share:.2%} capped"),
        ("consensus >= 95 % correct", final >= 0.95, f"{final:.2%}"),
        ("farmed near-duplicates at or above the threshold caught >= 95 %", caught >= 0.95,
         f"{caught:.1%}"),
        ("ledger books balance", books.ok, f"unbalanced transactions: {books.unbalanced}"),
    ]  # fmt: skip
    print()
    for name, ok, detail in results:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    return all(ok for _, ok, _ in results)


def simulate_annotations(args: argparse.Namespace, task: str) -> list[tuple[str, bool, str]]:
    """A span (or box) dataset labelled by honest, random, lazy one-span (one-box) and copying
    labelers through the real queue, consensus and rewards; prints each group's share of the
    pool and the consensus F1 against the hidden truth."""
    from marketplace.core.models import User
    from payments.models import Token
    from payments.services.bounties import bounty_funding_credit
    from payments.services.ledger import ledger_books_check
    from payments.services.rewards import reward_epoch_compute

    rng = random.Random(args.seed + (1 if task == "spans" else 2))  # noqa: S311 - simulation
    owner = User.objects.create_user("0x" + rng.randbytes(20).hex())
    token = Token.objects.create(
        chain_id=31337, address="0x" + rng.randbytes(20).hex(), symbol="DBT", decimals=DECIMALS
    )
    dataset = annotation_dataset(owner, task)
    bounty = make_bounty(dataset, token, f"{task.capitalize()} labels")
    bounty = bounty_funding_credit(
        bounty=bounty, amount=10**9 * 10**DECIMALS, reference=f"bench:{task}"
    )
    world = AnnotationWorld(rng=rng, task=task)
    items = make_annotation_items(dataset, world, make_words(rng, 2000), args.annotation_items)
    mark_gold(items, owner, world, min(args.gold_items, len(items) // 4))
    crowd = build_annotation_crowd(args, rng)
    started = time.perf_counter()
    labels = run_labeling(dataset, crowd, world, annotation_answer)
    print(
        f"\n{task}: {len(items)} items, {labels} labels in {time.perf_counter() - started:.1f} s; "
        + ", ".join(f"{g} {n}" for g, n in Counter(m.group for m in crowd).items())
    )
    quality, decided = consensus_f1(dataset, world)
    print(f"  items decided {decided}; consensus F1 against the hidden truth {quality:.3f}")
    print_credibility(crowd, ANNOTATION_HONEST + ANNOTATION_ADVERSARIES)
    epoch = reward_epoch_compute(bounty_id=bounty.pk, now=bounty.ends_at)
    assert epoch is not None
    paid = shares(epoch, crowd)
    print_shares(f"{task} bounty", epoch, crowd, paid, (ANNOTATION_HONEST, ANNOTATION_ADVERSARIES))
    awarded = max(1, int(epoch.awarded))
    sizes = Counter(m.group for m in crowd)
    per_head = {g: paid.get(g, (0, 0))[1] / max(1, sizes[g]) for g in sizes}
    lazy_ratio = per_head.get("lazy labelers", 0) / max(1e-9, per_head["honest labelers"])
    print(
        f"  a lazy labeler (one {task[:-1] if task == 'spans' else 'box'} per item) earns "
        f"{lazy_ratio:.0%} of an honest labeler's pay: what they find, weighted by F1"
    )
    guessers = sum(paid.get(g, (0, 0))[1] for g in ("random labelers", "copy ring")) / awarded
    books = ledger_books_check(token=token)
    return [
        (f"{task}: random and copying labelers' share of the awarded pool < 3 %",
         guessers < 0.03, f"{guessers:.2%}"),
        (f"{task}: a lazy labeler earns less than an honest one", lazy_ratio < 1,
         f"{lazy_ratio:.0%} of an honest labeler's pay"),
        (f"{task}: ledger books balance", books.ok, f"unbalanced: {books.unbalanced}"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows-per-upload", type=int, default=40)
    parser.add_argument("--honest-uploaders", type=int, default=8)
    parser.add_argument("--honest-labelers", type=int, default=20)
    parser.add_argument("--random", type=int, default=2, help="random labelers")
    parser.add_argument("--constant", type=int, default=2, help="always-same-label labelers")
    parser.add_argument("--duplicate", type=int, default=2, help="duplicate uploaders")
    parser.add_argument("--near-duplicate", type=int, default=2, help="near-duplicate uploaders")
    parser.add_argument("--near-duplicate-farmers", type=int, default=2,
                        help="uploaders of honest rows with two words changed")  # fmt: skip
    parser.add_argument("--near-duplicate-threshold", type=float, default=0.7,
                        help="the dataset's (0.7 is the default of new datasets)")  # fmt: skip
    parser.add_argument("--sybils", type=int, default=4, help="accounts in the sybil ring")
    parser.add_argument("--gold-items", type=int, default=24)
    parser.add_argument("--gold-rate", type=float, default=0.1, help="LABEL_GOLD_RATE")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lazy", type=int, default=2,
                        help="span/box labelers who mark only the first span or box")  # fmt: skip
    parser.add_argument("--annotation-items", type=int, default=120,
                        help="items of the span and of the box dataset")  # fmt: skip
    parser.add_argument("--tasks", default="classes,spans,boxes",
                        help="crowds to run: classes, spans, boxes (comma-separated)")  # fmt: skip
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} for a look")
    args = parser.parse_args()
    tasks = {t.strip() for t in args.tasks.split(",") if t.strip()}

    started = time.perf_counter()
    with scratch_database(DB_NAME, keep=args.keep_db), tempfile.TemporaryDirectory() as tmp:
        configure(Path(tmp) / "media", args.gold_rate)
        ok = simulate(args, Path(tmp)) if "classes" in tasks else True
        results = [r for task in ("spans", "boxes") if task in tasks
                   for r in simulate_annotations(args, task)]  # fmt: skip
        if results:
            print()
        for name, passed, detail in results:
            print(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}")
        ok = ok and all(passed for _, passed, _ in results)
    print(f"\nrun took {time.perf_counter() - started:.0f} s")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
