"""The crowd of bench/bench_incentives.py: who its members are, the rows they write and upload
through ``contribution_submit``, and the answers they give through ``labeling_next_item`` and
``label_submit``. Django is set up by the script before any of these run.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasets_app.models import Dataset, Item
    from marketplace.core.models import User

CLASSES = ["negative", "neutral", "positive"]
NEIGHBOURS = {"negative": ["neutral"], "neutral": ["negative", "positive"], "positive": ["neutral"]}
HONEST = ("honest uploaders", "honest labelers")
ADVERSARIES = ("random labelers", "constant labelers", "duplicate uploaders",
               "near-duplicate uploaders", "near-duplicate farmers", "sybil ring")  # fmt: skip
RINGS = ("sybil ring", "copy ring")  # accounts that label in a burst and copy one another


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


def run_labeling(
    dataset: Dataset,
    crowd: list[Member],
    world: Any,
    answer_of: Callable[[Member, Item, Any], object] = answer,
) -> int:
    """Labelers take turns at random until the queue is empty; the ring (one turn, like one
    labeler) labels in a burst, member after member, so its accounts reach the same items.
    ``answer_of(member, item, world)`` is a member's label (``answer``: a class; the span and
    box crowds pass theirs with their own world)."""
    from datasets_app.services import label_submit, labeling_next_item

    labelers = [m for m in crowd if m.group.endswith("labelers")]
    ring = [m for m in crowd if m.group in RINGS]
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
            label_submit(item=item, user=member.user, value=answer_of(member, item, world))
            labels += 1
        if all(m.user.pk in done for m in agent):
            agents.remove(agent)
    return labels


def print_credibility(crowd: list[Member], groups: tuple[str, ...]) -> None:
    """Each labeler group's mean credibility and its members' gold answers right / given (a span
    or box answer counts its F1 as right)."""
    from datasets_app.models import LabelerCredibility

    rows = {row.user_id: row for row in LabelerCredibility.objects.all()}
    print("  labelers' mean credibility; gold answers right / given:")
    for group in groups:
        found = [rows[m.user.pk] for m in crowd if m.group == group and m.user.pk in rows]
        if found:
            print(
                f"    {group:<20} {sum(r.credibility for r in found) / len(found):.2f};  "
                + " ".join(f"{round(r.gold_correct, 2):g}/{r.gold_total}" for r in found)
            )


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
