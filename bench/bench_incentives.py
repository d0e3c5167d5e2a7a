"""Incentive integrity: who gets the bounty when a third of the crowd games it (real services,
real PostgreSQL).

    .venv/bin/python bench/bench_incentives.py [--rows-per-upload 40] [--honest-uploaders 8]
        [--honest-labelers 20] [--random 2] [--constant 2] [--duplicate 2] [--near-duplicate 2]
        [--near-duplicate-farmers 2] [--sybils 4] [--gold-items 24] [--gold-rate 0.1] [--seed 7]
        [--keep-db]

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

Prints, per group, users, tokens and share of what was awarded; consensus accuracy against the
hidden truth (and plain majority for comparison); the ledger books check; PASS/FAIL for the
targets (adversaries < 3 % of the awarded pool, consensus >= 95 % correct, >= 95 % of the farmed
copies at or above the threshold rejected). Exits 1 on a miss.
Uses its own database (bench_incentives, recreated, dropped unless --keep-db) and a temporary
media folder.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch_db import drop_database, recreate_database  # noqa: E402

if TYPE_CHECKING:
    from datasets_app.models import Dataset, Item
    from marketplace.core.models import User
    from payments.models import Bounty, RewardEpoch, Token

DB_NAME = "bench_incentives"
CLASSES = ["negative", "neutral", "positive"]
NEIGHBOURS = {"negative": ["neutral"], "neutral": ["negative", "positive"], "positive": ["neutral"]}
DECIMALS = 18
RATE_PER_ROW = 10**18  # base units: one token per quality-weighted accepted row
RATE_PER_LABEL = 4 * 10**17  # 0.4 token per credibility-weighted agreeing label
HONEST = ("honest uploaders", "honest labelers")
ADVERSARIES = ("random labelers", "constant labelers", "duplicate uploaders",
               "near-duplicate uploaders", "near-duplicate farmers", "sybil ring")  # fmt: skip


@dataclass
class Member:
    user: User
    group: str
    accuracy: float = 1.0
    constant: str = ""


@dataclass
class World:
    rng: random.Random
    words: list[str]
    truth: dict[str, str] = field(default_factory=dict)  # text -> true class
    ring_choice: dict[int, str] = field(default_factory=dict)  # item id -> the ring's answer
    upload_notes: list[str] = field(default_factory=list)
    farmed_through: list[float] = field(default_factory=list)  # Jaccard of accepted farmed rows


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


# -- the data ------------------------------------------------------------------------------


def make_words(rng: random.Random, count: int = 6000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(count)}
    return sorted(words)


def sentence(world: World) -> str:
    words = world.rng.choices(world.words, k=world.rng.randint(22, 34))
    return " ".join(words).capitalize() + "."


def near_duplicate(world: World, text: str, kind: str) -> str:
    rng = world.rng
    words = text.rstrip(".").split()
    if kind == "case and punctuation":
        return text.upper().replace(".", "!!")
    if kind == "word appended":
        return " ".join([*words, rng.choice(world.words)]) + "."
    swaps = 1 if kind == "one word swapped" else 2
    for position in rng.sample(range(1, len(words)), swaps):
        words[position] = rng.choice(world.words)
    return " ".join(words) + "."


NEAR_DUPLICATE_KINDS = ("case and punctuation", "word appended", "one word swapped",
                        "two words swapped")  # fmt: skip


def write_csv(path: Path, texts: list[str]) -> None:
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["text"])
        writer.writerows([t] for t in texts)


def submit(dataset: Dataset, member: Member, path: Path) -> tuple[str, set[str]]:
    """Submit a file through the real service; (status, texts accepted as items)."""
    from datasets_app.exceptions import UploadError
    from datasets_app.models import Contribution, Item
    from datasets_app.services import contribution_submit, contribution_validate

    try:
        with open(path, "rb") as file:
            contribution = contribution_submit(
                dataset=dataset,
                contributor=member.user,
                file=file,
                filename=path.name,
                size=path.stat().st_size,
            )
    except UploadError as exc:
        return f"refused ({exc.code})", set()
    # The eager task validated it on commit; this is a no-op then, and the fallback otherwise.
    contribution_validate(contribution_id=contribution.pk)
    contribution = Contribution.objects.get(pk=contribution.pk)
    accepted = {
        data["text"]
        for data in Item.objects.filter(contribution=contribution).values_list("data", flat=True)
    }
    return str(contribution.status), accepted


def run_uploads(
    dataset: Dataset, crowd: list[Member], world: World, rows: int, tmp: Path
) -> dict[str, Counter[str]]:
    """Honest files first, then the copies. Returns, per adversary kind, rows offered/accepted."""
    outcome: dict[str, Counter[str]] = defaultdict(Counter)
    honest_texts: list[str] = []
    for n, member in enumerate(m for m in crowd if m.group == "honest uploaders"):
        texts = [sentence(world) for _ in range(rows)]
        for text in texts:
            world.truth[text] = world.rng.choice(CLASSES)
        path = tmp / f"honest-{n}.csv"
        write_csv(path, texts)
        status, accepted = submit(dataset, member, path)
        honest_texts += sorted(accepted)
        outcome["honest uploaders"]["offered"] += len(texts)
        outcome["honest uploaders"]["accepted"] += len(accepted)
    honest_files = sorted(tmp.glob("honest-*.csv"))
    for n, member in enumerate(m for m in crowd if m.group == "duplicate uploaders"):
        status, _ = submit(dataset, member, honest_files[n % len(honest_files)])
        world.upload_notes.append(f"duplicate uploader re-sends an honest file: {status}")
        texts = world.rng.sample(honest_texts, min(rows, len(honest_texts)))
        path = tmp / f"duplicate-{n}.csv"
        write_csv(path, texts)
        status, accepted = submit(dataset, member, path)
        world.upload_notes.append(
            f"duplicate uploader {n + 1}: {len(texts)} copied rows -> {status}, "
            f"{len(accepted)} accepted"
        )
        outcome["duplicate uploaders"]["offered"] += len(texts)
        outcome["duplicate uploaders"]["accepted"] += len(accepted)
    for n, member in enumerate(m for m in crowd if m.group == "near-duplicate uploaders"):
        sources = world.rng.sample(honest_texts, min(rows, len(honest_texts)))
        edited = {}
        for i, text in enumerate(sources):
            kind = NEAR_DUPLICATE_KINDS[i % len(NEAR_DUPLICATE_KINDS)]
            copy = near_duplicate(world, text, kind)
            edited[copy] = kind
            world.truth[copy] = world.truth[text]
        path = tmp / f"near-duplicate-{n}.csv"
        write_csv(path, list(edited))
        status, accepted = submit(dataset, member, path)
        outcome["near-duplicate uploaders"]["offered"] += len(edited)
        outcome["near-duplicate uploaders"]["accepted"] += len(accepted)
        for copy, kind in edited.items():
            outcome[f"near-duplicate: {kind}"]["offered"] += 1
            outcome[f"near-duplicate: {kind}"]["accepted"] += int(copy in accepted)
    threshold = dataset.near_duplicate_threshold
    for n, member in enumerate(m for m in crowd if m.group == "near-duplicate farmers"):
        sources = world.rng.sample(honest_texts, min(rows, len(honest_texts)))
        farmed = {near_duplicate(world, text, "two words swapped"): text for text in sources}
        for copy, text in farmed.items():
            world.truth[copy] = world.truth[text]
        path = tmp / f"near-duplicate-farm-{n}.csv"
        write_csv(path, list(farmed))
        status, accepted = submit(dataset, member, path)
        at_threshold = {copy for copy, text in farmed.items() if jaccard(copy, text) >= threshold}
        counts = outcome["near-duplicate farmers"]
        counts["offered"] += len(farmed)
        counts["accepted"] += len(accepted)
        counts["offered at or above the threshold"] += len(at_threshold)
        counts["accepted at or above the threshold"] += len(accepted & at_threshold)
        world.farmed_through += [jaccard(copy, farmed[copy]) for copy in accepted]
    return outcome


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard of the two texts' word pairs (case-folded), as validation defines it."""
    x, y = (set(itertools.pairwise(re.findall(r"\w+", t.casefold()))) for t in (a, b))
    return len(x & y) / len(x | y)


