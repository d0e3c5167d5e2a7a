"""The span and box crowds of bench/bench_incentives.py: items with hidden true spans (a
sentence) or boxes (a 640 x 480 image), and what honest, random, lazy and copying labelers mark
on them. Items are made directly (uploading rows is the class crowd's business); labels go
through ``labeling_next_item`` and ``label_submit`` (``incentive_crowd.run_labeling``), consensus
through ``item_consensus_update`` as they arrive. Django is set up by the script first.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.incentive_crowd import Member

if TYPE_CHECKING:
    from datasets_app.models import Dataset, Item
    from marketplace.core.models import User

ENTITY_CLASSES = ["PER", "LOC", "ORG"]
OBJECT_CLASSES = ["car", "bike", "person"]
IMAGE_WIDTH, IMAGE_HEIGHT = 640, 480
ANNOTATION_HONEST = ("honest labelers",)
ANNOTATION_ADVERSARIES = ("random labelers", "lazy labelers", "copy ring")
Annotation = dict[str, object]


@dataclass
class AnnotationWorld:
    rng: random.Random
    task: str  # "spans" or "boxes"
    truth: dict[int, list[Annotation]] = field(default_factory=dict)  # item id -> annotations
    words: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # item -> word offsets
    ring_choice: dict[int, list[Annotation]] = field(default_factory=dict)


def _true_spans(rng: random.Random, offsets: list[tuple[int, int]]) -> list[Annotation]:
    """1-4 entities of 1-3 words, a word apart at least (so a boundary slip never overlaps)."""
    spans: list[Annotation] = []
    i = rng.randrange(3)
    while i < len(offsets) and len(spans) < 4:
        length = rng.randint(1, 3)
        if i + length <= len(offsets) and (rng.random() < 0.3 or (not spans and i > 6)):
            start, end = offsets[i][0], offsets[i + length - 1][1]
            spans.append({"start": start, "end": end, "label": rng.choice(ENTITY_CLASSES)})
            i += length + 1
        i += 1
    return spans


def _true_boxes(rng: random.Random) -> list[Annotation]:
    boxes: list[Annotation] = []
    for _ in range(rng.randint(1, 4)):
        w, h = rng.randint(40, 200), rng.randint(40, 200)
        x, y = rng.randint(0, IMAGE_WIDTH - w), rng.randint(0, IMAGE_HEIGHT - h)
        boxes.append({"x": x, "y": y, "w": w, "h": h, "label": rng.choice(OBJECT_CLASSES)})
    return boxes


def make_annotation_items(
    dataset: Dataset, world: AnnotationWorld, vocabulary: list[str], count: int
) -> list[Item]:
    """``count`` items with hidden true spans (a sentence) or boxes (a 640 x 480 image)."""
    from datasets_app.models import Dataset as DatasetModel
    from datasets_app.models import Item as ItemModel

    rng = world.rng
    items = []
    for n in range(count):
        if world.task == "spans":
            words = rng.choices(vocabulary, k=rng.randint(12, 24))
            text = " ".join(words)
            offsets, at = [], 0
            for word in words:
                offsets.append((at, at + len(word)))
                at += len(word) + 1
            data: dict[str, object] = {"text": text}
        else:
            data = {"image": {"path": f"bench/{n}.png", "width": IMAGE_WIDTH,
                              "height": IMAGE_HEIGHT, "format": "PNG"}}  # fmt: skip
        item = ItemModel.objects.create(
            dataset=dataset, data=data, content_hash=f"{dataset.pk}:{n}".rjust(64, "0"),
            row_number=n, slots_open=dataset.labels_per_item,
        )  # fmt: skip
        if world.task == "spans":
            world.words[item.pk] = offsets
            world.truth[item.pk] = _true_spans(rng, offsets)
        else:
            world.truth[item.pk] = _true_boxes(rng)
        items.append(item)
    DatasetModel.objects.filter(pk=dataset.pk).update(items_count=count)
    return items


def _slipped_span(
    span: Annotation, offsets: list[tuple[int, int]], rng: random.Random
) -> Annotation:
    """The span with its end one word short or one word long (still a token-overlap match)."""
    ends = [end for _, end in offsets]
    k = ends.index(int(span["end"]))  # type: ignore[call-overload]
    starts_at = [start for start, _ in offsets].index(int(span["start"]))  # type: ignore[call-overload]
    if k > starts_at and rng.random() < 0.5:
        return {**span, "end": ends[k - 1]}
    if k + 1 < len(ends):
        return {**span, "end": ends[k + 1]}
    return span


def _jittered_box(box: Annotation, rng: random.Random) -> Annotation:
    """The box drawn a little off: each edge within ~6 % of the box's size (IoU stays > 0.5)."""
    x, y, w, h = (float(box[k]) for k in "xywh")  # type: ignore[arg-type]
    left = min(max(0.0, x + rng.uniform(-0.06, 0.06) * w), IMAGE_WIDTH - 1)
    top = min(max(0.0, y + rng.uniform(-0.06, 0.06) * h), IMAGE_HEIGHT - 1)
    right = min(float(IMAGE_WIDTH), max(left + 1, x + w + rng.uniform(-0.06, 0.06) * w))
    bottom = min(float(IMAGE_HEIGHT), max(top + 1, y + h + rng.uniform(-0.06, 0.06) * h))
    return {"x": round(left), "y": round(top), "w": round(right) - round(left),
            "h": round(bottom) - round(top), "label": box["label"]}  # fmt: skip


