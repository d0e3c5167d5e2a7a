"""The labeling queue and labels.

Each item needs ``labels_per_item`` (k) labels. ``Item.slots_open`` counts the slots not yet
handed out; handing an item to a labeler reserves one slot under ``SELECT … FOR UPDATE SKIP
LOCKED``, so two labelers asking at once never get the same slot and never wait on each other.
A label fills the reserved slot; an abandoned reservation expires and gives its slot back.
Gold items (owner-provided known answers) are interleaved unannounced to measure labelers.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from datasets_app.enums import ANNOTATION_TASKS, DatasetStatus, LabelTask
from datasets_app.exceptions import LabelingError
from datasets_app.models import Dataset, Item, Label, LabelReservation, LabelSkip
from datasets_app.quality.boxes import validate_boxes
from datasets_app.quality.spans import InvalidAnnotation, validate_spans
from datasets_app.services.consensus import (
    GOLD_F1_CORRECT,
    annotation_f1,
    item_image_size,
    item_text,
    label_gold_recorded,
    whole_pixel_boxes,
)
from marketplace.core.exceptions import NotFoundError, PermissionDeniedError
from marketplace.core.models import User
from marketplace.core.policy import can_manage_dataset
from marketplace.core.services import audit_log_record

MAX_FREE_TEXT = 2000
# Spans or boxes in one label: far above any real item, low enough that consensus stays cheap.
MAX_ANNOTATIONS = 500


def _check_can_label(dataset: Dataset, user: User) -> None:
    if dataset.status != DatasetStatus.OPEN:
        raise LabelingError(f"“{dataset.title}” is not open for labeling.", code="dataset_closed")
    if not user.is_active:
        raise PermissionDeniedError("This account is suspended.")


def _untouched_by(user: User) -> Q:
    """Items this labeler has neither labelled nor skipped."""
    return ~Q(Exists(Label.objects.filter(item=OuterRef("pk"), labeler=user))) & ~Q(
        Exists(LabelSkip.objects.filter(item=OuterRef("pk"), labeler=user))
    )


def _gold_item(dataset: Dataset, user: User) -> Item | None:
    return (
        Item.objects.filter(dataset=dataset, is_gold=True, is_hidden=False)
        .filter(_untouched_by(user))
        .order_by("?")
        .first()
    )


@transaction.atomic
def labeling_next_item(
    *, dataset: Dataset, user: User, rng: random.Random | None = None
) -> Item | None:
    """The item this labeler should label next, reserved for them; None when nothing is left.

    The reservation is the labeler's one open item in this dataset: asking again (a reload)
    returns the same item until it is labelled, skipped or expires.
    """
    _check_can_label(dataset, user)
    now = timezone.now()
    current = _open_reservation(dataset, user)
    if current is not None:
        if current.expires_at > now:
            return current.item
        _release(current)

    item = (
        _gold_item(dataset, user) if (rng or random).random() < settings.LABEL_GOLD_RATE else None
    )
    if item is None:  # a gold item holds no slot; a regular one takes one
        # A random pick among the oldest open items, not the very oldest: accounts that ask
        # one after another (a sybil ring) would otherwise fill the same item's slots and
        # decide its consensus among themselves.
        oldest = (
            Item.objects.filter(dataset=dataset, slots_open__gt=0, is_gold=False, is_hidden=False)
            .filter(_untouched_by(user))
            .order_by("id")
            .values("pk")[: settings.LABEL_QUEUE_SPREAD]
        )
        item = (
            Item.objects.filter(pk__in=Subquery(oldest), slots_open__gt=0)
            .order_by("?")
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if item is None:
            return None  # gold items only ever interleave with real work
        Item.objects.filter(pk=item.pk).update(slots_open=F("slots_open") - 1)
    LabelReservation.objects.create(
        item=item,
        labeler=user,
        dataset=dataset,
        expires_at=now + timedelta(seconds=settings.LABEL_RESERVATION_SECONDS),
    )
    return item


def _open_reservation(dataset: Dataset, user: User) -> LabelReservation | None:
    """The labeler's one reservation in ``dataset`` (expired or not), locked, with its item."""
    return (
        LabelReservation.objects.select_for_update()
        .select_related("item")
        .filter(dataset=dataset, labeler=user)
        .first()
    )


