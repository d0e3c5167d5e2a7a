"""What the money tests share."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.test import Client
from django.urls import reverse

from datasets_app.models import Dataset
from payments.models import Bounty
from payments.services.rewards import reward_epoch_compute
from tests.factories import contribution_with_items, funded, in_epoch


def url_of(name: str, record: Model) -> str:
    """The URL called ``name`` of one record: a dataset's by its slug, any other's by its id
    (``<model>_id``)."""
    if isinstance(record, Dataset):
        return reverse(name, kwargs={"slug": record.slug})
    return reverse(name, kwargs={f"{record._meta.model_name}_id": record.pk})


def rows_rewarded(
    user: Any, scores: list[float], *, rate_per_row: int = 5, pool: int = 10**9
) -> Bounty:
    """A funded bounty paying ``rate_per_row`` per quality-weighted row (nothing for labels),
    ``user``'s rows of quality ``scores`` accepted within its epoch, and the epoch computed:
    ``user`` holds the bounty's one reward. Returns the bounty."""
    bounty = funded(pool, pays_for="rows", rate_per_row=rate_per_row, rate_per_label=0)
    contribution_with_items(bounty.dataset, user, scores, validated_at=in_epoch(bounty))
    reward_epoch_compute(bounty_id=bounty.pk)
    return bounty


NOT_A_HASH = "That is not a transaction hash (0x and 64 hex digits)."
# What the tx_hash field of the funding and the payment forms refuses, and what it says.
BAD_HASHES = [
    ("0x12", NOT_A_HASH),
    ("", "This field is required."),
    ("0x" + "zz" * 32, NOT_A_HASH),
]


def refused_beside_the_field(
    client: Client, user: Any, url: str, tx_hash: str, form: str, message: str
) -> str:
    """``user`` posts ``tx_hash`` to ``url``: a 400 with ``message`` under the tx_hash field of
    the page's ``form``. Returns the page."""
    client.force_login(user)
    response = client.post(url, {"tx_hash": tx_hash})
    assert response.status_code == 400
    assert response.context[form].errors["tx_hash"] == [message]
    return response.content.decode()