def _random_annotations(world: AnnotationWorld, item_id: int) -> list[Annotation]:
    rng = world.rng
    if world.task == "boxes":
        return _true_boxes(rng)[: rng.randint(1, 3)]
    offsets = world.words[item_id]
    picked = sorted(rng.sample(range(len(offsets)), rng.randint(1, 3)))
    return [{"start": offsets[i][0], "end": offsets[i][1],
             "label": rng.choice(ENTITY_CLASSES)} for i in picked]  # fmt: skip


def annotation_answer(member: Member, item: Item, world: AnnotationWorld) -> list[Annotation]:
    """honest: finds each true span/box with their accuracy, ~15 % with a slipped boundary or a
    jittered box, ~3 % with a wrong class; random: 1-3 random ones; lazy: only the first true
    one; copy ring: the first member to reach an item marks at random, the others copy it."""
    rng = world.rng
    truth = world.truth[item.pk]
    classes = ENTITY_CLASSES if world.task == "spans" else OBJECT_CLASSES
    if member.group == "honest labelers":
        marked = []
        for true in truth:
            if rng.random() >= member.accuracy:
                continue  # missed
            mark = dict(true)
            if rng.random() < 0.15:
                mark = (_slipped_span(mark, world.words[item.pk], rng)
                        if world.task == "spans" else _jittered_box(mark, rng))  # fmt: skip
            if rng.random() < 0.03:
                mark["label"] = rng.choice([c for c in classes if c != mark["label"]])
            marked.append(mark)
        return marked
    if member.group == "lazy labelers":
        return [dict(truth[0])] if truth else []
    if member.group == "copy ring":
        return world.ring_choice.setdefault(item.pk, _random_annotations(world, item.pk))
    return _random_annotations(world, item.pk)


def build_annotation_crowd(args: argparse.Namespace, rng: random.Random) -> list[Member]:
    from marketplace.core.models import User

    crowd: list[Member] = []
    for group, count in (("honest labelers", args.honest_labelers),
                         ("random labelers", args.random), ("lazy labelers", args.lazy),
                         ("copy ring", args.sybils)):  # fmt: skip
        for _ in range(count):
            user = User.objects.create_user("0x" + rng.randbytes(20).hex())
            crowd.append(Member(user, group, accuracy=rng.uniform(0.85, 0.95)))
    return crowd


def annotation_dataset(owner: User, task: str) -> Dataset:
    from datasets_app.services import dataset_create

    if task == "spans":
        return dataset_create(
            owner=owner, title="Entities in sentences", description="People, places, orgs.",
            modality="text", columns=[{"name": "text", "dtype": "string"}],
            label_task="spans", label_classes=ENTITY_CLASSES, status="open",
        )  # fmt: skip
    return dataset_create(
        owner=owner, title="Objects in street photos", description="Cars, bikes, people.",
        modality="image", columns=[{"name": "image", "dtype": "image"}],
        label_task="boxes", label_classes=OBJECT_CLASSES, status="open",
    )  # fmt: skip


def mark_gold(items: list[Item], owner: User, world: AnnotationWorld, count: int) -> None:
    """The owner gives ``count`` random items their true spans/boxes as gold answers."""
    from datasets_app.services import item_set_gold

    for item in world.rng.sample(items, count):
        item_set_gold(item=item, actor=owner, gold_label=world.truth[item.pk])


def consensus_f1(dataset: Dataset, world: AnnotationWorld) -> tuple[float, int]:
    """(mean F1 of the decided items' consensus against the truth, items decided)."""
    from datasets_app.models import Item as ItemModel
    from datasets_app.quality.boxes import box_f1
    from datasets_app.quality.spans import span_f1

    decided = ItemModel.objects.filter(
        dataset=dataset, is_gold=False, consensus_at__isnull=False
    ).values_list("pk", "consensus_label", "data")
    scores = [
        span_f1(label or [], world.truth[pk], match="token", text=data["text"])
        if world.task == "spans"
        else box_f1(label or [], world.truth[pk])
        for pk, label, data in decided
    ]
    return sum(scores) / max(1, len(scores)), len(scores)
