"""Licenses and purchases through the API: the documented shapes, per-person access, errors."""

from __future__ import annotations

import pytest
from django.urls import reverse

from payments.models import Purchase
from tests.factories import DatasetFactory, TokenFactory, UserFactory, ready_release

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset():  # type: ignore[no-untyped-def]
    dataset = DatasetFactory.create()
    ready_release(dataset)
    return dataset


def test_tiers_purchase_and_status_through_the_api(client, dataset, settings):
    token = TokenFactory.create(chain_id=settings.CHAIN_ID, decimals=18)
    client.force_login(dataset.owner)
    body = {
        "dataset": dataset.slug,
        "name": "Commercial",
        "spdx_id": "CC-BY-4.0",
        "commercial": True,
        "price": str(10**21),
        "token_address": token.address,
        "duration_seconds": 86_400 * 365,
    }
    created = client.post(reverse("api-licenses"), body, content_type="application/json")
    assert created.status_code == 201, created.json()
    tier = created.json()
    assert tier["price"] == str(10**21) and tier["terms"] == "CC-BY-4.0"
    assert len(tier["terms_hash"]) == 64
    assert (
        client.get(reverse("api-licenses"), {"dataset": dataset.slug}).json()[0]["id"] == tier["id"]
    )

    buyer = UserFactory.create()
    client.force_login(buyer)
    order = client.post(
        reverse("api-purchases"), {"license": tier["id"]}, content_type="application/json"
    )
    assert order.status_code == 201, order.json()
    data = order.json()
    assert {"id", "amount", "token_address", "pay_to", "chain_id", "status", "expires_at"} <= set(
        data
    )
    assert data["amount"] == str(10**21) and data["status"] == "awaiting_payment"
    assert data["token_address"] == token.address and data["chain_id"] == settings.CHAIN_ID

    url = reverse("api-purchase-confirm", kwargs={"purchase_id": data["id"]})
    bad = client.post(url, {"tx_hash": "0x12"}, content_type="application/json")
    assert bad.status_code == 400
    assert bad.json() == {
        "detail": "That is not a transaction hash (0x and 64 hex digits).",
        "code": "bad_tx_hash",
        "field": "tx_hash",
    }
    ok = client.post(url, {"tx_hash": "0x" + "ab" * 32}, content_type="application/json")
    assert ok.status_code == 202 and ok.json()["status"] == "confirming"
    detail = client.get(reverse("api-purchase", kwargs={"purchase_id": data["id"]})).json()
    assert detail["status"] == "confirming" and detail["grant"] is None
    assert client.get(reverse("api-my-purchases")).json()["count"] == 1

    client.force_login(UserFactory.create())
    assert (
        client.get(reverse("api-purchase", kwargs={"purchase_id": data["id"]})).status_code == 404
    )
    refused = client.post(url, {"tx_hash": "0x" + "cd" * 32}, content_type="application/json")
    assert refused.status_code == 404
    assert Purchase.objects.get().tx_hash == "0x" + "ab" * 32


def test_free_tier_claim_and_grants_with_receipts(client, dataset):
    client.force_login(dataset.owner)
    tier = client.post(
        reverse("api-licenses"),
        {"dataset": dataset.slug, "name": "Research", "custom_terms": "Non-commercial research."},
        content_type="application/json",
    ).json()
    assert tier["price"] == "0" and tier["token"] is None
    buyer = UserFactory.create()
    client.force_login(buyer)
    nope = client.post(
        reverse("api-purchases"), {"license": tier["id"]}, content_type="application/json"
    )
    assert nope.status_code == 400 and nope.json()["code"] == "free_tier"
    claimed = client.post(reverse("api-license-claim", kwargs={"tier_id": tier["id"]}))
    assert claimed.status_code == 201
    grants = client.get(reverse("api-grants")).json()["results"]
    assert grants[0]["versions"] == [1] and grants[0]["signature"].startswith("0x")
    assert grants[0]["receipt"]["primaryType"] == "License"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"spdx_id": ""}, "bad_spdx_id"),
        ({"price": "5"}, "bad_token"),
        ({"name": " "}, "invalid"),  # the serializer refuses a blank name
        ({"token_address": "0x" + "12" * 20, "price": "5"}, "token_not_accepted"),
    ],
)
def test_bad_tiers_are_explained(client, dataset, change, code):
    client.force_login(dataset.owner)
    body = {"dataset": dataset.slug, "name": "T", "spdx_id": "MIT", **change}
    response = client.post(reverse("api-licenses"), body, content_type="application/json")
    assert response.status_code in (400, 404) and response.json()["code"] == code


def test_my_purchases_query_count_stays_flat(client, dataset, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from payments.services.licenses import license_tier_create
    from payments.services.purchases import purchase_create

    token = TokenFactory.create(chain_id=settings.CHAIN_ID)
    buyer = UserFactory.create()
    client.force_login(buyer)

    def order(count: int) -> int:
        for n in range(count):
            tier = license_tier_create(
                dataset=dataset, actor=dataset.owner, name=f"T{Purchase.objects.count()}-{n}",
                spdx_id="MIT", price=5, token=token,
            )  # fmt: skip
            purchase_create(buyer=buyer, tier=tier)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("api-my-purchases")).status_code == 200
        return len(queries)

    assert order(2) == order(5)
