"""The labeling API's item routes: an unknown item is a plain 404 on each of them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from datasets_app.models import Item
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ITEM_ROUTES = [
    ("item-labels", "post", {"value": "positive"}),
    ("item-skip", "post", {}),
    ("item-gold", "put", {"gold_label": "positive"}),
]


@pytest.mark.parametrize(("name", "method", "body"), ITEM_ROUTES, ids=[r[0] for r in ITEM_ROUTES])
def test_an_unknown_item_is_not_found_on_every_item_route(client, name, method, body):
    client.force_login(UserFactory.create())
    missing = (Item.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    url = reverse(name, kwargs={"item_id": missing})
    response = getattr(client, method)(url, body, content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such item.", "code": "not_found"}
