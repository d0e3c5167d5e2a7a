"""Signing in with a wallet (EIP-4361) in a real browser: the header button, the dialog, every way
it can go wrong, the dev wallet, and signing out."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from eth_account import Account
from playwright.sync_api import Locator, Page, Route, expect

from marketplace.accounts.models import SiweNonce
from payments.integrations.anvil import DevAccount
from tests.browser.conftest import PageLog, TestWallet
from tests.browser.helpers import short

pytestmark = pytest.mark.browser

SIGN_IN_METHODS = ["eth_requestAccounts", "eth_chainId", "personal_sign"]


def connect_button(page: Page) -> Locator:
    return page.locator("#wallet-slot").get_by_role("button", name="Connect wallet")


def wallet_dialog(page: Page) -> Locator:
    return page.locator("#wallet-dialog")


def connect_on_mainnet(page: Page, wallet: TestWallet, *, known: set[int] | None = None) -> Locator:
    """The wallet on Ethereum Mainnet (chain 1; ``known``: the chains it knows, if not all), the
    home page opened and Connect clicked: the wallet dialog."""
    wallet.chain_id = 1
    if known is not None:
        wallet.known_chain_ids = known
    page.goto("/")
    connect_button(page).click()
    return wallet_dialog(page)


def chip(page: Page) -> Locator:
    return page.locator("#wallet-slot .wallet-chip")


def expect_signed_in(page: Page, address: str) -> None:
    expect(chip(page)).to_have_attribute("data-address", address)
    expect(chip(page)).to_contain_text(short(address))
    expect(connect_button(page)).to_have_count(0)


def me(page: Page) -> dict[str, Any]:
    response = page.request.get("/api/v1/me")
    assert response.status == 200, response.text()
    return response.json()


def expire_open_nonces() -> int:
    """Age every unused nonce past its expiry (created_at moves too: expiry must follow it)."""
    past = timezone.now() - timedelta(minutes=20)
    return SiweNonce.objects.filter(used_at__isnull=True).update(
        created_at=past, expires_at=past + timedelta(minutes=10)
    )


# --- the happy path ------------------------------------------------------------------------------


def test_signing_in_with_the_injected_wallet_and_signing_out(
    page: Page, wallet: TestWallet, screenshot: Callable[..., Path]
) -> None:
    page.goto("/")
    connect = connect_button(page)
    expect(connect).to_be_enabled()
    expect(connect).to_have_attribute("aria-haspopup", "dialog")
    # Hold the signature back so the "Signing…" state can be seen.
    wallet.hang_methods.add("personal_sign")

    connect.click()

    dialog = wallet_dialog(page)
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Signing…")).to_be_visible()
    expect(dialog).to_contain_text("Sign the message in DataBounty Test Wallet.")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    screenshot(page, "signin-signing", full_page=False)

    # Cancel, then go through for real.
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(connect).to_be_focused()
    wallet.hang_methods.clear()
    connect.click()

    expect_signed_in(page, wallet.address)
    assert me(page)["address"] == wallet.address
    assert wallet.methods()[-3:] == SIGN_IN_METHODS
    message_hex = wallet.requests[-1][1][0]
    message = bytes.fromhex(message_hex.removeprefix("0x")).decode()
    host = page.url.split("/")[2]
    assert message.startswith(f"{host} wants you to sign in with your Ethereum account:\n")
    assert f"\n{wallet.address}\n\nSign in to DataBounty.\n\nURI: http://{host}\n" in message
    assert "\nVersion: 1\nChain ID: 31337\nNonce: " in message
    assert wallet.requests[-1][1][1] == wallet.address

    # The menu: account links and sign-out.
    chip(page).click()
    menu = page.locator("[data-wallet-menu]")
    expect(menu.get_by_role("link", name="Account")).to_be_visible()
    expect(menu.get_by_role("link", name="API tokens")).to_have_attribute(
        "href", "/account/tokens/"
    )
    expect(menu.get_by_role("link", name="Admin")).to_have_count(0)
    expect(menu).to_contain_text(wallet.address)
    screenshot(page, "signin-signed-in-menu", full_page=False)
    page.keyboard.press("Escape")
    expect(menu.get_by_role("link", name="Account")).to_be_hidden()
    expect(chip(page)).to_be_focused()

    chip(page).click()
    with page.expect_request("**/api/v1/auth/logout") as logout:
        menu.get_by_role("button", name="Sign out").click()
    assert logout.value.headers.get("x-csrftoken")
    expect(connect_button(page)).to_be_visible()
    expect(chip(page)).to_have_count(0)
    assert page.request.get("/api/v1/me").status in (401, 403)


def test_the_connect_dialog_opens_with_the_keyboard_and_closes_with_escape(
    page: Page, wallet: TestWallet, screenshot: Callable[..., Path]
) -> None:
    wallet.hang_methods.add("eth_requestAccounts")
    page.goto("/")

    connect_button(page).focus()
    page.keyboard.press("Enter")

    dialog = wallet_dialog(page)
    expect(dialog.get_by_role("heading", name="Waiting for your wallet…")).to_be_visible()
    expect(dialog.get_by_role("status")).to_contain_text("Approve the connection")
    screenshot(page, "signin-waiting-for-wallet", full_page=False)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(connect_button(page)).to_be_focused()


def test_a_lowercase_address_from_the_wallet_is_checksummed(page: Page, wallet: TestWallet) -> None:
    page.goto("/")
    page.wait_for_function("() => window.DataBounty && window.DataBounty.toChecksumAddress")
    page.add_script_tag(url="/static/vendor/ethers.umd.min.js")

    for account in [wallet.address, *(Account.create().address for _ in range(20))]:
        ours, ethers = page.evaluate(
            "(a) => [DataBounty.toChecksumAddress(a.toLowerCase()), ethers.getAddress(a)]", account
        )
        assert ours == ethers == account


# --- unhappy paths -------------------------------------------------------------------------------


def test_without_a_wallet_the_dialog_says_how_to_get_one(
    new_page: Callable[..., Page], screenshot: Callable[..., Path]
) -> None:
    page = new_page(inject_wallet=False)
    page.goto("/")
    assert page.evaluate("window.ethereum === undefined")

    connect_button(page).click()

    dialog = wallet_dialog(page)
    expect(dialog.get_by_role("heading", name="No wallet found")).to_be_visible()
    expect(dialog).to_contain_text("MetaMask, Rabby or Coinbase Wallet")
    expect(dialog.get_by_role("button", name="Reload page")).to_be_focused()
    expect(dialog.get_by_role("button", name="Use a dev wallet")).to_have_count(0)
    assert page.locator("#dev-wallets").count() == 0
    assert not dialog.locator("img, a").count()  # nothing fetched from anywhere else
    screenshot(page, "signin-no-wallet", full_page=False)


def test_a_rejected_signature_is_explained_and_retrying_works(
    page: Page, wallet: TestWallet, screenshot: Callable[..., Path]
) -> None:
    wallet.reject_next = "personal_sign"
    page.goto("/")

    connect_button(page).click()

    dialog = wallet_dialog(page)
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("You cancelled the request")
    expect(alert).to_contain_text("Nothing was signed.")
    retry = dialog.get_by_role("button", name="Try again")
    expect(retry).to_be_focused()
    screenshot(page, "signin-error-rejected", full_page=False)

    retry.click()

    expect_signed_in(page, wallet.address)
    assert wallet.methods().count("personal_sign") == 2


def test_a_rejected_connection_suggests_unlocking(page: Page, wallet: TestWallet) -> None:
    wallet.reject_next = "eth_requestAccounts"
    page.goto("/")

    connect_button(page).click()

    alert = wallet_dialog(page).get_by_role("alert")
    expect(alert).to_contain_text("You cancelled the request")
    expect(alert).to_contain_text("unlock it first")
    assert wallet.methods() == ["eth_requestAccounts"]


def test_a_locked_wallet_is_explained(
    page: Page, wallet: TestWallet, screenshot: Callable[..., Path]
) -> None:
    wallet.locked = True
    page.goto("/")

    connect_button(page).click()
    alert = wallet_dialog(page).get_by_role("alert")
    expect(alert).to_contain_text("unlock it first")

    # A wallet that answers with no account at all.
    page.evaluate(
        """() => {
            const original = window.ethereum.request.bind(window.ethereum);
            window.ethereum.request = (args) =>
                args.method === "eth_requestAccounts" ? Promise.resolve([]) : original(args);
        }"""
    )
    wallet_dialog(page).get_by_role("button", name="Try again").click()
    expect(alert).to_contain_text("Your wallet is locked")
    expect(alert).to_contain_text("Unlock your wallet and choose an account")
    screenshot(page, "signin-error-locked", full_page=False)

    # Unlocked (the reload drops the page's patch): signing in works.
    wallet.locked = False
    page.reload()
    connect_button(page).click()
    expect_signed_in(page, wallet.address)


def test_a_wallet_that_never_answers_is_nudged_and_a_pending_request_explained(
    page: Page, wallet: TestWallet, screenshot: Callable[..., Path]
) -> None:
    wallet.hang_methods.add("eth_requestAccounts")
    page.clock.install()
    page.goto("/")

    connect_button(page).click()
    dialog = wallet_dialog(page)
    expect(dialog.get_by_role("heading", name="Waiting for your wallet…")).to_be_visible()
    page.clock.run_for(9000)
    expect(dialog.get_by_role("heading", name="Still waiting for your wallet…")).to_be_visible()
    expect(dialog).to_contain_text("it may be locked")
    screenshot(page, "signin-still-waiting", full_page=False)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    # MetaMask answers a second prompt with -32002 while the first is still open.
    wallet.hang_methods.clear()
    wallet.fail_next = ("eth_requestAccounts", -32002, "Request already pending")
    connect_button(page).click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("Your wallet has a request waiting")
    expect(alert).to_contain_text("Open your wallet")
    screenshot(page, "signin-error-pending", full_page=False)

    dialog.get_by_role("button", name="Try again").click()
    expect_signed_in(page, wallet.address)


def test_wrong_network_offers_a_switch_then_signs_in(
    page: Page, wallet: TestWallet, screenshot: Callable[..., Path]
) -> None:
    dialog = connect_on_mainnet(page, wallet)
    expect(dialog.get_by_role("heading", name="Switch network")).to_be_visible()
    expect(dialog).to_contain_text("Your wallet is on Ethereum Mainnet (chain 1).")
    expect(dialog).to_contain_text("Anvil local (chain 31337)")
    switch = dialog.get_by_role("button", name="Switch network")
    expect(switch).to_be_focused()
    screenshot(page, "signin-wrong-network", full_page=False)
    assert "personal_sign" not in wallet.methods()

    switch.click()

    expect_signed_in(page, wallet.address)
    switch_calls = [p for m, p in wallet.requests if m == "wallet_switchEthereumChain"]
    assert switch_calls == [[{"chainId": "0x7a69"}]]
    assert wallet.chain_id == 31337


def test_switching_network_in_the_wallet_itself_carries_on(page: Page, wallet: TestWallet) -> None:
    dialog = connect_on_mainnet(page, wallet)
    expect(dialog.get_by_role("heading", name="Switch network")).to_be_visible()

    wallet.switch_chain(31337)

    expect_signed_in(page, wallet.address)
    assert "wallet_switchEthereumChain" not in wallet.methods()


def test_a_refused_network_switch_is_explained(page: Page, wallet: TestWallet) -> None:
    wallet.reject_next = "wallet_switchEthereumChain"
    dialog = connect_on_mainnet(page, wallet)

    dialog.get_by_role("button", name="Switch network").click()

    expect(dialog.get_by_role("alert")).to_contain_text("You cancelled the network switch.")
    dialog.get_by_role("button", name="Try again").click()
    expect_signed_in(page, wallet.address)


def test_an_unknown_network_is_explained_and_not_added_outside_debug(
    page: Page, wallet: TestWallet, screenshot: Callable[..., Path]
) -> None:
    dialog = connect_on_mainnet(page, wallet, known={1})

    dialog.get_by_role("button", name="Switch network").click()

    expect(dialog.get_by_role("heading", name="Add the network")).to_be_visible()
    expect(dialog).to_contain_text("network settings (chain ID 31337)")
    expect(dialog.get_by_role("button", name="Add network")).to_have_count(0)
    screenshot(page, "signin-unknown-network", full_page=False)
    assert "wallet_addEthereumChain" not in wallet.methods()


def test_in_debug_an_unknown_local_network_can_be_added(
    page: Page, wallet: TestWallet, settings: Any
) -> None:
    settings.DEBUG = True
    dialog = connect_on_mainnet(page, wallet, known={1})
    # DEBUG shows the picker (the wallet, or the dev wallet).
    dialog.get_by_role("button", name="DataBounty Test Wallet").click()
    dialog.get_by_role("button", name="Switch network").click()

    dialog.get_by_role("button", name="Add network").click()

    expect_signed_in(page, wallet.address)
    added = [p for m, p in wallet.requests if m == "wallet_addEthereumChain"]
    assert added[0][0]["chainId"] == "0x7a69"
    assert added[0][0]["rpcUrls"] == ["http://127.0.0.1:8545"]


def test_an_expired_nonce_is_replaced_and_signed_again_automatically(
    page: Page, wallet: TestWallet, page_log: PageLog
) -> None:
    expired: list[int] = []

    def expire_first(route: Route) -> None:
        if not expired:
            expired.append(expire_open_nonces())
        route.continue_()

    page_log.expect_status(400, "/api/v1/auth/login", "the first nonce expires before it is used")
    page.route("**/api/v1/auth/login", expire_first)
    page.goto("/")

    connect_button(page).click()

    expect_signed_in(page, wallet.address)
    assert expired == [1]
    assert wallet.methods().count("personal_sign") == 2
    nonces = [m[1][0] for m in wallet.requests if m[0] == "personal_sign"]
    assert nonces[0] != nonces[1]


def test_a_nonce_that_keeps_expiring_asks_the_person(
    page: Page, wallet: TestWallet, page_log: PageLog, screenshot: Callable[..., Path]
) -> None:
    def expire_always(route: Route) -> None:
        expire_open_nonces()
        route.continue_()

    page_log.expect_status(400, "/api/v1/auth/login", "every nonce expires before it is used")
    page.route("**/api/v1/auth/login", expire_always)
    page.goto("/")

    connect_button(page).click()

    alert = wallet_dialog(page).get_by_role("alert")
    expect(alert).to_contain_text("Your sign-in request expired")
    expect(wallet_dialog(page)).to_have_attribute("data-error-code", "nonce_expired")
    assert wallet.methods().count("personal_sign") == 2  # one automatic retry, then ask
    screenshot(page, "signin-error-expired", full_page=False)

    page.unroute("**/api/v1/auth/login")
    wallet_dialog(page).get_by_role("button", name="Try again").click()
    expect_signed_in(page, wallet.address)


def test_rate_limited_sign_in_says_to_wait(
    page: Page, wallet: TestWallet, page_log: PageLog, screenshot: Callable[..., Path]
) -> None:
    cache.set(f"ratelimit:siwe-login-address:{wallet.address.lower()}", 1000, timeout=60)
    page_log.expect_status(429, "/api/v1/auth/login", "too many attempts")
    page.goto("/")

    connect_button(page).click()

    alert = wallet_dialog(page).get_by_role("alert")
    expect(alert).to_contain_text("Too many attempts")
    expect(alert).to_contain_text("Please wait a minute, then try again.")
    expect(wallet_dialog(page)).to_have_attribute("data-error-code", "rate_limited")
    screenshot(page, "signin-error-rate-limited", full_page=False)

    cache.clear()
    wallet_dialog(page).get_by_role("button", name="Try again").click()
    expect_signed_in(page, wallet.address)


def test_chain_unavailable_and_other_server_errors_show_their_detail(
    page: Page, wallet: TestWallet, page_log: PageLog, screenshot: Callable[..., Path]
) -> None:
    answers = [
        (503, {"detail": "The chain could not be asked.", "code": "chain_unavailable"}),
        (
            400,
            {"detail": "The message is for another site.", "code": "domain_mismatch"},
        ),
    ]

    def answer(route: Route) -> None:
        status, body = answers.pop(0)
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    page_log.expect_status(503, "/api/v1/auth/login", "the chain is unavailable")
    page_log.expect_status(400, "/api/v1/auth/login", "the message is for another site")
    page.route("**/api/v1/auth/login", answer)
    page.goto("/")
    dialog = wallet_dialog(page)

    connect_button(page).click()
    expect(dialog.get_by_role("alert")).to_contain_text("We couldn\u2019t check your signature")
    expect(dialog.get_by_role("alert")).to_contain_text("isn\u2019t answering right now")
    expect(dialog).to_have_attribute("data-error-code", "chain_unavailable")
    screenshot(page, "signin-error-chain-unavailable", full_page=False)

    dialog.get_by_role("button", name="Try again").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Sign-in didn\u2019t work")
    expect(dialog.get_by_role("alert")).to_contain_text("The message is for another site.")

    page.unroute("**/api/v1/auth/login")
    dialog.get_by_role("button", name="Try again").click()
    expect_signed_in(page, wallet.address)


def test_a_suspended_account_is_told_so(
    page: Page, wallet: TestWallet, page_log: PageLog, django_user_model: Any
) -> None:
    django_user_model.objects.create_user(wallet.address, is_active=False)
    page_log.expect_status(403, "/api/v1/auth/login", "the account is suspended")
    page.goto("/")

    connect_button(page).click()

    alert = wallet_dialog(page).get_by_role("alert")
    expect(alert).to_contain_text("This account is suspended")
    expect(wallet_dialog(page).get_by_role("button", name="Try again")).to_have_count(0)
    expect(chip(page)).to_have_count(0)


# --- several wallets, the dev wallet -----------------------------------------------------------


def test_several_wallets_are_offered_in_a_picker(
    new_page: Callable[..., Page], wallet: TestWallet, screenshot: Callable[..., Path]
) -> None:
    page = new_page(extra_wallets=("Other Wallet",))
    page.goto("/")

    connect_button(page).click()

    dialog = wallet_dialog(page)
    expect(dialog.get_by_role("heading", name="Connect a wallet")).to_be_visible()
    options = dialog.get_by_role("listitem")
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_contain_text("DataBounty Test Wallet")
    expect(options.nth(1)).to_contain_text("Other Wallet")
    expect(dialog.locator(".wallet-option__icon[src^='data:image/svg+xml']")).to_have_count(2)
    expect(options.nth(0).get_by_role("button")).to_be_focused()
    screenshot(page, "signin-picker", full_page=False)
    assert wallet.requests == []  # nothing asked before a choice

    dialog.get_by_role("button", name="Other Wallet").click()

    expect_signed_in(page, wallet.address)
    assert set(wallet.request_wallets) == {"local.databounty.other-wallet"}


def test_dev_wallet_signs_in_without_any_extension_in_debug(
    new_page: Callable[..., Page],
    settings: Any,
    dev_wallets: list[DevAccount],
    screenshot: Callable[..., Path],
) -> None:
    settings.DEBUG = True
    page = new_page(inject_wallet=False)
    page.goto("/")

    connect_button(page).click()
    dialog = wallet_dialog(page)
    expect(dialog.get_by_role("heading", name="No wallet found")).to_be_visible()
    screenshot(page, "signin-no-wallet-debug", full_page=False)
    dialog.get_by_role("button", name="Use a dev wallet").click()

    expect(dialog.get_by_role("heading", name="Use a dev wallet")).to_be_visible()
    expect(dialog).to_contain_text("never send them real funds")
    accounts = dialog.get_by_role("listitem")
    expect(accounts).to_have_count(len(dev_wallets) - 1)
    expect(accounts.nth(0)).to_contain_text(short(dev_wallets[1].address))
    screenshot(page, "signin-dev-wallets", full_page=False)
    assert page.evaluate("window.ethers === undefined")  # loaded only when used

    accounts.nth(1).get_by_role("button").click()

    expect_signed_in(page, dev_wallets[2].address)
    assert me(page)["address"] == dev_wallets[2].address


def test_dev_wallet_is_offered_beside_an_installed_wallet_in_debug(
    page: Page, settings: Any, wallet: TestWallet
) -> None:
    settings.DEBUG = True
    page.goto("/")

    connect_button(page).click()

    dialog = wallet_dialog(page)
    expect(dialog.get_by_role("button", name="DataBounty Test Wallet")).to_be_visible()
    expect(dialog.get_by_role("button", name="Use a dev wallet")).to_be_visible()
    assert wallet.requests == []


def test_no_dev_wallet_or_keys_outside_debug(page: Page, wallet: TestWallet) -> None:
    page.goto("/")

    assert page.locator("#dev-wallets").count() == 0
    assert "private_key" not in page.content()
    connect_button(page).click()
    expect_signed_in(page, wallet.address)  # one wallet, no picker: straight to signing


# --- /signin/?next=, wallet events ----------------------------------------------------------------


def test_signing_in_from_the_signin_page_goes_on_to_next(
    page: Page, wallet: TestWallet, screenshot: Callable[..., Path]
) -> None:
    response = page.goto("/account/")

    assert response is not None
    assert page.url.endswith("/signin/?next=/account/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in with your wallet")
    main_button = page.locator("#main").get_by_role("button", name="Connect wallet")
    expect(main_button).to_be_enabled()
    screenshot(page, "signin-page")

    main_button.click()

    page.wait_for_url("**/account/")
    expect_signed_in(page, wallet.address)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")


def test_the_header_button_links_to_the_signin_page_without_javascript(
    new_page: Callable[..., Page],
) -> None:
    page = new_page(java_script_enabled=False)
    page.goto("/account/tokens/")

    link = page.locator("#wallet-slot").get_by_role("link", name="Connect wallet")
    expect(link).to_have_attribute("href", "/signin/?next=/account/tokens/")
    notice = page.locator(".signin__noscript")  # Playwright's text search skips <noscript>
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Signing in needs JavaScript")
    expect(page.locator("#main").get_by_role("button", name="Connect wallet")).to_be_disabled()


def test_switching_accounts_in_the_wallet_offers_to_sign_in_again(
    page: Page,
    wallet: TestWallet,
    dev_wallets: list[DevAccount],
    screenshot: Callable[..., Path],
) -> None:
    page.goto("/")
    connect_button(page).click()
    signed_in_as = wallet.address
    expect_signed_in(page, signed_in_as)

    wallet.switch_account(dev_wallets[3])

    dialog = wallet_dialog(page)
    expect(dialog.get_by_role("heading", name="Your wallet switched accounts")).to_be_visible()
    expect(dialog).to_contain_text(f"You are signed in here as {short(signed_in_as)}")
    expect(dialog).to_contain_text(f"now uses {short(dev_wallets[3].address)}")
    screenshot(page, "signin-account-switched", full_page=False)

    dialog.get_by_role("button", name=f"Sign in as {short(dev_wallets[3].address)}").click()

    expect_signed_in(page, dev_wallets[3].address)
    assert me(page)["address"] == dev_wallets[3].address


def test_switching_accounts_can_sign_out_or_be_ignored(
    page: Page, wallet: TestWallet, dev_wallets: list[DevAccount]
) -> None:
    page.goto("/")
    connect_button(page).click()
    expect_signed_in(page, wallet.address)
    original = wallet.account
    dialog = wallet_dialog(page)

    wallet.switch_account(dev_wallets[3])
    dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    expect_signed_in(page, original.address)

    wallet.switch_account(dev_wallets[4])
    expect(dialog).to_be_visible()
    wallet.switch_account(original)  # switched back: nothing to say any more
    expect(dialog).to_be_hidden()

    wallet.switch_account(dev_wallets[4])
    dialog.get_by_role("button", name="Sign out").click()
    expect(connect_button(page)).to_be_visible()


def test_a_signed_in_wallet_on_another_network_is_flagged(page: Page, wallet: TestWallet) -> None:
    page.goto("/")
    connect_button(page).click()
    expect_signed_in(page, wallet.address)

    wallet.switch_chain(1)

    expect(chip(page)).to_have_class("wallet-chip wallet-chip--wrong-chain")
    chip(page).click()
    expect(page.locator("[data-wallet-chain-notice]")).to_contain_text(
        "Your wallet is on Ethereum Mainnet (chain 1)"
    )
    wallet.switch_chain(31337)
    expect(chip(page)).to_have_class("wallet-chip")


def test_mobile_sign_in_fits_the_screen(
    mobile_page: Page, wallet: TestWallet, screenshot: Callable[..., Path]
) -> None:
    page = mobile_page
    wallet.reject_next = "personal_sign"
    page.goto("/")

    connect_button(page).click()
    dialog = wallet_dialog(page)
    expect(dialog.get_by_role("alert")).to_be_visible()
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    screenshot(page, "signin-mobile-error", full_page=False)

    dialog.get_by_role("button", name="Try again").click()
    expect_signed_in(page, wallet.address)
    chip(page).click()
    screenshot(page, "signin-mobile-menu", full_page=False)
    # Phones widen the layout viewport to fit overflowing content: compare with the device.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_dialog_in_the_dark_colour_scheme(
    new_page: Callable[..., Page], wallet: TestWallet, screenshot: Callable[..., Path]
) -> None:
    page = new_page(color_scheme="dark", extra_wallets=("Other Wallet",))
    page.goto("/")

    connect_button(page).click()
    dialog = wallet_dialog(page)
    expect(dialog.get_by_role("button", name="Other Wallet")).to_be_visible()
    background = dialog.evaluate("(d) => getComputedStyle(d).backgroundColor")
    assert background == "rgb(18, 24, 48)"  # --color-surface in the dark palette
    screenshot(page, "signin-picker-dark", full_page=False)

    wallet.reject_next = "personal_sign"
    dialog.get_by_role("button", name="DataBounty Test Wallet").click()
    expect(dialog.get_by_role("alert")).to_contain_text("You cancelled the request")
    screenshot(page, "signin-error-dark", full_page=False)
