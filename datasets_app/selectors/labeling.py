"""Reads for labeling: one item by its id, for the item routes of the labeling API."""

from __future__ import annotations

from datasets_app.models import Item
from marketplace.core.exceptions import NotFoundError


def item_get(*, item_id: int) -> Item:
    """Item ``item_id`` with its dataset. Who may label, skip or mark it is the service's to
    decide (a reservation, the dataset's owner), so anyone's ask finds the row here."""
    item = Item.objects.select_related("dataset").filter(pk=item_id).first()
    if item is None:
        raise NotFoundError("No such item.")
    return item