# -- labeling --------------------------------------------------------------------------------


def answer(member: Member, item: Item, world: World) -> str:
    true = world.truth[item.data["text"]]
    rng = world.rng
    if member.group == "honest labelers":
        return true if rng.random() < member.accuracy else rng.choice(NEIGHBOURS[true])
    if member.group == "constant labelers":
        return member.constant
    if member.group == "sybil ring":
        return world.ring_choice.setdefault(item.pk, rng.choice(CLASSES))
    return rng.choice(CLASSES)  # random labelers


def run_labeling(dataset: Dataset, crowd: list[Member], world: World) -> int:
    """Labelers take turns at random until the queue is empty; the ring (one turn, like one
    labeler) labels in a burst, member after member, so its accounts reach the same items."""
    from datasets_app.services import label_submit, labeling_next_item

    labelers = [m for m in crowd if m.group.endswith("labelers")]
    ring = [m for m in crowd if m.group == "sybil ring"]
    agents: list[list[Member]] = [[m] for m in labelers] + ([ring] if ring else [])
    done: set[int] = set()
    labels = 0
    while agents:
        agent = world.rng.choice(agents)
        for member in agent:
            if member.user.pk in done:
                continue
            item = labeling_next_item(dataset=dataset, user=member.user, rng=world.rng)
            if item is None:
                done.add(member.user.pk)
                continue
            label_submit(item=item, user=member.user, value=answer(member, item, world))
            labels += 1
        if all(m.user.pk in done for m in agent):
            agents.remove(agent)
    return labels


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


