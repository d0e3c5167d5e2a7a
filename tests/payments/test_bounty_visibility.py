"""A bounty is seen wherever its dataset is seen (``policy.bounty_visible``), and the page and
the API agree for every role and dataset state: a moderator-hidden dataset's bounty is gone for
its own sponsor too, as the dataset is."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import BountyFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db

SEES = {  # dataset status -> the roles that see its bounty
    "open": {"anonymous", "someone", "sponsor", "staff"},
    "closed": {"anonymous", "someone", "sponsor", "staff"},
    "draft": {"sponsor", "staff"},
    "hidden": {"staff"},
}


def _client_as(role: str, sponsor: Any) -> Client:
    client = Client()
    if role == "sponsor":
        client.force_login(sponsor)
    elif role == "someone":
        client.force_login(UserFactory.create())
    elif role == "staff":
        client.force_login(UserFactory.create(is_staff=True))
    return client


@pytest.mark.parametrize("status", sorted(SEES))
@pytest.mark.parametrize("role", ["anonymous", "someone", "sponsor", "staff"])
def test_the_page_and_the_api_show_a_bounty_to_the_same_people(status: str, role: str):
    bounty = BountyFactory.create(dataset=DatasetFactory.create(status=status))
    client = _client_as(role, bounty.sponsor)
    expected = 200 if role in SEES[status] else 404
    page = client.get(reverse("bounty-detail", kwargs={"bounty_id": bounty.pk}))
    api = client.get(reverse("api-bounty", kwargs={"bounty_id": bounty.pk}))
    assert (page.status_code, api.status_code) == (expected, expected)
    if expected == 404:
        assert api.json()["code"] == "not_found"
