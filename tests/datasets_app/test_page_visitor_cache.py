"""A visitor who is not signed in gets the home and dataset pages from the cache (whole, with
their own CSRF token put in); a write that changes what the page shows is shown by the next
request, and signed-in owners and license holders never get a visitor's page, nor the reverse."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from datasets_app.enums import DatasetStatus
from datasets_app.models import DatasetRelease
from payments.models import Bounty, LicenseGrant, LicenseTier
from payments.services.bounties import bounty_funding_credit
from tests.factories import BountyFactory, DatasetFactory, TokenFactory, UserFactory

pytestmark = pytest.mark.django_db


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def csrf_in(body: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', body)
    assert found
    return found.group(1)


def test_a_visitor_s_second_dataset_page_runs_one_query_and_has_its_own_token(
    django_assert_max_num_queries: Any,
) -> None:
    dataset = DatasetFactory.create(title="Reviews of films")
    url = f"/datasets/{dataset.slug}/"
    first = Client(enforce_csrf_checks=True)
    body = page(first, url)
    assert "csrfTokenOfThisVisitorGoesHere" not in body
    other = Client(enforce_csrf_checks=True)
    with django_assert_max_num_queries(1):  # the stamp: nothing else is read or rendered
        again = other.get(url)
    text = again.content.decode()
    assert "Reviews of films" in text
    assert "csrfTokenOfThisVisitorGoesHere" not in text
    assert csrf_in(text) != csrf_in(body)  # each visitor's own (masked) token
    assert again.cookies["csrftoken"].value  # and the cookie it is checked against


def test_a_visitor_s_home_page_comes_from_the_cache(django_assert_max_num_queries: Any) -> None:
    DatasetFactory.create_batch(3)
    page(Client(), "/")
    with django_assert_max_num_queries(1):  # the totals and the shown cards, one query
        body = page(Client(), "/")
    assert "csrfTokenOfThisVisitorGoesHere" not in body


def test_a_new_dataset_and_an_owner_s_new_name_show_on_the_next_home_page() -> None:
    dataset = DatasetFactory.create(title="First one")
    client = Client()
    assert "First one" in page(client, "/")
    DatasetFactory.create(title="Second one")
    assert "Second one" in page(client, "/")
    dataset.owner.display_name = "Ada the owner"
    dataset.owner.save(update_fields=["display_name"])
    assert "Ada the owner" in page(client, "/")


def test_bounty_tier_release_and_pool_writes_show_on_the_next_visitor_page() -> None:
    dataset = DatasetFactory.create()
    url = f"/datasets/{dataset.slug}/"
    client = Client()
    assert "No license is offered" in page(client, url)

    bounty = BountyFactory.create(dataset=dataset, title="Pays for reviews")
    assert "Pays for reviews" in page(client, url)

    bounty_funding_credit(bounty=bounty, amount=5 * 10**18, reference="31337:0xabc:0")
    body = page(client, url)
    assert "left" in body and "5 DBT" in body  # the pool's ledger balance
    bounty_funding_credit(bounty=bounty, amount=3 * 10**18, reference="31337:0xdef:0")
    assert "8 DBT" in page(client, url)  # an open bounty's row is not saved: only the ledger

    Bounty.objects.filter(pk=bounty.pk).update(title="Pays for better reviews")  # no save()
    assert "Pays for reviews" in page(client, url)  # within VISITOR_PAGE_SECONDS...
    bounty.refresh_from_db()
    bounty.save()  # ...and at once with any saved change
    assert "Pays for better reviews" in page(client, url)

    tier = LicenseTier.objects.create(dataset=dataset, name="Research", spdx_id="CC-BY-4.0")
    assert "Research" in page(client, url)
    tier.name = "Academic"
    tier.save()
    assert "Academic" in page(client, url)

    ready = '<span class="badge badge--success">Ready</span>'
    assert ready not in page(client, url)
    DatasetRelease.objects.create(
        dataset=dataset, number=1, status="building", progress=10, created_by=dataset.owner
    )
    DatasetRelease.objects.filter(dataset=dataset).update(  # as the build does
        status="ready", content_hash="a" * 64
    )
    assert ready in page(client, url)


def test_a_hidden_dataset_is_not_served_from_a_visitor_s_cached_page() -> None:
    dataset = DatasetFactory.create()
    url = f"/datasets/{dataset.slug}/"
    page(Client(), url)
    dataset.status = DatasetStatus.HIDDEN
    dataset.save()
    assert Client().get(url).status_code == 404


def test_owners_and_license_holders_never_get_a_visitor_s_page_nor_the_reverse() -> None:
    token = TokenFactory.create()
    dataset = DatasetFactory.create()
    BountyFactory.create(dataset=dataset, token=token)
    tier = LicenseTier.objects.create(dataset=dataset, name="Research", spdx_id="CC-BY-4.0")
    buyer = UserFactory.create()
    LicenseGrant.objects.create(buyer=buyer, dataset=dataset, tier=tier)
    url = f"/datasets/{dataset.slug}/"

    visitor = page(Client(), url)  # kept in the cache now
    assert "Edit dataset" not in visitor and "You hold the" not in visitor

    owner = Client()
    owner.force_login(dataset.owner)
    body = page(owner, url)
    assert "Edit dataset" in body and "Add a bounty" in body and "Manage" in body

    holder = Client()
    holder.force_login(buyer)
    body = page(holder, url)
    assert "You hold the" in body and "Edit dataset" not in body

    # After both, a visitor still gets a visitor's page, and so does the owner once signed out.
    owner.logout()
    for client in (Client(), owner):
        body = page(client, url)
        for control in ("Edit dataset", "You hold the", "Add a bounty"):
            assert control not in body