def print_shares(title: str, epoch: RewardEpoch, crowd: list[Member]) -> float:
    paid = shares(epoch, crowd)
    awarded = int(epoch.awarded)
    sizes = Counter(m.group for m in crowd)
    print(
        f"\n{title}: pool {int(epoch.pool_before) / 10**DECIMALS:,.2f} tokens, demand "
        f"{int(epoch.demand) / 10**DECIMALS:,.2f}, awarded {awarded / 10**DECIMALS:,.2f}, "
        f"capped by pool: {epoch.basis['capped_by_pool']}"
    )
    print(f"  {'group':<26}{'users':>6}{'paid':>6}{'tokens':>14}{'of awarded':>12}{'of pool':>10}")
    adversaries = 0
    for group in HONEST + ADVERSARIES:
        users, amount = paid.get(group, (0, 0))
        if group in ADVERSARIES:
            adversaries += amount
        print(
            f"  {group:<26}{sizes[group]:>6}{users:>6}{amount / 10**DECIMALS:>14,.2f}"
            f"{amount / max(1, awarded):>12.2%}{amount / max(1, int(epoch.pool_before)):>10.2%}"
        )
    share = adversaries / max(1, awarded)
    print(f"  {'adversaries together':<38}{adversaries / 10**DECIMALS:>14,.2f}{share:>12.2%}")
    uploaders = sum(
        paid.get(g, (0, 0))[1] for g in ADVERSARIES if g.endswith(("uploaders", "farmers"))
    )
    labelers = adversaries - uploaders
    print(
        f"  of which rows that validation accepted from (near-)duplicate uploaders "
        f"{uploaders / max(1, awarded):.2%}, labels {labelers / max(1, awarded):.2%}"
    )
    return share


def build_crowd(args: argparse.Namespace, rng: random.Random) -> list[Member]:
    from marketplace.core.models import User

    def user() -> User:
        return User.objects.create_user("0x" + rng.randbytes(20).hex())

    crowd: list[Member] = []
    for group, count in (("honest uploaders", args.honest_uploaders),
                         ("honest labelers", args.honest_labelers),
                         ("random labelers", args.random), ("constant labelers", args.constant),
                         ("duplicate uploaders", args.duplicate),
                         ("near-duplicate uploaders", args.near_duplicate),
                         ("near-duplicate farmers", args.near_duplicate_farmers),
                         ("sybil ring", args.sybils)):  # fmt: skip
        for n in range(count):
            crowd.append(
                Member(
                    user(),
                    group,
                    accuracy=rng.uniform(0.85, 0.95),
                    constant=CLASSES[n % len(CLASSES)],
                )
            )
    return crowd


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
    from datasets_app.models import Item, LabelerCredibility
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
    rows = {row.user_id: row for row in LabelerCredibility.objects.all()}
    print("  labelers' mean credibility; gold answers right / given:")
    for group in ("honest labelers", "random labelers", "constant labelers", "sybil ring"):
        found = [rows[m.user.pk] for m in crowd if m.group == group and m.user.pk in rows]
        if found:
            print(
                f"    {group:<20} {sum(r.credibility for r in found) / len(found):.2f};  "
                + " ".join(f"{r.gold_correct}/{r.gold_total}" for r in found)
            )

    end = bounty.ends_at
    epoch = reward_epoch_compute(bounty_id=bounty.pk, now=end)
    assert epoch is not None
    share = print_shares("uncapped bounty", epoch, crowd)
    capped_pool = int(epoch.demand) // 2
    bounty_funding_credit(bounty=capped_bounty, amount=capped_pool, reference="bench:capped")
    capped = reward_epoch_compute(bounty_id=capped_bounty.pk, now=capped_bounty.ends_at)
    assert capped is not None
    capped_share = print_shares("capped bounty (pool = half the demand)", capped, crowd)
    assert Bounty.objects.filter(pk__in=[bounty.pk, capped_bounty.pk], status="closed").count()
    books = ledger_books_check(token=token)
    farmed = outcome["near-duplicate farmers"]
    caught = 1 - farmed["accepted at or above the threshold"] / max(
        1, farmed["offered at or above the threshold"]
    )
    farmers_paid = [
        shares(e, crowd).get("near-duplicate farmers", (0, 0))[1] / max(1, int(e.awarded))
        for e in (epoch, capped)
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
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} for a look")
    args = parser.parse_args()

    started = time.perf_counter()
    recreate_database(DB_NAME)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            configure(Path(tmp) / "media", args.gold_rate)
            ok = simulate(args, Path(tmp))
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            drop_database(DB_NAME)
    print(f"\nrun took {time.perf_counter() - started:.0f} s")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
