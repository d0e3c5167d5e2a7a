"""License pages: the owner's tier form (who may, exact token amounts, errors beside their field),
the dataset page's Licenses card (buy, get it free, sign in, already licensed; flat queries), an
order's page (only its buyer, the hash form and its errors, the polled status, paid, failed,
expired), the list of purchases, and the signed receipt as a JSON download."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from datasets_app.models import DatasetRelease
from payments.enums import LicenseCoverage, PurchaseStatus
from payments.models import LicenseGrant, LicenseTier, Purchase, Token
from payments.services.funding import treasury_address
from payments.services.licenses import (
    license_claim_free,
    license_grant_create,
    license_receipt_verify,
    license_tier_create,
)
from payments.services.purchases import purchase_create
from tests.factories import DatasetFactory, TokenFactory, UserFactory, ready_release
from tests.payments.helpers import BAD_HASHES, refused_beside_the_field, url_of

pytestmark = pytest.mark.django_db

TX_HASH = "0x" + "ab" * 32


@pytest.fixture
def token(settings: Any) -> Token:
    return TokenFactory.create(chain_id=settings.CHAIN_ID, symbol="tUSD", decimals=6)


@pytest.fixture
def owner() -> Any:
    return UserFactory.create()


@pytest.fixture
def buyer() -> Any:
    return UserFactory.create()


@pytest.fixture
def dataset(owner: Any) -> Any:
    dataset = DatasetFactory.create(owner=owner, slug="reviews", title="Kitchen reviews")
    ready_release(dataset)
    return dataset


def paid_tier(dataset: Any, token: Token, **overrides: Any) -> LicenseTier:
    values: dict[str, Any] = {
        "name": "Commercial",
        "spdx_id": "CC-BY-4.0",
        "commercial": True,
        "price": 25_000_007,
        "token": token,
        "duration": timedelta(days=365),
        **overrides,
    }
    return license_tier_create(dataset=dataset, actor=dataset.owner, **values)


def free_tier(dataset: Any) -> LicenseTier:
    return license_tier_create(
        dataset=dataset, actor=dataset.owner, name="Research", spdx_id="CC-BY-NC-4.0"
    )


tiers_url = partial(url_of, "license-tiers")
dataset_url = partial(url_of, "datasets:detail")
purchase_url = partial(url_of, "purchase-detail")
pay_url = partial(url_of, "purchase-pay")


def tier_form(token: Token | None, **overrides: str) -> dict[str, str]:
    return {
        "name": "Commercial",
        "spdx_id": "CC-BY-4.0",
        "custom_terms": "",
        "commercial": "on",
        "price": "25.000007",
        "token": str(token.pk) if token else "",
        "duration": "365",
        "covers": "all",
        **overrides,
    }


# ---------- the owner's tiers ----------


def test_only_the_owner_opens_the_tier_form(client, owner, dataset, token):
    anonymous = client.get(tiers_url(dataset))
    assert anonymous.status_code == 200  # the tiers on offer, no form
    assert 'id="tier-form"' not in anonymous.content.decode()
    assert client.post(tiers_url(dataset), tier_form(token)).status_code == 403
    client.force_login(UserFactory.create())
    assert 'id="tier-form"' not in client.get(tiers_url(dataset)).content.decode()
    refused = client.post(tiers_url(dataset), tier_form(token))
    assert refused.status_code == 403
    assert "Only the dataset&#x27;s owner sets its licenses." in refused.content.decode()
    assert not LicenseTier.objects.exists()

    client.force_login(owner)
    page = client.get(tiers_url(dataset))
    assert page.status_code == 200
    html = page.content.decode()
    for spdx_id in ("CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0", "CC0-1.0", "ODbL-1.0", "MIT"):
        assert f'value="{spdx_id}"' in html
    assert "tUSD · 6 decimals" in html
    assert "No license tier yet." in html


def test_the_owner_adds_a_tier_priced_exactly_in_base_units(client, owner, dataset, token):
    client.force_login(owner)
    response = client.post(tiers_url(dataset), tier_form(token))
    assert response.status_code == 302 and response.url == tiers_url(dataset)
    tier = LicenseTier.objects.get()
    assert int(tier.price) == 25_000_007  # 25.000007 tUSD with 6 decimals, no float anywhere
    assert (tier.token, tier.spdx_id, tier.commercial) == (token, "CC-BY-4.0", True)
    assert tier.duration == timedelta(days=365)
    assert tier.covers == LicenseCoverage.ALL

    page = client.get(tiers_url(dataset)).content.decode()
    assert "25.000007 tUSD" in page and "1 year" in page


def test_a_big_price_in_an_18_decimals_token_stays_exact(client, owner, dataset, settings):
    dbt = TokenFactory.create(chain_id=settings.CHAIN_ID, symbol="DBT", decimals=18)
    client.force_login(owner)
    text = "123456789012345678.123456789012345678"
    client.post(tiers_url(dataset), tier_form(dbt, price=text))
    assert int(LicenseTier.objects.get().price) == 123456789012345678123456789012345678


def test_more_decimals_than_the_token_has_is_refused_beside_the_price(
    client, owner, dataset, token
):
    client.force_login(owner)
    response = client.post(tiers_url(dataset), tier_form(token, price="1.0000001"))
    assert response.status_code == 200
    assert response.context["form"].errors["price"] == [
        "tUSD has 6 decimals: use at most 6 digits after the point."
    ]
    assert 'id="id_price_error"' in response.content.decode()
    assert not LicenseTier.objects.exists()


def test_a_zero_price_makes_a_free_tier_without_a_token(client, owner, dataset, token):
    client.force_login(owner)
    client.post(
        tiers_url(dataset), tier_form(token, name="Research", price="0", duration="perpetual")
    )
    tier = LicenseTier.objects.get()
    assert (int(tier.price), tier.token, tier.duration) == (0, None, None)
    assert tier.is_free


def test_a_price_needs_a_token(client, owner, dataset):
    client.force_login(owner)
    response = client.post(tiers_url(dataset), tier_form(None))
    assert response.context["form"].errors["token"] == ["Choose the token the price is in."]
    assert "No token is accepted yet" in response.content.decode()


def test_service_refusals_land_beside_their_field(client, owner, dataset, token):
    client.force_login(owner)
    # Custom terms chosen, none written: license_tier_create's error is about spdx_id.
    response = client.post(tiers_url(dataset), tier_form(token, spdx_id="custom", custom_terms=" "))
    assert "Give the terms" in response.context["form"].errors["spdx_id"][0]
    paid_tier(dataset, token)
    response = client.post(tiers_url(dataset), tier_form(token))
    assert response.context["form"].errors["name"] == ["A tier with this name exists."]
    assert LicenseTier.objects.count() == 1


def test_custom_terms_are_kept_and_a_standard_license_ignores_them(client, owner, dataset, token):
    client.force_login(owner)
    terms = "Use it for anything but surveillance."
    client.post(
        tiers_url(dataset), tier_form(token, name="Custom", spdx_id="custom", custom_terms=terms)
    )
    client.post(tiers_url(dataset), tier_form(token, name="Standard", custom_terms=terms))
    custom, standard = LicenseTier.objects.order_by("name")
    assert (custom.spdx_id, custom.custom_terms) == ("", terms)
    assert (standard.spdx_id, standard.custom_terms) == ("CC-BY-4.0", "")


# ---------- the buyer's licenses page ----------


def labelled_release(dataset: Any, *, number: int, labelled_share: float) -> DatasetRelease:
    """A ready release whose quality figures say how much of it is labelled (written while it
    builds: a ready release is immutable)."""
    built = DatasetRelease.objects.create(
        dataset=dataset,
        number=number,
        created_by=dataset.owner,
        status="building",
        quality={"labelled_share": labelled_share},
    )
    DatasetRelease.objects.filter(pk=built.pk).update(
        status="ready", content_hash="cd" * 32, ready_at=timezone.now()
    )
    return built


def test_buyers_see_the_tiers_with_buy_buttons_on_the_licenses_page(client, buyer, dataset, token):
    paid = paid_tier(dataset, token)
    free = free_tier(dataset)
    labelled_release(dataset, number=2, labelled_share=0.6667)
    client.force_login(buyer)
    response = client.get(tiers_url(dataset))
    assert response.status_code == 200
    html = response.content.decode()
    assert "site-header" in html and "<h1>Licenses</h1>" in html  # the site's layout
    assert reverse("license-buy", kwargs={"tier_id": paid.pk}) in html
    assert reverse("license-claim", kwargs={"tier_id": free.pk}) in html
    assert "Buy for 25.000007 tUSD" in html and "Get it free" in html
    # The version a purchase covers now, and its labelled share, beside the price.
    assert html.count("v2 · 66.7\N{NO-BREAK SPACE}% labelled") == 2
    assert "Buying now covers" in html and "66.7\N{NO-BREAK SPACE}% labelled" in html
    assert 'id="tier-form"' not in html and "Add tier" not in html


def test_signed_out_visitors_sign_in_from_the_licenses_page(client, dataset, token):
    paid_tier(dataset, token)
    html = client.get(tiers_url(dataset)).content.decode()
    assert "Sign in to buy" in html
    assert "/signin/?next=/datasets/reviews/licenses/" in html


def test_the_labelled_share_is_left_out_when_the_release_has_none(client, buyer, dataset, token):
    paid_tier(dataset, token)
    client.force_login(buyer)
    html = client.get(dataset_url(dataset)).content.decode()
    assert "Buy for 25.000007 tUSD" in html and ">v1</span>" in html
    assert "labelled</span>" not in html


# ---------- the dataset page ----------


def test_signed_out_visitors_see_the_tiers_and_sign_in_to_buy(client, dataset, token):
    paid_tier(dataset, token)
    free_tier(dataset)
    license_tier_create(
        dataset=dataset, actor=dataset.owner, name="Old", spdx_id="MIT", price=1, token=token
    )
    LicenseTier.objects.filter(name="Old").update(is_active=False)
    html = client.get(dataset_url(dataset)).content.decode()
    assert 'id="licenses"' in html
    assert "Commercial" in html and "Research" in html and ">Old<" not in html
    assert "25.000007 tUSD" in html and "Free" in html
    assert "Commercial use allowed" in html and "Non-commercial only" in html
    assert "1 year" in html and "Perpetual" in html
    assert "Sign in to buy" in html and "Sign in to get it" in html
    assert "/signin/?next=/datasets/reviews/%23licenses" in html
    assert "license-buy" not in html and "/buy" not in html


def test_signed_in_people_get_buy_and_free_buttons(client, buyer, dataset, token):
    paid = paid_tier(dataset, token)
    free = free_tier(dataset)
    client.force_login(buyer)
    html = client.get(dataset_url(dataset)).content.decode()
    assert reverse("license-buy", kwargs={"tier_id": paid.pk}) in html
    assert reverse("license-claim", kwargs={"tier_id": free.pk}) in html
    assert "Buy for 25.000007 tUSD" in html and "Get it free" in html
    assert "Sign in to buy" not in html and "Manage" not in html


def test_the_owner_gets_a_link_to_manage_the_tiers(client, owner, dataset):
    client.force_login(owner)
    html = client.get(dataset_url(dataset)).content.decode()
    assert tiers_url(dataset) in html
    assert "No license is offered for this dataset yet." in html


def test_buy_makes_an_order_and_opens_its_page_once(client, buyer, dataset, token, settings):
    tier = paid_tier(dataset, token)
    client.force_login(buyer)
    url = reverse("license-buy", kwargs={"tier_id": tier.pk})
    response = client.post(url)
    purchase = Purchase.objects.get()
    assert response.status_code == 302 and response.url == purchase_url(purchase)
    assert (purchase.buyer, purchase.tier, int(purchase.amount)) == (buyer, tier, 25_000_007)
    assert client.post(url).url == purchase_url(purchase)  # a second click: the same order
    assert Purchase.objects.count() == 1
    assert client.get(url).status_code == 405


def test_buy_without_a_ready_release_says_why_on_the_dataset_page(client, buyer, owner, token):
    bare = DatasetFactory.create(owner=owner, slug="bare")
    tier = paid_tier(bare, token)
    client.force_login(buyer)
    response = client.post(reverse("license-buy", kwargs={"tier_id": tier.pk}), follow=True)
    assert response.redirect_chain[-1][0] == dataset_url(bare) + "#licenses"
    assert "This dataset has no published version to license yet." in response.content.decode()
    assert not Purchase.objects.exists()


def test_a_hidden_datasets_tier_cannot_be_bought(client, buyer, dataset, token):
    tier = paid_tier(dataset, token)
    type(dataset).objects.filter(pk=dataset.pk).update(status="draft")
    client.force_login(buyer)
    assert client.post(reverse("license-buy", kwargs={"tier_id": tier.pk})).status_code == 404


def test_get_it_free_grants_the_license_and_opens_the_library(client, buyer, dataset):
    tier = free_tier(dataset)
    client.force_login(buyer)
    response = client.post(reverse("license-claim", kwargs={"tier_id": tier.pk}))
    assert response.status_code == 302 and response.url == reverse("library")
    grant = LicenseGrant.objects.get()
    assert (grant.buyer, grant.tier, grant.purchase) == (buyer, tier, None)

    html = client.get(dataset_url(dataset)).content.decode()
    assert 'id="license-held"' in html
    assert "You hold the <strong>Research</strong> license" in html
    assert reverse("library") in html
    # The held tier links to the library instead of offering itself again.
    assert "You hold it: open your library" in html
    assert reverse("license-claim", kwargs={"tier_id": tier.pk}) not in html


def test_get_it_free_refuses_a_paid_tier(client, buyer, dataset, token):
    tier = paid_tier(dataset, token)
    client.force_login(buyer)
    response = client.post(reverse("license-claim", kwargs={"tier_id": tier.pk}), follow=True)
    assert "This license is paid: buy it." in response.content.decode()
    assert not LicenseGrant.objects.exists()


def test_the_license_list_costs_the_same_queries_for_1_or_8_tiers(client, buyer, dataset, settings):
    client.force_login(buyer)
    tokens = [
        TokenFactory.create(chain_id=settings.CHAIN_ID, symbol=f"T{n}", decimals=6)
        for n in range(8)
    ]
    paid_tier(dataset, tokens[0], name="Tier 0")
    license_claim_free(buyer=buyer, tier=free_tier(dataset))
    client.get(dataset_url(dataset))  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        client.get(dataset_url(dataset))
    for n, token in enumerate(tokens[1:], start=1):
        paid_tier(dataset, token, name=f"Tier {n}")
    with CaptureQueriesContext(connection) as many:
        html = client.get(dataset_url(dataset)).content.decode()
    assert html.count('class="license-tier"') == 9
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


# ---------- an order ----------


@pytest.fixture
def purchase(buyer: Any, dataset: Any, token: Token) -> Purchase:
    return purchase_create(buyer=buyer, tier=paid_tier(dataset, token))


def test_only_the_buyer_sees_an_order(client, purchase, buyer):
    assert client.get(purchase_url(purchase)).status_code == 302  # to sign in
    client.force_login(UserFactory.create())
    assert client.get(purchase_url(purchase)).status_code == 404
    assert client.post(pay_url(purchase), {"tx_hash": TX_HASH}).status_code == 404
    client.force_login(purchase.dataset.owner)
    assert client.get(purchase_url(purchase)).status_code == 404
    assert Purchase.objects.get().status == PurchaseStatus.AWAITING_PAYMENT


def test_the_order_says_exactly_what_to_pay(client, purchase, buyer, token, settings):
    client.force_login(buyer)
    response = client.get(purchase_url(purchase))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Send <strong>25.000007 tUSD</strong> to the treasury on chain 31337" in html
    assert 'value="25.000007"' in html  # the amount to copy
    assert "25000007 base units (6 decimals)" in html
    assert f'value="{treasury_address()}"' in html and f'value="{token.address}"' in html
    assert f'data-pay-to="{treasury_address()}"' in html
    assert 'data-amount="25000007"' in html and f'data-payer="{buyer.address}"' in html
    assert f'data-chain-id="{settings.CHAIN_ID}"' in html
    assert 'data-expires-in="' in html and "60 min left" in html
    assert "js/erc20_pay.js" in html
    assert "Awaiting payment" in html and 'action="' + pay_url(purchase) + '"' in html


@pytest.mark.parametrize(("tx_hash", "message"), BAD_HASHES)
def test_a_bad_hash_is_refused_beside_the_field(client, purchase, buyer, tx_hash, message):
    page = refused_beside_the_field(client, buyer, pay_url(purchase), tx_hash, "pay_form", message)
    assert 'id="id_tx_hash_error"' in page
    assert Purchase.objects.get().status == PurchaseStatus.AWAITING_PAYMENT


def test_a_hash_that_paid_another_order_is_refused(client, purchase, buyer, dataset, token):
    other = purchase_create(buyer=UserFactory.create(), tier=purchase.tier)
    Purchase.objects.filter(pk=other.pk).update(tx_hash=TX_HASH, status="confirming")
    client.force_login(buyer)
    response = client.post(pay_url(purchase), {"tx_hash": TX_HASH})
    assert response.status_code == 400
    assert response.context["pay_form"].errors["tx_hash"] == [
        "This transaction has already paid for something."
    ]


def test_a_good_hash_starts_confirming_and_the_status_is_polled(
    client, purchase, buyer, django_capture_on_commit_callbacks
):
    client.force_login(buyer)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(pay_url(purchase), {"tx_hash": TX_HASH.upper().replace("X", "x")})
    assert response.status_code == 302 and response.url == purchase_url(purchase)
    assert len(callbacks) == 1  # the verification task, enqueued on commit
    purchase.refresh_from_db()
    assert (purchase.status, purchase.tx_hash) == (PurchaseStatus.CONFIRMING, TX_HASH)

    html = client.get(purchase_url(purchase)).content.decode()
    assert "Confirming your payment" in html and 'hx-trigger="every 2s"' in html
    assert "0 / 2" in html and "erc20_pay.js" not in html

    Purchase.objects.filter(pk=purchase.pk).update(confirmations=1)
    poll = client.get(purchase_url(purchase), headers={"HX-Request": "true"})
    assert poll.status_code == 200 and "HX-Refresh" not in poll
    body = poll.content.decode()
    assert body.lstrip().startswith('<div id="purchase-status"') and "1 / 2" in body

    again = client.post(pay_url(purchase), {"tx_hash": "0x" + "cd" * 32}, follow=True)
    assert "already paid or being confirmed" in again.content.decode()


def test_paid_shows_the_license_with_library_and_receipt_links(client, purchase, buyer):
    Purchase.objects.filter(pk=purchase.pk).update(
        status=PurchaseStatus.PAID, tx_hash=TX_HASH, paid_at=timezone.now()
    )
    purchase.refresh_from_db()
    grant = license_grant_create(buyer=buyer, tier=purchase.tier, purchase=purchase)
    client.force_login(buyer)
    poll = client.get(purchase_url(purchase), headers={"HX-Request": "true"})
    assert poll["HX-Refresh"] == "true"  # settled: the whole page reloads
    html = client.get(purchase_url(purchase)).content.decode()
    assert "Your license is ready" in html
    assert reverse("library") in html
    assert reverse("license-receipt", kwargs={"grant_id": grant.pk}) in html
    assert "data-erc20-pay" not in html and "hx-trigger" not in html


def test_failed_says_why_and_offers_to_pay_again(client, purchase, buyer):
    Purchase.objects.filter(pk=purchase.pk).update(
        status=PurchaseStatus.FAILED,
        tx_hash=TX_HASH,
        error_code="wrong_amount",
        error_detail="The transfer sent 1 tUSD; the order is 25.000007 tUSD.",
    )
    client.force_login(buyer)
    html = client.get(purchase_url(purchase)).content.decode()
    assert 'id="purchase-refused"' in html
    assert "The transfer sent 1 tUSD; the order is 25.000007 tUSD." in html
    assert "Try again" in html and "data-erc20-pay" in html and "wrong_amount" in html


def test_expired_offers_to_order_again(client, purchase, buyer):
    Purchase.objects.filter(pk=purchase.pk).update(expires_at=timezone.now() - timedelta(1))
    client.force_login(buyer)
    html = client.get(purchase_url(purchase)).content.decode()
    assert "This order expired" in html and "Order again" in html
    assert reverse("license-buy", kwargs={"tier_id": purchase.tier_id}) in html
    assert "data-erc20-pay" not in html and "Expired" in html
    # Ordering again makes a fresh order: the expired one is not reused.
    response = client.post(reverse("license-buy", kwargs={"tier_id": purchase.tier_id}))
    fresh = Purchase.objects.exclude(pk=purchase.pk).get()
    assert response.url == purchase_url(fresh)


def test_my_purchases_lists_mine_paginated(client, buyer, dataset, token):
    tier = paid_tier(dataset, token)
    for _ in range(27):  # expired orders: a new click makes a new order
        Purchase.objects.filter(buyer=buyer).update(status="expired")
        purchase_create(buyer=buyer, tier=tier)
    purchase_create(buyer=UserFactory.create(), tier=tier)
    client.force_login(buyer)
    first = client.get(reverse("purchases"))
    assert first.status_code == 200
    assert len(first.context["page"].object_list) == 25
    assert "Page <strong>1</strong> of 2" in first.content.decode()
    second = client.get(reverse("purchases"), {"page": 2})
    assert len(second.context["page"].object_list) == 2
    assert all(p.buyer_id == buyer.pk for p in second.context["page"].object_list)
    assert "25.000007 tUSD" in second.content.decode()


def test_no_purchases_yet(client, buyer):
    client.force_login(buyer)
    assert "No purchases yet" in client.get(reverse("purchases")).content.decode()


# ---------- receipts ----------


def test_the_receipt_downloads_as_signed_json_for_its_buyer_only(client, buyer, dataset, settings):
    grant = license_claim_free(buyer=buyer, tier=free_tier(dataset))
    url = reverse("license-receipt", kwargs={"grant_id": grant.pk})
    assert client.get(url).status_code == 302  # to sign in
    client.force_login(UserFactory.create())
    assert client.get(url).status_code == 404

    client.force_login(buyer)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        f'attachment; filename="reviews-license-{grant.pk}-receipt.json"'
    )
    body = json.loads(response.content)
    assert set(body) == {"typed_data", "signature", "signer"}
    assert body["typed_data"] == grant.receipt
    assert body["typed_data"]["message"]["buyer"] == buyer.address
    assert body["typed_data"]["message"]["dataset"] == "reviews"
    signer = license_receipt_verify(receipt=body["typed_data"], signature=body["signature"])
    assert signer == body["signer"] == grant.signer
