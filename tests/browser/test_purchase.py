"""Buying a license in a real browser: a signed-in buyer picks a tier on the dataset page, pays
the order with the injected wallet on anvil (an ERC-20 transfer to the treasury), watches the
payment confirm, gets the license, downloads its signed receipt and opens the library; and what
the pay button says when the wallet is on the wrong account or holds too little."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from payments.enums import PurchaseStatus
from payments.integrations.anvil import DevAccount
from payments.models import LicenseGrant, LicenseTier, Purchase
from payments.services.licenses import license_receipt_verify, license_tier_create
from payments.services.purchases import purchase_verify
from tests.browser.conftest import MOBILE, TestWallet, verified_by_the_test
from tests.browser.helpers import (
    no_horizontal_scroll,
    short,
    top_screenshot,
    verify_on_the_next_block,
)
from tests.chain import MINTED, ChainToken
from tests.factories import DatasetFactory, UserFactory, commercial_tier, ready_release

pytestmark = [pytest.mark.browser, pytest.mark.chain]


_verification_by_the_test = verified_by_the_test("verify_purchase")


PRICE = 25_000_007  # 25.000007 tUSD (6 decimals): the odd digit shows the amount is exact


@pytest.fixture
def buyer(wallet: TestWallet) -> Any:
    return UserFactory.create(address=wallet.address, display_name="Ada Lovelace")


@pytest.fixture
def tier(chain_token: ChainToken) -> LicenseTier:
    owner = UserFactory.create(display_name="Grace Hopper")
    dataset = DatasetFactory.create(owner=owner, title="Kitchen reviews", slug="kitchen-reviews")
    ready_release(dataset)  # a ready version: purchases need one
    license_tier_create(
        dataset=dataset, actor=owner, name="Research", spdx_id="CC-BY-NC-4.0", price=0
    )
    return commercial_tier(
        dataset, token=chain_token.token, price=PRICE, duration=timedelta(days=365)
    )


def test_a_buyer_pays_with_the_wallet_and_gets_the_license(
    page: Page,
    new_page: Callable[..., Page],
    wallet: TestWallet,
    chain_token: ChainToken,
    tier: LicenseTier,
    buyer: Any,
    screenshot: Callable[..., Path],
    sign_in: Callable[..., None],
    tmp_path: Path,
) -> None:
    dataset = tier.dataset
    treasury = chain_token.hot_wallet.address
    sign_in(page, buyer)

    # The dataset page's Licenses card: both tiers, what they allow, their prices.
    page.goto(f"/datasets/{dataset.slug}/")
    card = page.locator("#licenses")
    paid = card.locator(f"#tier-{tier.pk}")
    expect(paid).to_contain_text("Commercial")
    expect(paid).to_contain_text("CC-BY-4.0")
    expect(paid).to_contain_text("Commercial use allowed")
    expect(paid).to_contain_text("1 year")
    expect(card).to_contain_text("Research")
    expect(card.get_by_role("button", name="Get it free")).to_be_visible()
    card.scroll_into_view_if_needed()
    screenshot(page, "license-card", full_page=False)
    paid.get_by_role("button", name="Buy for 25.000007 tUSD").click()

    # The order: exactly what to pay, to whom, on which chain, and for how long.
    expect(page).to_have_url(re.compile(r"/purchases/\d+/$"))
    purchase = Purchase.objects.get()
    assert (purchase.buyer, int(purchase.amount)) == (buyer, PRICE)
    pay = page.locator("#pay-card")
    expect(pay).to_contain_text("Send 25.000007 tUSD to the treasury on chain 31337")
    expect(pay.locator("#pay-amount")).to_have_value("25.000007")
    expect(pay.locator("#pay-to")).to_have_value(treasury)
    expect(pay.locator("#pay-token")).to_have_value(chain_token.token.address)
    expect(pay).to_contain_text("25000007 base units (6 decimals)")
    expect(pay.locator("[data-pay-countdown]")).to_have_text(re.compile(r"^59:\d\d left$"))
    expect(page.locator("#purchase-badge")).to_have_text("Awaiting payment")
    send = pay.get_by_role("button", name="Pay 25.000007 tUSD with your wallet")
    expect(send).to_be_visible()
    top_screenshot(page, screenshot, "purchase-pay")

    phone = new_page(viewport=MOBILE, is_mobile=True, has_touch=True, device_scale_factor=2)
    sign_in(phone, buyer)
    phone.goto(f"/purchases/{purchase.pk}/")
    expect(phone.locator("[data-pay-wallet]")).to_be_visible()
    screenshot(phone, "purchase-pay-mobile")
    assert no_horizontal_scroll(phone)
    phone.goto(f"/datasets/{dataset.slug}/")
    phone.locator("#licenses").scroll_into_view_if_needed()
    screenshot(phone, "license-card-mobile", full_page=False)
    assert no_horizontal_scroll(phone)

    # The wallet sends transfer(treasury, 25.000007 tUSD); the page submits the hash.
    send.click()
    status = page.locator("#purchase-status")
    expect(status).to_contain_text("Confirming your payment")
    expect(page.locator("#purchase-badge")).to_have_text("Confirming")
    wallet.assert_sent_transfer(chain_token.token.address, treasury, PRICE)
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.CONFIRMING
    assert chain_token.client.token_balance(wallet.address) == MINTED - PRICE

    verified = verify_on_the_next_block(
        lambda: purchase_verify(purchase_id=purchase.pk),
        status,
        chain_token,
        lambda: screenshot(page, "purchase-confirming", full_page=False),
    )
    assert verified == PurchaseStatus.PAID

    # The next poll reloads the page: paid, the license is ready.
    ready = page.locator("#license-ready")
    expect(ready).to_contain_text("Your license is ready", timeout=15_000)
    expect(page.locator("#purchase-badge")).to_have_text("Paid")
    expect(page.locator("#pay-card")).to_have_count(0)
    grant = LicenseGrant.objects.get(purchase=purchase)
    top_screenshot(page, screenshot, "purchase-paid")
    assert no_horizontal_scroll(page)
    phone.goto(f"/purchases/{purchase.pk}/")
    expect(phone.locator("#license-ready")).to_be_visible()
    screenshot(phone, "purchase-paid-mobile")
    assert no_horizontal_scroll(phone)

    # The signed receipt downloads as JSON and checks out against the platform's key.
    with page.expect_download() as download_info:
        ready.get_by_role("link", name="Download the signed receipt (JSON)").click()
    download = download_info.value
    assert download.suggested_filename == f"{dataset.slug}-license-{grant.pk}-receipt.json"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    receipt = json.loads(saved.read_text())
    assert receipt["typed_data"]["message"]["buyer"] == buyer.address
    assert receipt["typed_data"]["message"]["price"] == str(PRICE)
    assert receipt["typed_data"]["message"]["txHash"] == purchase.tx_hash
    signer = license_receipt_verify(receipt=receipt["typed_data"], signature=receipt["signature"])
    assert signer == receipt["signer"] == grant.signer

    # The library holds the license; the dataset page says so; the purchases list shows it paid.
    ready.get_by_role("link", name="Open your library").click()
    expect(page).to_have_url(re.compile(r"/me/library/"))
    expect(page.locator(f"#license-{grant.pk}")).to_contain_text("Kitchen reviews")
    expect(page.locator(f"#license-{grant.pk}")).to_contain_text("Commercial")
    top_screenshot(page, screenshot, "purchase-library")
    page.goto(f"/datasets/{dataset.slug}/")
    expect(page.locator("#license-held")).to_contain_text("You hold the Commercial license")
    page.goto("/me/purchases/")
    row = page.locator(f"#purchase-{purchase.pk}")
    expect(row).to_contain_text("25.00 tUSD")  # rounded for reading; exact on hover
    expect(row.locator(".amount")).to_have_attribute("title", "25.000007 tUSD (exact)")
    expect(row).to_contain_text("Paid")
    top_screenshot(page, screenshot, "purchase-list")
    phone.goto("/me/purchases/")
    screenshot(phone, "purchase-list-mobile")
    assert no_horizontal_scroll(phone)


def test_the_pay_button_explains_what_stops_the_payment(
    page: Page,
    wallet: TestWallet,
    tier: LicenseTier,
    buyer: Any,
    dev_wallets: list[DevAccount],
    screenshot: Callable[..., Path],
    sign_in: Callable[..., None],
) -> None:
    LicenseTier.objects.filter(pk=tier.pk).update(price=MINTED + 1)
    sign_in(page, buyer)
    page.goto(f"/datasets/{tier.dataset.slug}/")
    page.get_by_role("button", name=re.compile(r"^Buy for")).click()
    send = page.get_by_role("button", name="with your wallet")
    status = page.locator("[data-pay-status]")

    # More than the wallet holds: read with balanceOf before anything is sent.
    send.click()
    expect(status).to_have_text(
        "Not enough tUSD: your wallet holds 1,000,000 tUSD and the order needs "
        "1,000,000.000001 tUSD. Top it up, then try again."
    )
    expect(status).to_have_attribute("role", "alert")
    assert "eth_sendTransaction" not in wallet.methods()
    status.scroll_into_view_if_needed()
    screenshot(page, "purchase-pay-insufficient", full_page=False)

    # The wrong account: the transfer must come from the signed-in address.
    other = dev_wallets[2]
    wallet.account = other
    send.click()
    expect(status).to_contain_text(
        f"Your wallet uses {short(other.address)}, but this order must be "
        f"paid from the address you signed in with {short(buyer.address)}."
    )

    # The wrong chain, and the switch declined.
    wallet.account = dev_wallets[1]
    wallet.chain_id = 1
    wallet.reject_methods.add("wallet_switchEthereumChain")
    send.click()
    expect(status).to_contain_text(
        "You kept your wallet on its current network. Switch it to chain 31337 to pay for "
        "this license."
    )
    assert Purchase.objects.get().status == PurchaseStatus.AWAITING_PAYMENT


@pytest.mark.usefixtures("chain_token")  # the token the tier is priced in
def test_the_owner_offers_a_tier_in_tokens(
    page: Page,
    new_page: Callable[..., Page],
    screenshot: Callable[..., Path],
    sign_in: Callable[..., None],
) -> None:
    owner = UserFactory.create(display_name="Grace Hopper")
    dataset = DatasetFactory.create(owner=owner, title="Kitchen reviews", slug="kitchen-reviews")
    sign_in(page, owner)
    page.goto(f"/datasets/{dataset.slug}/")
    page.locator("#licenses").get_by_role("link", name="Manage").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Licenses")
    expect(page.locator("#tiers-empty")).to_be_visible()
    page.get_by_label("Name").fill("Commercial")
    page.get_by_label("Terms", exact=True).select_option("CC-BY-4.0")
    page.get_by_label("Commercial use allowed").check()
    page.get_by_label("Price").fill("12.0000005")
    expect(page.get_by_label("Token")).to_contain_text("tUSD · 6 decimals")
    page.get_by_label("Duration").select_option(label="1 year")
    page.get_by_label("Every version, including future ones").check()
    page.get_by_role("button", name="Add tier").click()
    expect(page.locator("#id_price_error")).to_have_text(
        "tUSD has 6 decimals: use at most 6 digits after the point."
    )
    page.get_by_label("Price").fill("12.000005")
    page.get_by_role("button", name="Add tier").click()

    row = page.locator("#tiers tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("12.000005 tUSD")
    expect(row).to_contain_text("1 year")
    tier = LicenseTier.objects.get()
    assert (int(tier.price), tier.covers, tier.commercial) == (12_000_005, "all", True)
    top_screenshot(page, screenshot, "license-tiers")
    phone = new_page(viewport=MOBILE, is_mobile=True, has_touch=True, device_scale_factor=2)
    sign_in(phone, owner)
    phone.goto(f"/datasets/{dataset.slug}/licenses/")
    screenshot(phone, "license-tiers-mobile")
    assert no_horizontal_scroll(phone)
