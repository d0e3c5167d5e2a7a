"""The demo's flows with no browser extension (DEBUG's dev wallet, on anvil, verified by a real
Celery worker): a buyer goes from the catalogue to a dataset, to its licenses page, signs in with
the dev wallet, buys the commercial tier with it, sees the payment confirmed, opens the library
and downloads a file; a sponsor funds a bounty with it."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from payments.enums import BountyStatus, FundingStatus, PurchaseStatus
from payments.integrations.anvil import AnvilNode, DevAccount
from payments.models import Bounty, BountyFunding, LicenseGrant, Purchase
from payments.services.licenses import license_tier_create
from tests.browser.conftest import MOBILE
from tests.browser.helpers import no_horizontal_scroll, short, top_screenshot
from tests.chain import MINTED, ChainToken
from tests.conftest import CeleryProcess, _start_celery
from tests.factories import (
    BountyFactory,
    DatasetFactory,
    UserFactory,
    commercial_tier,
    make_release,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.chain,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

PRICE = 9_950_975_006  # 9,950.975006 tUSD: shown rounded where glanced at, exact where paid


@pytest.fixture
def chain_worker(
    anvil: AnvilNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transactional_db: Any
) -> Iterator[CeleryProcess]:
    """A real Celery worker on this test's anvil and database, on a queue of its own: the
    payment checks the pages enqueue are sent there (a session worker elsewhere would check
    them against another chain)."""
    from payments import tasks

    queue = f"test-journey-{uuid.uuid4().hex[:12]}"
    worker = _start_celery(
        ["worker", "--pool", "solo", "--loglevel", "INFO", "-Q", queue, "-n", f"{queue}@%h"],
        queue,
        tmp_path / "worker.log",
        CHAIN_RPC_URL=anvil.rpc_url,
        CHAIN_ID=str(anvil.chain_id),
    )
    worker.wait_until_ready()
    for task in (tasks.verify_purchase, tasks.verify_bounty_funding):
        monkeypatch.setattr(
            task, "delay", lambda pk, task=task: task.apply_async((pk,), queue=queue)
        )
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def debug(settings: Any) -> Any:
    """The run command's DEBUG: the dev wallet is offered, and pays."""
    settings.DEBUG = True
    return settings


@pytest.fixture
def sponsor_wallet(dev_wallets: list[DevAccount]) -> DevAccount:
    """Dev wallet 2 (minted test dollars): the sponsor's."""
    return dev_wallets[2]


def sign_in_with_the_dev_wallet(page: Page, account: DevAccount) -> None:
    """The header's Connect button → "No wallet found" → "Use a dev wallet" → the account."""
    page.locator("#wallet-slot [data-wallet-connect]").click()
    dialog = page.locator("#wallet-dialog")
    expect(dialog.get_by_role("heading", name="No wallet found")).to_be_visible()
    dialog.get_by_role("button", name="Use a dev wallet").click()
    listed = dialog.get_by_role("listitem").filter(has_text=short(account.address))
    listed.get_by_role("button").click()
    expect(page.locator(f"#wallet-slot [data-address='{account.address}']")).to_be_attached()


