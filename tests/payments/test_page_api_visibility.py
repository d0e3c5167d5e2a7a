"""Pages and the API apply the same visibility rules (marketplace.core.policy) for every role and
dataset state: a bounty is seen wherever its dataset is seen (``bounty_visible``), so a
moderator-hidden dataset's bounty is gone for its own sponsor too; a license tier of a dataset
someone cannot see does not exist for them, whether they claim it on the page or the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from payments.services.licenses import license_tier_create
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


@pytest.mark.parametrize("status", sorted(SEES))
@pytest.mark.parametrize("role", ["someone", "sponsor", "staff"])
def test_a_tier_is_not_found_on_the_page_and_the_api_alike(status: str, role: str):
    dataset = DatasetFactory.create(status="open")
    tier = license_tier_create(
        dataset=dataset, actor=dataset.owner, name="Research", spdx_id="CC-BY-NC-4.0"
    )
    dataset.status = status
    dataset.save(update_fields=["status"])
    client = _client_as(role, dataset.owner)
    page = client.post(reverse("license-claim", kwargs={"tier_id": tier.pk}))
    api = client.post(reverse("api-license-claim", kwargs={"tier_id": tier.pk}))
    hidden_from_them = role not in SEES[status]
    assert (page.status_code == 404, api.status_code == 404) == (hidden_from_them,) * 2
    if not hidden_from_them and status in ("draft", "hidden"):  # seen, but not on offer
        assert api.json()["code"] == "tier_unavailable"