def _release(reservation: LabelReservation) -> None:
    """Give a reservation's slot back (gold items hold no slot)."""
    if not reservation.item.is_gold:
        Item.objects.filter(pk=reservation.item_id).update(slots_open=F("slots_open") + 1)
    reservation.delete()


def _clean_annotations(dataset: Dataset, item: Item, value: Any) -> list[dict[str, Any]]:
    """Spans checked against the item's text, boxes against its original image size (whole
    pixels), refused with the ``InvalidAnnotation`` code."""
    if isinstance(value, list) and len(value) > MAX_ANNOTATIONS:
        raise LabelingError(
            f"At most {MAX_ANNOTATIONS} spans or boxes in one label.", code="too_many_annotations"
        )
    classes = dataset.label_classes
    try:
        if dataset.label_task == LabelTask.SPANS:
            text = item_text(dataset, item)
            return validate_spans(value, text, classes, dataset.spans_allow_overlap)
        size = item_image_size(dataset, item)
        if size is None:
            raise LabelingError(
                "This item's image size is unknown, so boxes cannot be checked; skip it.",
                code="image_size_unknown",
            )
        width, height = size
        return whole_pixel_boxes(validate_boxes(value, width, height, classes))
    except InvalidAnnotation as refused:
        raise LabelingError(refused.detail, code=refused.code) from None


def clean_label_value(dataset: Dataset, value: Any, item: Item) -> Any:
    """The label of ``item`` in its stored form, or a clear error for a value this task cannot
    take (spans and boxes are checked against the item's text or image size)."""
    classes = dataset.label_classes
    if dataset.label_task in ANNOTATION_TASKS:
        return _clean_annotations(dataset, item, value)
    if dataset.label_task == LabelTask.SINGLE_LABEL:
        if not isinstance(value, str) or value not in classes:
            raise LabelingError(f"Choose one of: {', '.join(classes)}.", code="invalid_label")
        return value
    if dataset.label_task == LabelTask.MULTI_LABEL:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise LabelingError("Choose at least one class.", code="invalid_label")
        unknown = sorted(set(value) - set(classes))
        if unknown:
            raise LabelingError(f"Unknown classes: {', '.join(unknown)}.", code="invalid_label")
        return sorted(set(value), key=classes.index)
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_FREE_TEXT:
        raise LabelingError(
            f"Write the label (1 to {MAX_FREE_TEXT} characters).", code="invalid_label"
        )
    return text


@transaction.atomic
def label_submit(*, item: Item, user: User, value: Any) -> Label:
    """Fill the labeler's reserved slot of ``item`` with ``value``."""
    item = Item.objects.select_for_update().select_related("dataset").get(pk=item.pk)
    dataset = item.dataset
    _check_can_label(dataset, user)
    stored = clean_label_value(dataset, value, item)
    reservation = LabelReservation.objects.filter(item=item, labeler=user).first()
    if reservation is None:
        if Label.objects.filter(item=item, labeler=user).exists():
            raise LabelingError("You already labelled this item.", code="already_labelled")
        raise LabelingError(
            "This item is not reserved for you (it may have expired): take the next one.",
            code="not_reserved",
        )
    gold_correct, gold_score = None, None
    if item.is_gold and dataset.label_task in ANNOTATION_TASKS:
        gold_score = annotation_f1(dataset, item, stored, item.gold_label)
        gold_correct = gold_score >= GOLD_F1_CORRECT
    elif item.is_gold:
        gold_correct = clean_label_value(dataset, item.gold_label, item) == stored
    try:
        with transaction.atomic():
            label = Label.objects.create(
                item=item,
                labeler=user,
                dataset=dataset,
                value=stored,
                is_gold_check=item.is_gold,
                gold_correct=gold_correct,
                gold_score=gold_score,
            )
    except IntegrityError:
        raise LabelingError("You already labelled this item.", code="already_labelled") from None
    reservation.delete()
    if item.is_gold:
        credit = float(bool(gold_correct)) if gold_score is None else gold_score
        label_gold_recorded(user_id=user.pk, correct=credit)
    else:
        Item.objects.filter(pk=item.pk).update(labels_count=F("labels_count") + 1)
        Dataset.objects.filter(pk=dataset.pk).update(labels_count=F("labels_count") + 1)
        if item.labels_count + 1 >= dataset.labels_per_item:  # the row lock makes this exact
            from datasets_app.tasks import update_item_consensus

            transaction.on_commit(lambda: update_item_consensus.delay(item.pk))
    return label


