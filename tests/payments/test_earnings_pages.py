"""The earnings page and reward receipts: what a contributor reads, and who may read it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from payments.models import Payout, Purchase, Reward
from payments.services.licenses import license_tier_create
from payments.services.payouts import payouts_create
from payments.services.rewards import reward_epoch_compute
from payments.services.sales import sale_share
from payments.templatetags.money import format_amount
from tests.factories import (
    DatasetFactory,
    TokenFactory,
    UserFactory,
    contribution_with_items,
    credibility,
    decided_item,
    funded,
    in_epoch,
    ready_release,
)
from tests.payments.helpers import rows_rewarded

pytestmark = pytest.mark.django_db


def test_format_amount_is_exact():
    assert format_amount(1_234_500_000_000_000_000, 18, "DBT") == "1.2345 DBT"
    assert format_amount(10**24, 18) == "1,000,000"
    assert format_amount(1, 18) == "0.000000000000000001"
    assert format_amount(-1_500, 3, "X") == "-1.5 X"
    assert format_amount(7, 0, "T") == "7 T"


def test_earnings_list_a_reward_and_its_receipt_explains_it(client):
    bounty = funded(10**21, pays_for="both", rate_per_row=2 * 10**18, rate_per_label=10**18)
    user = UserFactory.create()
    credibility(user, 1.0)
    contribution_with_items(bounty.dataset, user, [1.0, 0.5], validated_at=in_epoch(bounty))
    decided_item(bounty.dataset, {user: "positive"}, "positive", in_epoch(bounty))
    reward_epoch_compute(bounty_id=bounty.pk)
    reward = Reward.objects.get()
    client.force_login(user)

    page = client.get(reverse("earnings")).content.decode()
    assert bounty.title in page
    assert "4 DBT" in page  # 2 x 1.5 rows + 1 x 1 label
    assert reverse("reward-receipt", kwargs={"reward_id": reward.pk}) in page

    receipt = client.get(reverse("reward-receipt", kwargs={"reward_id": reward.pk}))
    text = receipt.content.decode()
    assert receipt.status_code == 200
    assert "rows.csv" in text and "1.5" in text  # the contribution, its weighted rows
    assert "Labels agreeing with consensus" in text and "1.00" in text  # weight
    assert "The pool covered everyone\N{RIGHT SINGLE QUOTATION MARK}s work in full." in text


def test_a_receipt_is_private_and_pages_need_sign_in(client):
    rows_rewarded(UserFactory.create(), [1.0])
    url = reverse("reward-receipt", kwargs={"reward_id": Reward.objects.get().pk})
    assert client.get(url).status_code == 302  # to sign-in
    client.force_login(UserFactory.create())
    assert client.get(url).status_code == 404
    assert "No rewards yet" in client.get(reverse("earnings")).content.decode()


def test_payouts_show_on_the_earnings_page_with_explorer_links(client, settings):
    user = UserFactory.create()
    rows_rewarded(user, [1.0])
    (payout,) = payouts_create()
    client.force_login(user)
    page = client.get(reverse("earnings")).content.decode()
    assert 'data-status="queued"' in page and "not sent yet" in page

    tx_hash = "0x" + "ab" * 32
    Payout.objects.filter(pk=payout.pk).update(status="confirmed", nonce=0, mined_hash=tx_hash)
    settings.CHAIN_EXPLORER_TX_URL = "https://explorer.example/tx/{hash}"
    page = client.get(reverse("payouts")).content.decode()
    assert f'href="https://explorer.example/tx/{tx_hash}"' in page
    assert 'data-status="confirmed"' in page


def test_a_sale_share_is_listed_and_explained(client):
    token = TokenFactory.create(decimals=6, symbol="tUSD")
    dataset = DatasetFactory.create()
    contributor = UserFactory.create()
    contribution_with_items(dataset, contributor, [1.0, 0.5], validated_at=timezone.now())
    ready_release(dataset)
    tier = license_tier_create(
        dataset=dataset, actor=dataset.owner, name="Pro", spdx_id="CC-BY-4.0", price=10**6,
        token=token,
    )  # fmt: skip
    purchase = Purchase.objects.create(
        buyer=UserFactory.create(), tier=tier, dataset=dataset, token=token, amount=10**6,
        pay_to="0x" + "11" * 20, chain_id=31337, expires_at=timezone.now(),
    )  # fmt: skip
    shares = sale_share(purchase=purchase, received=10**6)
    assert shares[contributor.pk] == 400_000 and sum(shares.values()) == 900_000
    reward = Reward.objects.get(user=contributor)
    client.force_login(contributor)
    page = client.get(reverse("earnings")).content.decode()
    assert "Share of a sale" in page and "0.4 tUSD" in page
    receipt = client.get(reverse("reward-receipt", kwargs={"reward_id": reward.pk})).content
    text = receipt.decode()
    assert "How the sale was shared" in text and "rows.csv" in text and "1 tUSD" in text
    api = client.get(reverse("api-reward", kwargs={"reward_id": reward.pk})).json()
    assert api["source"] == "sale" and api["dataset"] == dataset.slug and api["epoch"] is None
