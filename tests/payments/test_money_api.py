"""Bounties, rewards and payouts through the API: amounts as strings of base units, each
person sees only their own rewards and payouts, and errors say what to fix."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from datasets_app.models import Contribution
from payments.models import Bounty, Payout, Reward
from payments.services.payouts import payouts_create
from tests.factories import DatasetFactory, TokenFactory, UserFactory, funded
from tests.payments.helpers import rows_rewarded

pytestmark = pytest.mark.django_db
BIG = 10**30  # beyond any JSON number's exact range


def bounty_body(dataset: Any, token: Any, **fields: Any) -> dict[str, Any]:
    """A valid request to create a bounty on ``dataset`` in ``token``, ``fields`` changed."""
    return {
        "dataset": dataset.slug,
        "title": "t",
        "token_address": token.address,
        "pays_for": "both",
        "rate_per_row": "1",
        "rate_per_label": "1",
        "pool_amount": "100",
        "starts_at": "2026-12-01T00:00:00Z",
        "ends_at": "2026-12-31T00:00:00Z",
        "epoch_length_seconds": 3600,
        **fields,
    }


def test_a_dataset_owner_creates_a_bounty_and_anyone_reads_it(client, settings):
    owner = UserFactory.create()
    dataset = DatasetFactory.create(owner=owner)
    token = TokenFactory.create(chain_id=settings.CHAIN_ID)
    body = bounty_body(
        dataset,
        token,
        title="Label 10k reviews",
        token_address=token.address.lower(),
        rate_per_row="1000",
        rate_per_label="250",
        pool_amount=str(BIG),
        epoch_length_seconds=86_400,
    )
    anonymous = client.post(reverse("api-bounties"), body, content_type="application/json")
    assert anonymous.status_code == 401
    client.force_login(UserFactory.create())
    refused = client.post(reverse("api-bounties"), body, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"

    client.force_login(owner)
    created = client.post(reverse("api-bounties"), body, content_type="application/json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["pool_amount"] == str(BIG) and data["status"] == "awaiting_funding"
    assert data["token"]["address"] == token.address and data["epoch_length_seconds"] == 86_400

    client.logout()
    listed = client.get(reverse("api-bounties"), {"dataset": dataset.slug}).json()
    assert [b["id"] for b in listed["results"]] == [data["id"]]
    detail = client.get(reverse("api-bounty", kwargs={"bounty_id": data["id"]})).json()
    assert detail["pool"] == {"funded": "0", "awarded": "0", "left": "0"}
    assert (
        detail["pay_to"]
        == client.get(reverse("api-bounty", kwargs={"bounty_id": data["id"]})).json()["pay_to"]
    )
    assert detail["chain_id"] == settings.CHAIN_ID


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"pays_for": "rows", "rate_per_label": "5"}, "bad_rate_per_label"),
        ({"rate_per_row": "0"}, "bad_rate_per_row"),
        ({"pool_amount": "1.5"}, "invalid"),
        ({"ends_at": "2026-11-30T00:00:00Z"}, "bad_ends_at"),
        ({"token_address": "0x" + "12" * 20}, "token_not_accepted"),
    ],
)
def test_bad_bounties_are_explained_and_nothing_is_stored(client, settings, change, code):
    owner = UserFactory.create()
    dataset = DatasetFactory.create(owner=owner)
    token = TokenFactory.create(chain_id=settings.CHAIN_ID)
    body = bounty_body(dataset, token, **change)
    client.force_login(owner)
    response = client.post(reverse("api-bounties"), body, content_type="application/json")
    assert response.status_code in (400, 404)
    assert response.json()["code"] == code and response.json()["detail"]
    assert not Bounty.objects.exists()


def test_funding_submission_through_the_api(client):
    bounty = funded(pays_for="rows", rate_per_row=1, rate_per_label=0)
    client.force_login(bounty.sponsor)
    response = client.post(
        reverse("api-bounty-fund", kwargs={"bounty_id": bounty.pk}),
        {"tx_hash": "0x" + "11" * 32},
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["code"] == "already_funded"


def test_rewards_and_payouts_are_listed_for_their_owner_only(client, django_assert_max_num_queries):
    user = UserFactory.create()
    rows_rewarded(user, [1.0, 0.5], rate_per_row=BIG // 10**9, pool=BIG)
    payouts_create()
    reward = Reward.objects.get()
    client.force_login(user)

    rewards = client.get(reverse("api-rewards")).json()
    assert rewards["count"] == 1
    (row,) = rewards["results"]
    assert (
        row["amount"] == str(int(1.5 * (BIG // 10**9)))
        and row["basis"]["rows"]["accepted_rows"] == 2
    )
    detail = client.get(reverse("api-reward", kwargs={"reward_id": reward.pk})).json()
    assert detail["lines"][0]["contribution"] == Contribution.objects.get(contributor=user).pk
    assert detail["lines"][0]["weighted_micro"] == 1_500_000
    payouts = client.get(reverse("api-payouts")).json()
    assert payouts["results"][0]["amount"] == row["amount"]
    assert payouts["results"][0]["status"] == "queued"

    client.force_login(UserFactory.create())
    assert client.get(reverse("api-reward", kwargs={"reward_id": reward.pk})).status_code == 404
    assert client.get(reverse("api-rewards")).json()["count"] == 0
    assert client.get(reverse("api-payouts")).json()["count"] == 0
    client.logout()
    assert client.get(reverse("api-rewards")).status_code == 401


def test_reward_list_query_count_stays_flat(client):
    user = UserFactory.create()

    def count() -> int:
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("api-rewards")).status_code == 200
            assert client.get(reverse("earnings")).status_code == 200
        return len(queries)

    for _ in range(2):
        rows_rewarded(user, [1.0])
    few = count()
    for _ in range(4):
        rows_rewarded(user, [1.0])
    assert count() == few
    assert Payout.objects.count() == 0
