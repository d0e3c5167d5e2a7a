"""Bounties in a real browser: the dataset owner signs in with the injected wallet, creates a
bounty, funds it with an ERC-20 transfer from that wallet on anvil, watches the funding being
verified, and reads the open bounty's pool chart; and what the funding button says when the
wallet is on the wrong account or chain, holds too little, or the user rejects the transfer."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from payments.enums import BountyStatus, FundingStatus, LedgerKind
from payments.integrations.anvil import DevAccount
from payments.models import Bounty, BountyFunding, RewardEpoch
from payments.services.funding import bounty_funding_verify
from payments.services.ledger import Move, ledger_post, user_code
from tests.browser.conftest import MOBILE, TestWallet, verified_by_the_test
from tests.browser.helpers import (
    no_horizontal_scroll,
    short,
    top_screenshot,
    verify_on_the_next_block,
)
from tests.chain import MINTED, ChainToken
from tests.factories import BountyFactory, DatasetFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.chain]


_verification_by_the_test = verified_by_the_test("verify_bounty_funding")


# Chart.js animates its first draw; screenshots wait until every chart has finished.
CHARTS_SETTLED = """() => {
    const canvases = [...document.querySelectorAll('[data-pool-doughnut], [data-pool-line]')];
    return canvases.length > 0 && canvases.every((canvas) => {
        const chart = Chart.getChart(canvas);
        return chart && !Chart.animator.running(chart);
    });
}"""


@pytest.fixture
def owner(wallet: TestWallet) -> Any:
    return UserFactory.create(address=wallet.address, display_name="Grace Hopper")


@pytest.fixture
def dataset(owner: Any) -> Any:
    return DatasetFactory.create(owner=owner, title="Kitchen reviews", slug="kitchen-reviews")


def award_epochs(bounty: Bounty, amounts: list[int]) -> None:
    """Computed epochs paying ``amounts`` out of the pool, posted to the ledger as the reward
    epoch task posts them (a RewardEpoch row and a reward move from the bounty's account)."""
    contributor = UserFactory.create()
    pool = int(bounty.pool_amount)
    for number, amount in enumerate(amounts):
        start = bounty.starts_at + number * bounty.epoch_length
        RewardEpoch.objects.create(
            bounty=bounty,
            number=number,
            period_start=start,
            period_end=start + bounty.epoch_length,
            pool_before=pool,
            demand=amount,
            awarded=amount,
        )
        ledger_post(
            kind=LedgerKind.REWARD,
            token=bounty.token,
            moves=[Move(bounty.ledger_code, user_code(contributor), amount)],
            idempotency_key=f"test-epoch:{bounty.pk}:{number}",
        )
        pool -= amount


def fund_status(page: Page) -> Locator:
    return page.locator("[data-fund-status]")


def test_the_owner_creates_funds_and_opens_a_bounty(
    page: Page,
    new_page: Callable[..., Page],
    wallet: TestWallet,
    chain_token: ChainToken,
    dataset: Any,
    screenshot: Callable[..., Path],
    sign_in: Callable[..., None],
    settings: Any,
) -> None:
    # Sign in with the injected wallet (SIWE) on the dataset page.
    page.goto(f"/datasets/{dataset.slug}/")
    page.locator("#wallet-slot").get_by_role("button", name="Connect wallet").click()
    expect(page.locator("#wallet-slot .wallet-chip")).to_have_attribute(
        "data-address", wallet.address
    )
    bounties = page.locator("#bounties")
    expect(bounties).to_contain_text("No bounty pays for work on this dataset yet.")
    bounties.get_by_role("link", name="Add a bounty").click()

    # The form: amounts in tokens; one digit too many for a 6-decimals token is refused.
    expect(page.get_by_role("heading", level=1)).to_have_text("Put a bounty on this dataset")
    page.get_by_label("Title").fill("Kitchen gear reviews, May")
    page.get_by_label("Description").fill("Reviews of pans, knives and blenders, with stars.")
    expect(page.get_by_label("Token")).to_contain_text("tUSD · 6 decimals")
    page.get_by_label("Rows and labels").check()
    page.get_by_label("Rate per accepted row").fill("0.0000001")
    page.get_by_label("Rate per agreeing label").fill("0.01")
    page.get_by_label("Pool", exact=True).fill("1500.25")
    page.get_by_label("Epoch length").select_option(label="1 hour")
    top_screenshot(page, screenshot, "bounty-form")
    page.get_by_role("button", name="Create bounty").click()
    expect(page.locator("#form-error-summary")).to_contain_text("Please fix the 1 field")
    expect(page.locator("#id_rate_per_row_error")).to_have_text(
        "tUSD has 6 decimals: use at most 6 digits after the point."
    )
    screenshot(page, "bounty-form-error", full_page=False)
    page.get_by_label("Rate per accepted row").fill("0.05")
    page.get_by_role("button", name="Create bounty").click()

    # The bounty page: awaiting funding, with exact instructions for the sponsor.
    expect(page).to_have_url(re.compile(r"/bounties/\d+/$"))
    bounty = Bounty.objects.get()
    assert int(bounty.pool_amount) == 1_500_250_000
    assert (int(bounty.rate_per_row), int(bounty.rate_per_label)) == (50_000, 10_000)
    expect(page.locator("#bounty-status")).to_have_text("Awaiting funding")
    card = page.locator("#fund-card")
    expect(card).to_contain_text("Send 1,500.25 tUSD to the treasury on chain 31337")
    expect(card.locator("#fund-treasury")).to_have_value(chain_token.hot_wallet.address)
    expect(card.locator("#fund-token")).to_have_value(chain_token.token.address)
    expect(card).to_contain_text("1500250000 base units (6 decimals)")
    send = card.get_by_role("button", name="Send 1,500.25 tUSD with your wallet")
    expect(send).to_be_visible()
    screenshot(page, "bounty-fund")
    phone = new_page(viewport=MOBILE, is_mobile=True, has_touch=True, device_scale_factor=2)
    sign_in(phone, dataset.owner)
    phone.goto(f"/bounties/{bounty.pk}/")
    expect(phone.locator("[data-fund-wallet]")).to_be_visible()
    screenshot(phone, "bounty-fund-mobile")
    assert no_horizontal_scroll(phone)
    phone.goto(f"/datasets/{dataset.slug}/bounties/new/")
    screenshot(phone, "bounty-form-mobile")
    assert no_horizontal_scroll(phone)

    # The wallet sends transfer(treasury, 1500.25 tUSD); the page submits the hash.
    send.click()
    verifying = page.locator("#bounty-funding")
    expect(verifying).to_contain_text("Verifying the funding transaction")
    expect(page.locator("#bounty-status")).to_have_text("Verifying funding")
    wallet.assert_sent_transfer(
        chain_token.token.address, chain_token.hot_wallet.address, 1_500_250_000
    )
    funding = BountyFunding.objects.get()
    assert funding.status == FundingStatus.VERIFYING
    assert chain_token.client.token_balance(wallet.address) == MINTED - 1_500_250_000
    expect(verifying).to_contain_text(f"0 of {settings.CHAIN_CONFIRMATIONS} confirmations")

    verified = verify_on_the_next_block(
        lambda: bounty_funding_verify(funding_id=funding.pk),
        verifying,
        chain_token,
        lambda: screenshot(page, "bounty-verifying", full_page=False),
    )
    assert verified == FundingStatus.VERIFIED

    # The next poll reloads the page: the bounty is open and its pool charted.
    expect(page.locator("#bounty-status")).to_have_text("Open", timeout=15_000)
    assert Bounty.objects.get().status == BountyStatus.OPEN
    expect(page.locator("#fund-card")).to_have_count(0)
    expect(page.locator("#pool-funded")).to_have_text("1,500.25 tUSD")
    expect(page.locator("#pool-awarded")).to_have_text("0 tUSD")
    expect(page.locator("#pool-left")).to_have_text("1,500.25 tUSD")
    expect(page.locator("[data-pool-doughnut]")).to_be_visible()
    page.wait_for_function(CHARTS_SETTLED)
    page.locator("#pool-table summary").click()
    expect(page.locator("#pool-table")).to_contain_text("1,500.25 tUSD")
    screenshot(page, "bounty-open")
    assert no_horizontal_scroll(page)

    # Two epochs computed (their rewards posted as the reward task would): a line of what is left.
    award_epochs(Bounty.objects.get(), [250_000_000, 125_500_000])
    page.reload()
    expect(page.locator("#pool-awarded")).to_have_text("375.5 tUSD")
    expect(page.locator("#pool-left")).to_have_text("1,124.75 tUSD")
    expect(page.locator("[data-pool-line]")).to_be_visible()
    page.wait_for_function(CHARTS_SETTLED)
    line_points = page.evaluate(
        "Chart.getChart(document.querySelector('[data-pool-line]')).data.datasets[0].data"
    )
    assert line_points == [1500.25, 1250.25, 1124.75]
    top_screenshot(page, screenshot, "bounty-open-epochs")

    # The dataset page lists it.
    page.goto(f"/datasets/{dataset.slug}/")
    item = page.locator("#bounties .bounty-list__item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Kitchen gear reviews, May")
    expect(item).to_contain_text("0.05 tUSD a row · 0.01 tUSD a label")
    expect(item).to_contain_text("1,124.75 tUSD left")
    expect(item.locator("[data-bounty-status]")).to_have_text("Open")
    screenshot(page, "bounty-dataset-list", full_page=False)

    # A phone: the open bounty and the dataset page fit 390 px.
    phone.goto(f"/bounties/{bounty.pk}/")
    expect(phone.locator("#bounty-status")).to_have_text("Open")
    phone.wait_for_function(CHARTS_SETTLED)
    screenshot(phone, "bounty-open-mobile")
    assert no_horizontal_scroll(phone)
    phone.goto(f"/datasets/{dataset.slug}/")
    expect(phone.locator("#bounties")).to_contain_text("1,124.75 tUSD left")
    phone.locator("#bounties").scroll_into_view_if_needed()
    screenshot(phone, "bounty-dataset-list-mobile", full_page=False)
    assert no_horizontal_scroll(phone)


def test_the_fund_button_explains_what_stops_the_transfer(
    page: Page,
    new_page: Callable[..., Page],
    wallet: TestWallet,
    chain_token: ChainToken,
    dataset: Any,
    dev_wallets: list[DevAccount],
    screenshot: Callable[..., Path],
    sign_in: Callable[..., None],
) -> None:
    bounty = BountyFactory.create(
        dataset=dataset, token=chain_token.token, pool_amount=MINTED + 1, title="Big pool"
    )
    sign_in(page, dataset.owner)
    page.goto(f"/bounties/{bounty.pk}/")
    send = page.get_by_role("button", name="with your wallet")
    status = fund_status(page)

    # More than the wallet holds: read with balanceOf before anything is sent.
    send.click()
    expect(status).to_have_text(
        "Not enough tUSD: your wallet holds 1,000,000 tUSD and the pool needs "
        "1,000,000.000001 tUSD. Top it up, then try again."
    )
    expect(send).to_be_enabled()
    assert "eth_sendTransaction" not in wallet.methods()
    screenshot(page, "bounty-fund-insufficient", full_page=False)

    # The wrong account.
    other = dev_wallets[2]
    wallet.account = other
    send.click()
    expect(status).to_contain_text(
        f"Your wallet uses {short(other.address)}, but this bounty must be "
        "funded from its sponsor\N{RIGHT SINGLE QUOTATION MARK}s address"
    )

    # The wrong chain, and the switch declined.
    wallet.account = dev_wallets[1]
    wallet.chain_id = 1
    wallet.reject_methods.add("wallet_switchEthereumChain")
    send.click()
    expect(status).to_contain_text("You kept your wallet on its current network.")

    # The switch accepted, then the transfer rejected in the wallet.
    wallet.reject_methods.clear()
    Bounty.objects.filter(pk=bounty.pk).update(pool_amount=MINTED)
    page.reload()
    wallet.reject_next = "eth_sendTransaction"
    page.get_by_role("button", name="with your wallet").click()
    expect(status).to_have_text("You rejected the transaction in your wallet. Nothing was sent.")
    assert wallet.chain_id == 31337  # switched back on the way
    assert wallet.methods()[-1] == "eth_sendTransaction"
    assert not BountyFunding.objects.exists()
    expect(status).to_have_attribute("role", "alert")
    screenshot(page, "bounty-fund-rejected", full_page=False)

    # Without a wallet the button says so; the hash form is still there.
    bare = new_page(inject_wallet=False)
    sign_in(bare, dataset.owner)
    bare.goto(f"/bounties/{bounty.pk}/")
    bare.get_by_role("button", name="with your wallet").click()
    expect(fund_status(bare)).to_contain_text("No wallet found in this browser.")
    expect(bare.get_by_label("Transaction hash")).to_be_visible()
