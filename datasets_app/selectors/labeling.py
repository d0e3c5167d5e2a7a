"""Reads for labeling: one item by its id, for the item routes of the labeling API, and a
labeler's own labels."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from datasets_app.models import Dataset, Item, Label
from marketplace.core.exceptions import NotFoundError
from marketplace.core.models import User


def item_get(*, item_id: int) -> Item:
    """Item ``item_id`` with its dataset. Who may label, skip or mark it is the service's to
    decide (a reservation, the dataset's owner), so anyone's ask finds the row here."""
    item = Item.objects.select_related("dataset").filter(pk=item_id).first()
    if item is None:
        raise NotFoundError("No such item.")
    return item


def label_list(*, user: User) -> QuerySet[Label]:
    """``user``'s labels, newest first, with the dataset and item each page row names."""
    return (
        Label.objects.filter(labeler=user)
        .select_related("dataset", "item")
        .order_by("-created_at", "-id")
    )


def labels_today(*, user: User, dataset: Dataset | None = None) -> int:
    """How many labels ``user`` gave since midnight (the site's time zone), in ``dataset`` or in
    all."""
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    labels = Label.objects.filter(labeler=user, created_at__gte=start)
    if dataset is not None:
        labels = labels.filter(dataset=dataset)
    return labels.count()