@transaction.atomic
def label_skip(*, item: Item, user: User) -> None:
    reservation = (
        LabelReservation.objects.select_for_update()
        .select_related("item")
        .filter(item=item, labeler=user)
        .first()
    )
    if reservation is None:
        raise LabelingError("This item is not reserved for you.", code="not_reserved")
    LabelSkip.objects.get_or_create(item=item, labeler=user)
    _release(reservation)


@transaction.atomic
def label_undo(*, dataset: Dataset, user: User) -> Item:
    """Take back the labeler's latest label in ``dataset`` (within ``LABEL_UNDO_SECONDS``) and
    hand its item back to them, so they can label it again."""
    cutoff = timezone.now() - timedelta(seconds=settings.LABEL_UNDO_SECONDS)
    label = (
        Label.objects.select_for_update()
        .select_related("item")
        .filter(dataset=dataset, labeler=user)
        .order_by("-created_at", "-id")
        .first()
    )
    if label is None or label.created_at < cutoff:
        raise LabelingError("There is no recent label to undo.", code="nothing_to_undo")
    item = Item.objects.select_for_update().get(pk=label.item_id)
    if item.consensus_label is not None:
        raise LabelingError("This item already reached consensus.", code="consensus_reached")
    current = _open_reservation(dataset, user)
    if current is not None:
        _release(current)
    label.delete()
    if not item.is_gold:
        Item.objects.filter(pk=item.pk).update(labels_count=F("labels_count") - 1)
        Dataset.objects.filter(pk=dataset.pk).update(labels_count=F("labels_count") - 1)
    # The slot the label filled becomes this labeler's reservation again.
    LabelReservation.objects.create(
        item=item,
        labeler=user,
        dataset=dataset,
        expires_at=timezone.now() + timedelta(seconds=settings.LABEL_RESERVATION_SECONDS),
    )
    return item


def reservations_release_expired(*, limit: int = 5000) -> int:
    """Beat: give the slots of abandoned reservations back to the queue."""
    released = 0
    with transaction.atomic():
        expired = (
            LabelReservation.objects.select_for_update(skip_locked=True)
            .select_related("item")
            .filter(expires_at__lte=timezone.now())[:limit]
        )
        for reservation in expired:
            _release(reservation)
            released += 1
    return released


@transaction.atomic
def item_set_gold(*, item: Item, actor: User, gold_label: Any) -> Item:
    """The dataset owner marks an item as gold with its known answer (None unmarks it)."""
    item = Item.objects.select_for_update().select_related("dataset").get(pk=item.pk)
    if not can_manage_dataset(actor, item.dataset):
        raise NotFoundError("No such item.")
    if gold_label is None:
        item.is_gold, item.gold_label = False, None
    else:
        item.is_gold, item.gold_label = True, clean_label_value(item.dataset, gold_label, item)
    item.save(update_fields=["is_gold", "gold_label"])
    audit_log_record(
        action="item.gold_set", actor=actor, target=item, data={"gold_label": item.gold_label}
    )
    return item