def wait_until(what: Callable[[], bool], worker: CeleryProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, worker.log()[-4000:]
        time.sleep(0.2)


@pytest.mark.usefixtures("debug")
def test_a_buyer_pays_with_the_dev_wallet_and_downloads(
    new_page: Callable[..., Page],
    chain_token: ChainToken,
    chain_worker: CeleryProcess,
    dev_wallets: list[DevAccount],
    screenshot: Callable[..., Path],
) -> None:
    buyer = dev_wallets[1]
    owner = UserFactory.create(display_name="Grace Hopper")
    dataset = DatasetFactory.create(owner=owner, title="Kitchen reviews", slug="kitchen-reviews")
    release = make_release(dataset, shards=1, rows=40, quality={"labelled_share": 0.8125})
    license_tier_create(
        dataset=dataset, actor=owner, name="Research", spdx_id="CC-BY-NC-4.0", price=0
    )
    tier = commercial_tier(
        dataset, token=chain_token.token, price=PRICE, duration=timedelta(days=365)
    )
    page = new_page(inject_wallet=False)  # no extension: no window.ethereum, no EIP-6963
    assert page.evaluate("window.ethereum === undefined")

    # The catalogue, the dataset, its licenses.
    page.goto("/")
    page.get_by_role("link", name="Kitchen reviews").first.click()
    expect(page).to_have_url(re.compile(r"/datasets/kitchen-reviews/$"))
    page.locator("#licenses").get_by_role("link", name="Compare licenses").click()
    expect(page).to_have_url(re.compile(r"/datasets/kitchen-reviews/licenses/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Licenses")
    expect(page.locator(f"#tier-{tier.pk}")).to_contain_text("Sign in to buy")
    top_screenshot(page, screenshot, "journey-licenses-signed-out")
    phone = new_page(inject_wallet=False, viewport=MOBILE, is_mobile=True, has_touch=True)
    phone.goto("/datasets/kitchen-reviews/licenses/")
    expect(phone.locator(f"#tier-{tier.pk}")).to_be_visible()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "journey-licenses-mobile")

    # Signed in with the dev wallet, the page shows Buy buttons with the labelled share.
    sign_in_with_the_dev_wallet(page, buyer)
    expect(page).to_have_url(re.compile(r"/datasets/kitchen-reviews/licenses/$"))
    buy = page.locator(f"#tier-{tier.pk}").get_by_role("button", name=re.compile("^Buy for"))
    expect(buy).to_contain_text("Buy for 9,950.975006 tUSD")  # a price is exact
    expect(buy.locator("[data-labelled-share]")).to_have_text("v1 · 81.2 % labelled")
    top_screenshot(page, screenshot, "journey-licenses")
    buy.click()

    # The order: the balance beside the pay button, then the dev wallet pays.
    expect(page).to_have_url(re.compile(r"/purchases/\d+/$"))
    purchase = Purchase.objects.get()
    pay = page.locator("#pay-card")
    expect(pay.locator("[data-pay-balance]")).to_have_text("Your balance: 1,000,000 tUSD")
    top_screenshot(page, screenshot, "journey-pay")
    pay.get_by_role("button", name="Pay 9,950.975006 tUSD with your wallet").click()

    status = page.locator("#purchase-status")
    expect(status).to_contain_text("Confirming your payment", timeout=20_000)
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.CONFIRMING
    assert chain_token.client.token_balance(buyer.address) == MINTED - PRICE
    screenshot(page, "journey-confirming", full_page=False)
    chain_token.mine(1)  # the test settings ask for two confirmations

    # The real worker verifies it on chain; the page's next poll shows the license.
    wait_until(lambda: Purchase.objects.get().status == PurchaseStatus.PAID, chain_worker)
    ready = page.locator("#license-ready")
    expect(ready).to_contain_text("Your license is ready", timeout=15_000)
    grant = LicenseGrant.objects.get(purchase=purchase)
    top_screenshot(page, screenshot, "journey-paid")

    # The library, grouped by dataset; the file downloads and matches its SHA-256.
    ready.get_by_role("link", name="Open your library").click()
    expect(page).to_have_url(re.compile(r"/me/library/"))
    shelf = page.locator(f"#dataset-{dataset.pk}")
    expect(shelf.get_by_role("heading", level=2)).to_have_text("Kitchen reviews")
    license = shelf.locator(f"#license-{grant.pk}")
    expect(license).to_contain_text("Commercial")
    name = "data/train-00000-of-00001.parquet"
    with page.expect_download() as info:
        license.get_by_role("link", name=f"Download {name}").click()
    saved = Path(info.value.path())
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == release.files.get(name=name).sha256
    top_screenshot(page, screenshot, "journey-library")
    page.set_viewport_size({"width": 1024, "height": 800})  # a small laptop: the nav still fits
    assert no_horizontal_scroll(page)
    screenshot(page, "journey-library-1024", full_page=False)
    page.set_viewport_size({"width": 1280, "height": 800})

    # The nav leads back to the purchases, where the order reads as paid.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Purchases").click()
    row = page.locator(f"#purchase-{purchase.pk}")
    expect(row).to_contain_text("Paid")
    expect(row.locator(".amount")).to_have_text("9,950.98 tUSD")
    expect(row.locator(".amount")).to_have_attribute("title", re.compile("9,950.975006 tUSD"))
    top_screenshot(page, screenshot, "journey-purchases")


@pytest.mark.usefixtures("debug")
def test_a_sponsor_funds_a_bounty_with_the_dev_wallet(
    new_page: Callable[..., Page],
    chain_token: ChainToken,
    chain_worker: CeleryProcess,
    sponsor_wallet: DevAccount,
    screenshot: Callable[..., Path],
) -> None:
    sponsor = UserFactory.create(address=sponsor_wallet.address, display_name="Ada Lovelace")
    dataset = DatasetFactory.create(owner=sponsor, title="Street photos", slug="street-photos")
    now = timezone.now()
    bounty = BountyFactory.create(
        dataset=dataset,
        token=chain_token.token,
        pool_amount=1_500_250_000,
        title="Label the street photos",
        starts_at=now,
        ends_at=now + timedelta(days=7),
        epoch_length=timedelta(days=1),
    )
    page = new_page(inject_wallet=False)
    page.goto(f"/bounties/{bounty.pk}/")
    sign_in_with_the_dev_wallet(page, sponsor_wallet)

    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Earnings")).to_be_in_viewport(ratio=1)  # no hidden links
    card = page.locator("#fund-card")
    expect(card.locator("[data-pay-balance]")).to_have_text("Your balance: 1,000,000 tUSD")
    top_screenshot(page, screenshot, "journey-bounty-fund")
    card.get_by_role("button", name="Send 1,500.25 tUSD with your wallet").click()
    expect(page.locator("#bounty-status")).to_have_text("Verifying funding", timeout=20_000)
    assert chain_token.client.token_balance(sponsor.address) == MINTED - 1_500_250_000
    chain_token.mine(1)

    wait_until(lambda: BountyFunding.objects.get().status == FundingStatus.VERIFIED, chain_worker)
    expect(page.locator("#bounty-status")).to_have_text("Open", timeout=15_000)
    assert Bounty.objects.get().status == BountyStatus.OPEN
    expect(page.locator("#pool-funded")).to_have_text("1,500.25 tUSD")
    top_screenshot(page, screenshot, "journey-bounty-open")
