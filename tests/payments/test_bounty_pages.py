"""Bounty pages: creating one (human amounts made exact base units, field errors, who may),
submitting the funding hash, the polled funding status, the pool numbers and the dataset
page's list of bounties."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django import forms
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from payments.enums import BountyStatus, FundingStatus, LedgerKind
from payments.forms import UINT256_MAX, parse_token_amount
from payments.models import Bounty, BountyFunding, RewardEpoch, Token
from payments.services.bounties import bounty_funding_credit
from payments.services.funding import treasury_address
from payments.services.ledger import Move, ledger_post, user_code
from tests.factories import BountyFactory, DatasetFactory, TokenFactory, UserFactory
from tests.payments.helpers import BAD_HASHES, refused_beside_the_field, url_of

pytestmark = pytest.mark.django_db

TX_HASH = "0x" + "ab" * 32
BIG = 123456789012345678901234567890 * 10**18 + 123456789012345678  # past 2**53 and 28 digits


@pytest.fixture
def token() -> Token:
    return TokenFactory.create(symbol="tUSD", decimals=6)


@pytest.fixture
def owner() -> Any:
    return UserFactory.create()


@pytest.fixture
def dataset(owner: Any) -> Any:
    return DatasetFactory.create(owner=owner, slug="reviews")


def form_data(token: Token, **overrides: str) -> dict[str, str]:
    start = timezone.now().replace(second=0, microsecond=0)
    return {
        "title": "More product reviews",
        "description": "Reviews of kitchen gear.",
        "token": str(token.pk),
        "pays_for": "rows",
        "rate_per_row": "0.05",
        "rate_per_label": "",
        "pool_amount": "5000.000007",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "epoch_length": "86400",
        **overrides,
    }


create_url = partial(url_of, "bounty-create")
detail_url = partial(url_of, "bounty-detail")
fund_url = partial(url_of, "bounty-fund")


def funded(bounty: Bounty) -> Bounty:
    return bounty_funding_credit(
        bounty=bounty, amount=int(bounty.pool_amount), reference=f"test:{bounty.pk}"
    )


def refused_funding(bounty: Bounty) -> BountyFunding:
    """A funding the check refused: the transfer came from someone other than the sponsor."""
    return BountyFunding.objects.create(
        bounty=bounty,
        chain_id=31337,
        tx_hash=TX_HASH,
        status=FundingStatus.REFUSED,
        error_code="wrong_sender",
        error_detail="The transfer came from 0xdead…, not the sponsor.",
    )


# ---------- amounts ----------


@pytest.mark.parametrize(
    ("text", "decimals", "base_units"),
    [
        ("12.5", 6, 12_500_000),
        ("5000.000007", 6, 5_000_000_007),
        ("0.000001", 6, 1),
        (".5", 2, 50),
        ("3.", 0, 3),
        ("1.500000000", 6, 1_500_000),  # trailing zeros add no precision
        ("1_000 000", 18, 10**24),
        ("123456789012345678901234567890.123456789012345678", 18, BIG),
    ],
)  # fmt: skip
def test_human_amounts_become_exact_base_units(text: str, decimals: int, base_units: int):
    assert parse_token_amount(text, decimals) == base_units


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("0.0000001", "too_many_decimals"),
        ("1e6", "bad_amount"),
        ("-1", "bad_amount"),
        ("1,5", "bad_amount"),
        ("", "bad_amount"),
        ("NaN", "bad_amount"),
        (str(UINT256_MAX + 1), "too_large"),
    ],
)
def test_amounts_a_token_cannot_hold_are_refused(text: str, code: str):
    with pytest.raises(forms.ValidationError) as refused:
        parse_token_amount(text, 6, "tUSD")
    assert refused.value.code == code


# ---------- creating ----------


def test_the_owner_creates_a_bounty_in_tokens_and_lands_on_its_page(client, owner, dataset, token):
    client.force_login(owner)
    page = client.get(create_url(dataset))
    assert page.status_code == 200
    assert "tUSD · 6 decimals" in page.content.decode()

    response = client.post(create_url(dataset), form_data(token, rate_per_label="9"))

    bounty = Bounty.objects.get()
    assert response.status_code == 302 and response.url == detail_url(bounty)
    assert (bounty.sponsor, bounty.dataset, bounty.token) == (owner, dataset, token)
    assert bounty.status == BountyStatus.AWAITING_FUNDING
    assert int(bounty.pool_amount) == 5_000_000_007  # exact: 5000.000007 tUSD
    assert int(bounty.rate_per_row) == 50_000
    assert int(bounty.rate_per_label) == 0  # a rows-only bounty ignores the label rate
    assert bounty.epoch_length == timedelta(days=1)
    assert bounty.ends_at - bounty.starts_at == timedelta(days=3)


def test_more_decimals_than_the_token_has_is_refused_beside_the_field(
    client, owner, dataset, token
):
    client.force_login(owner)
    response = client.post(create_url(dataset), form_data(token, rate_per_row="0.0000001"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["rate_per_row"] == [
        "tUSD has 6 decimals: use at most 6 digits after the point."
    ]
    assert not Bounty.objects.exists()


def test_missing_rates_and_zero_pool_are_field_errors(client, owner, dataset, token):
    client.force_login(owner)
    data = form_data(token, pays_for="both", rate_per_row="1", rate_per_label="", pool_amount="0")
    errors = client.post(create_url(dataset), data).context["form"].errors
    assert errors["rate_per_label"] == ["Enter an amount."]
    assert errors["pool_amount"] == ["Enter more than zero."]
    assert "rate_per_row" not in errors


def test_a_service_refusal_lands_on_its_field(client, owner, dataset, token):
    client.force_login(owner)
    start = timezone.now().replace(second=0, microsecond=0)
    data = form_data(
        token,
        starts_at=start.strftime("%Y-%m-%dT%H:%M"),
        ends_at=(start - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    )
    response = client.post(create_url(dataset), data)
    assert response.context["form"].errors["ends_at"] == ["The end must come after the start."]
    assert "Please fix the 1 field marked below." in response.content.decode()
    assert not Bounty.objects.exists()


def test_only_active_tokens_of_our_chain_are_offered(client, owner, dataset, token, settings):
    inactive = TokenFactory.create(symbol="OLD", is_active=False)
    elsewhere = TokenFactory.create(symbol="L2X", chain_id=settings.CHAIN_ID + 1)
    client.force_login(owner)
    page = client.get(create_url(dataset)).content.decode()
    assert "tUSD" in page and "OLD" not in page and "L2X" not in page
    response = client.post(create_url(dataset), form_data(inactive))
    assert "token" in response.context["form"].errors
    response = client.post(create_url(dataset), form_data(elsewhere))
    assert "token" in response.context["form"].errors
    assert not Bounty.objects.exists()


def test_only_the_owner_may_put_a_bounty_on_a_dataset(client, dataset, token):
    url = create_url(dataset)
    assert client.get(url).status_code == 302  # to sign-in
    client.force_login(UserFactory.create())
    assert client.get(url).status_code == 403
    assert client.post(url, form_data(token)).status_code == 403
    assert not Bounty.objects.exists()
    # Someone else's draft is not even there.
    draft = DatasetFactory.create(status="draft")
    assert client.get(create_url(draft)).status_code == 404


# ---------- reading and funding ----------


@pytest.fixture
def bounty(dataset: Any, token: Token) -> Bounty:
    return BountyFactory.create(
        dataset=dataset, token=token, pool_amount=5_000_000_007, pays_for="rows",
        rate_per_row=50_000, rate_per_label=0, title="Kitchen reviews",
    )  # fmt: skip


def test_the_sponsor_gets_exact_funding_instructions(client, owner, bounty, settings):
    client.force_login(owner)
    page = client.get(detail_url(bounty)).content.decode()
    assert "Fund this bounty" in page
    assert "5,000.000007 tUSD" in page and "5000000007 base units" in page
    assert 'data-amount="5000000007"' in page
    treasury = treasury_address()
    assert f'value="{treasury}"' in page and f'data-pay-to="{treasury}"' in page
    assert f'data-token="{bounty.token.address}"' in page
    assert f"on chain {settings.CHAIN_ID}" in page
    assert f'action="{fund_url(bounty)}"' in page  # the manual form, which works without JS
    assert "js/erc20_pay.js" in page
    assert 'id="pool-empty"' in page and "bounty-pool" not in page  # no chart before funding


def test_others_read_the_bounty_but_get_no_funding_card(client, bounty):
    page = client.get(detail_url(bounty)).content.decode()
    assert "Kitchen reviews" in page and "Awaiting funding" in page
    assert "Fund this bounty" not in page and "erc20_pay.js" not in page
    assert "waiting for its sponsor" in page


def test_a_bounty_on_someone_elses_draft_is_not_found(client):
    hidden = BountyFactory.create(dataset=DatasetFactory.create(status="draft"))
    assert client.get(detail_url(hidden)).status_code == 404
    client.force_login(hidden.sponsor)
    assert client.get(detail_url(hidden)).status_code == 200
    assert client.get(reverse("bounty-detail", kwargs={"bounty_id": 999_999})).status_code == 404


def test_submitting_a_hash_queues_verification_and_shows_the_polling_status(
    client, owner, bounty, django_capture_on_commit_callbacks, settings
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(fund_url(bounty), {"tx_hash": f"  0x{TX_HASH[2:].upper()} "})
    assert response.status_code == 302 and response.url == detail_url(bounty)
    assert len(callbacks) == 1  # the verification task, after the commit
    funding = BountyFunding.objects.get()
    assert (funding.tx_hash, funding.status) == (TX_HASH, FundingStatus.VERIFYING)

    page = client.get(detail_url(bounty)).content.decode()
    assert "Verifying the funding transaction" in page
    assert f"0 of {settings.CHAIN_CONFIRMATIONS} confirmations" in page
    assert 'hx-trigger="every 2s"' in page
    assert "Fund this bounty" not in page  # one funding at a time


@pytest.mark.parametrize(("tx_hash", "message"), BAD_HASHES)
def test_a_bad_hash_is_refused_beside_the_field(client, owner, bounty, tx_hash, message):
    page = refused_beside_the_field(client, owner, fund_url(bounty), tx_hash, "fund_form", message)
    assert "Fund this bounty" in page
    assert not BountyFunding.objects.exists()


def test_a_hash_already_used_or_a_second_claim_is_refused(
    client, owner, bounty, token, django_capture_on_commit_callbacks
):
    other = BountyFactory.create(dataset=bounty.dataset, token=token)
    client.force_login(owner)
    with django_capture_on_commit_callbacks():
        client.post(fund_url(other), {"tx_hash": TX_HASH})

    response = client.post(fund_url(bounty), {"tx_hash": TX_HASH})
    assert response.status_code == 400
    assert response.context["fund_form"].errors["tx_hash"] == [
        "This transaction was already submitted."
    ]

    # While the other bounty's funding is verified, another hash for it is refused.
    response = client.post(fund_url(other), {"tx_hash": "0x" + "cd" * 32}, follow=True)
    assert "A funding transaction is already being verified." in response.content.decode()
    assert BountyFunding.objects.count() == 1


def test_only_the_sponsor_submits_a_hash(client, bounty):
    assert client.post(fund_url(bounty), {"tx_hash": TX_HASH}).status_code == 302  # sign-in
    client.force_login(UserFactory.create())
    assert client.post(fund_url(bounty), {"tx_hash": TX_HASH}).status_code == 403
    assert client.get(fund_url(bounty)).status_code == 405
    assert not BountyFunding.objects.exists()


def test_a_funded_bounty_cannot_be_funded_again(client, owner, bounty):
    funded(bounty)
    client.force_login(owner)
    response = client.post(fund_url(bounty), {"tx_hash": TX_HASH}, follow=True)
    assert "This bounty is already funded." in response.content.decode()
    assert not BountyFunding.objects.exists()


def test_the_status_partial_polls_until_the_funding_settles(
    client, owner, bounty, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks():
        client.post(fund_url(bounty), {"tx_hash": TX_HASH})
    funding = BountyFunding.objects.get()
    funding.confirmations = 1
    funding.save()

    partial = client.get(detail_url(bounty), headers={"HX-Request": "true"})
    text = partial.content.decode()
    assert "<html" not in text and text.lstrip().startswith('<div id="bounty-funding"')
    assert 'hx-trigger="every 2s"' in text and "1 / 2" in text
    assert "HX-Refresh" not in partial.headers

    # Verified (what bounty_funding_verify does once the transfer checks out).
    funding.status = FundingStatus.VERIFIED
    funding.save()
    funded(bounty)
    partial = client.get(detail_url(bounty), headers={"HX-Request": "true"})
    assert partial.headers["HX-Refresh"] == "true"  # the whole page changes: badge, pool, chart
    assert "hx-trigger" not in partial.content.decode()


def test_a_refused_funding_says_why_and_offers_another_try(client, owner, bounty, settings):
    settings.CHAIN_EXPLORER_TX_URL = "https://explorer.example/tx/{hash}"
    refused_funding(bounty)
    client.force_login(owner)
    page = client.get(detail_url(bounty)).content.decode()
    assert "The funding transaction was refused." in page
    assert "The transfer came from 0xdead…, not the sponsor." in page and "wrong_sender" in page
    assert f'href="https://explorer.example/tx/{TX_HASH}"' in page
    assert "Fund this bounty" in page and f'action="{fund_url(bounty)}"' in page
    assert "hx-trigger" not in page


def test_a_refused_funding_s_reason_is_the_sponsor_s_and_staff_s_only(
    client, owner, bounty, admin_user
):
    refused_funding(bounty)
    client.force_login(UserFactory.create())  # a stranger: the same rule as the bounty API
    page = client.get(detail_url(bounty)).content.decode()
    assert "The funding transaction was refused." not in page and "wrong_sender" not in page
    client.force_login(admin_user)
    assert "wrong_sender" in client.get(detail_url(bounty)).content.decode()


# ---------- the pool ----------


def test_the_pool_shows_spent_and_left_with_chart_data_per_epoch(client, bounty, token):
    bounty.ends_at = bounty.starts_at + timedelta(days=3)
    bounty.epoch_length = timedelta(days=1)
    bounty.save()
    funded(bounty)
    contributor = UserFactory.create()
    for number, awarded in enumerate([1_250_000_000, 500_000_007]):
        RewardEpoch.objects.create(
            bounty=bounty,
            number=number,
            period_start=bounty.starts_at + timedelta(days=number),
            period_end=bounty.starts_at + timedelta(days=number + 1),
            pool_before=5_000_000_007,
            demand=awarded,
            awarded=awarded,
        )
        ledger_post(
            kind=LedgerKind.REWARD,
            token=token,
            moves=[Move(bounty.ledger_code, user_code(contributor), awarded)],
            idempotency_key=f"test-reward:{number}",
        )
    bounty.status = BountyStatus.OPEN
    bounty.save()

    page = client.get(detail_url(bounty)).content.decode()
    # The stats are rounded for reading, exact on hover; the table below is exact.
    exact = '<span class="amount" title="{} tUSD (exact)">{} tUSD</span><'
    assert f'id="pool-funded">{exact.format("5,000.000007", "5,000.00")}' in page
    assert f'id="pool-awarded">{exact.format("1,750.000007", "1,750.00")}' in page
    assert re.search(r'id="pool-left">3,250 tUSD<', page)
    assert "35% awarded" in page and "2 of 3 epochs computed" in page
    assert "3 \N{MULTIPLICATION SIGN} 1 day" in page
    ends = [(bounty.starts_at + timedelta(days=n)).isoformat() for n in (1, 2)]
    script = re.search(r'<script id="bounty-pool" type="application/json">(.*?)</script>', page)
    assert script is not None
    chart = json.loads(script[1])
    assert chart == {
        "symbol": "tUSD",
        "funded": "5000.000007",
        "awarded": "1750.000007",
        "left": "3250",
        "epochs": [
            {"number": 1, "end": ends[0], "awarded": "1250", "left": "3750.000007"},
            {"number": 2, "end": ends[1], "awarded": "500.000007", "left": "3250"},
        ],
    }  # fmt: skip
    assert "data-pool-doughnut" in page and "data-pool-line" in page
    assert "js/pool_chart.js" in page and "vendor/chart.umd.min.js" in page
    # The text fallback holds the same numbers.
    assert "Epoch 2" in page and "3,750.000007 tUSD" in page


# ---------- the dataset page ----------


def _queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    cache.clear()  # the page's figures are cached: compare cold pages with cold pages
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_dataset_page_lists_its_bounties_without_a_query_each(client, dataset, token, owner):
    first = funded(BountyFactory.create(dataset=dataset, token=token, title="First bounty"))
    url = reverse("datasets:detail", kwargs={"slug": dataset.slug})
    few = _queries(client, url)
    for n in range(4):
        more = BountyFactory.create(dataset=dataset, token=TokenFactory.create(), title=f"More {n}")
        if n % 2:
            funded(more)
    BountyFactory.create(dataset=dataset, token=token, status=BountyStatus.CANCELLED, title="Gone")
    assert _queries(client, url) == few

    page = client.get(url).content.decode()
    assert detail_url(first) in page and "First bounty" in page and "More 3" in page
    assert "Gone" not in page
    assert "1,000 tUSD</strong> left" in page  # 10**9 base units of tUSD, all of it left
    assert "0.001 tUSD a row" in page and "0.0001 tUSD a label" in page
    assert "Awaiting funding" in page and "Open" in page
    assert "Add a bounty" not in page  # only for the owner
    client.force_login(owner)
    assert create_url(dataset) in client.get(url).content.decode()


def test_a_dataset_without_bounties_shows_no_block_to_visitors(client, dataset):
    page = client.get(reverse("datasets:detail", kwargs={"slug": dataset.slug})).content.decode()
    assert 'id="bounties"' not in page
