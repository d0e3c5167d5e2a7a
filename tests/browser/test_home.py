"""The home page (the dataset catalogue) in a real browser, and the injected test wallet."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.test import RequestFactory
from eth_account import Account
from eth_account.messages import encode_defunct
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageLog, TestWallet
from tests.browser.helpers import no_horizontal_scroll

pytestmark = pytest.mark.browser

REQUEST = "([method, params]) => window.ethereum.request({method, params})"
# Resolves to the EIP-1193 error's {code, message} instead of throwing, so tests can inspect it.
REQUEST_ERROR = """([method, params]) => window.ethereum.request({method, params}).then(
    (result) => ({result}),
    (error) => ({code: error.code, message: error.message, isError: error instanceof Error}))"""


def test_home_page_shows_the_empty_catalogue(page: Page, screenshot: Callable[..., Path]) -> None:
    response = page.goto("/")

    assert response is not None and response.status == 200
    expect(page).to_have_title("Dataset catalogue · DataBounty")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Catalogue")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="API docs")).to_be_visible()
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Specialised training data")

    empty = page.locator("#catalogue-empty")
    expect(empty).to_be_visible()
    expect(empty.get_by_role("heading", name="No datasets are open yet")).to_be_visible()
    expect(empty.get_by_role("button", name="Create a dataset")).to_be_visible()
    expect(empty.get_by_role("button", name="Connect wallet to contribute")).to_be_visible()

    connect = page.locator("#wallet-slot").get_by_role("button", name="Connect wallet")
    expect(connect).to_be_enabled()
    expect(connect).to_have_attribute("aria-haspopup", "dialog")

    page.wait_for_function("() => window.htmx !== undefined && window.DataBounty !== undefined")
    assert page.evaluate("document.querySelector('meta[name=csrf-token]').content") != ""
    page.wait_for_load_state("networkidle")
    screenshot(page, "home")


def test_static_css_is_served_and_applied(page: Page) -> None:
    page.goto("/")

    brand = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--color-brand').trim()"
    )
    assert brand in {"#4f46e5", "#818cf8"}
    header_position = page.evaluate(
        "getComputedStyle(document.querySelector('.site-header')).position"
    )
    assert header_position == "sticky"
    for asset in ("/static/css/app.css", "/static/js/app.js", "/static/vendor/htmx.min.js"):
        response = page.request.get(asset)
        assert response.ok, asset


def test_skip_link_moves_focus_to_the_content(page: Page) -> None:
    page.goto("/")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()


def test_mobile_layout_fits_and_the_menu_toggles(
    mobile_page: Page, screenshot: Callable[..., Path]
) -> None:
    page = mobile_page
    page.goto("/")

    expect(page.locator("#catalogue-empty")).to_be_visible()
    assert no_horizontal_scroll(page)
    nav_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="API docs")
    toggle = page.get_by_role("button", name="Menu")
    expect(nav_link).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    screenshot(page, "home-mobile")

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav_link).to_be_visible()
    assert no_horizontal_scroll(page)
    screenshot(page, "home-mobile-menu", full_page=False)

    page.keyboard.press("Escape")
    expect(nav_link).to_be_hidden()
    expect(toggle).to_be_focused()


def test_signed_in_staff_sees_short_address_and_admin_link(
    page: Page,
    sign_in: Callable[..., None],
    wallet: TestWallet,
    django_user_model: Any,
    screenshot: Callable[..., Path],
) -> None:
    user = django_user_model.objects.create_user(wallet.address, is_staff=True)
    sign_in(page, user)

    page.goto("/")

    chip = page.locator("#wallet-slot .wallet-chip")
    expect(chip).to_contain_text(user.short_address)
    expect(chip).to_have_attribute("data-address", wallet.address)
    expect(page.locator("#wallet-slot").get_by_role("button")).to_have_count(0)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Admin")).to_have_attribute("href", "/admin/")
    empty = page.locator("#catalogue-empty")
    expect(empty.get_by_role("button", name="Connect wallet to contribute")).to_have_count(0)
    screenshot(page, "home-signed-in", full_page=False)


def test_messages_are_announced_and_dismissable(
    page: Page, live_server: Any, screenshot: Callable[..., Path]
) -> None:
    # Django's cookie message storage, filled outside any view: the page renders what it finds.
    request = RequestFactory().get("/")
    storage = CookieStorage(request)
    storage.add(message_levels.SUCCESS, "Contribution received.")
    storage.add(message_levels.ERROR, "The file could not be read.")
    response = HttpResponse()
    storage.update(response)
    cookie = response.cookies[storage.cookie_name]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])

    page.goto("/")

    success = page.get_by_role("status").filter(has_text="Contribution received.")
    error = page.get_by_role("alert").filter(has_text="The file could not be read.")
    expect(success).to_be_visible()
    expect(error).to_be_visible()
    screenshot(page, "messages", full_page=False)
    success.get_by_role("button", name="Dismiss notification").click()
    expect(success).to_have_count(0)
    expect(error.get_by_role("button", name="Dismiss notification")).to_be_focused()
    error.get_by_role("button", name="Dismiss notification").click()
    expect(page.locator(".messages")).to_have_count(0)


def test_unknown_page_is_a_styled_404(
    page: Page, page_log: PageLog, screenshot: Callable[..., Path]
) -> None:
    page_log.expect_status(404, "/no-such-page/", "the page does not exist")
    response = page.goto("/no-such-page/")

    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("We couldn\u2019t find that page")
    expect(page.get_by_role("link", name="Browse the catalogue")).to_have_attribute("href", "/")
    screenshot(page, "404", full_page=False)


def test_500_page_renders_without_context(page: Page, page_log: PageLog) -> None:
    # Django renders 500.html with an empty context and no request; serve exactly that.
    html = render_to_string("500.html")
    page.route(
        "**/__500__",
        lambda route: route.fulfill(status=500, body=html, content_type="text/html"),
    )

    page_log.expect_status(500, "/__500__", "the page is served with status 500")
    page.goto("/__500__")

    expect(page.get_by_role("heading", level=1)).to_have_text("Something went wrong on our side")
    position = page.evaluate("getComputedStyle(document.querySelector('.site-header')).position")
    assert position == "sticky"  # app.css loaded


# --- the injected wallet ---------------------------------------------------------------------


def test_wallet_reports_the_anvil_chain_and_account(page: Page, wallet: TestWallet) -> None:
    page.goto("/")

    assert page.evaluate("window.ethereum.isDataBountyTest") is True
    assert page.evaluate(REQUEST, ["eth_chainId", []]) == "0x7a69"
    assert page.evaluate(REQUEST, ["eth_requestAccounts", []]) == [wallet.address]
    assert page.evaluate(REQUEST, ["eth_accounts", []]) == [wallet.address]
    balance = page.evaluate(REQUEST, ["eth_getBalance", [wallet.address, "latest"]])
    assert int(balance, 16) > 0  # forwarded to anvil, where dev accounts are funded


def test_wallet_announces_itself_over_eip6963(page: Page) -> None:
    page.goto("/")

    announced = page.evaluate(
        """() => new Promise((resolve) => {
            window.addEventListener("eip6963:announceProvider", (event) => resolve({
                ...event.detail.info,
                sameProvider: event.detail.provider === window.ethereum,
            }), {once: true});
            window.dispatchEvent(new Event("eip6963:requestProvider"));
        })"""
    )
    assert announced["name"] == "DataBounty Test Wallet"
    assert announced["rdns"] == "local.databounty.testwallet"
    assert announced["icon"].startswith("data:image/svg+xml,")
    assert announced["sameProvider"] is True


def test_personal_sign_recovers_to_the_wallet_address(page: Page, wallet: TestWallet) -> None:
    page.goto("/")
    message = "Sign in to DataBounty\nNonce: 8f2c1e"

    text_signature = page.evaluate(REQUEST, ["personal_sign", [message, wallet.address]])
    hex_message = "0x" + message.encode().hex()
    hex_signature = page.evaluate(REQUEST, ["personal_sign", [hex_message, wallet.address]])

    signed = encode_defunct(text=message)
    assert Account.recover_message(signed, signature=text_signature) == wallet.address
    assert hex_signature == text_signature


def test_wallet_sends_transactions_to_anvil(
    page: Page, wallet: TestWallet, dev_wallets: list[Any]
) -> None:
    page.goto("/")
    recipient = dev_wallets[2].address

    tx_hash = page.evaluate(
        REQUEST, ["eth_sendTransaction", [{"to": recipient, "value": hex(10**15)}]]
    )
    # anvil answers the send as soon as the transaction is in its pool and mines it a moment
    # later, even with automine: a wallet (and this test) polls for the receipt.
    deadline = time.monotonic() + 10
    while (receipt := page.evaluate(REQUEST, ["eth_getTransactionReceipt", [tx_hash]])) is None:
        assert time.monotonic() < deadline, f"{tx_hash} was never mined"
        time.sleep(0.05)

    assert receipt["status"] == "0x1"
    assert receipt["from"].lower() == wallet.address.lower()


def test_rejected_request_reaches_the_page_as_eip1193_error(page: Page, wallet: TestWallet) -> None:
    page.goto("/")
    wallet.reject_next = True

    # Reads never prompt, so they pass; the next prompt (the signature) is the one rejected.
    assert page.evaluate(REQUEST, ["eth_chainId", []]) == "0x7a69"
    rejected = page.evaluate(REQUEST_ERROR, ["personal_sign", ["hello", wallet.address]])
    again = page.evaluate(REQUEST_ERROR, ["personal_sign", ["hello", wallet.address]])

    assert rejected == {"code": 4001, "message": "User rejected the request.", "isError": True}
    assert "result" in again  # reject_next fires once
    assert wallet.methods() == ["eth_chainId", "personal_sign", "personal_sign"]


def test_locked_wallet_exposes_no_accounts(page: Page, wallet: TestWallet) -> None:
    page.goto("/")
    wallet.locked = True

    assert page.evaluate(REQUEST, ["eth_accounts", []]) == []
    assert page.evaluate(REQUEST_ERROR, ["eth_requestAccounts", []])["code"] == 4001
    signing = page.evaluate(REQUEST_ERROR, ["personal_sign", ["hello", wallet.address]])
    assert signing["code"] == 4100


def test_wallet_refuses_foreign_accounts_unknown_chains_and_node_admin_methods(
    page: Page, wallet: TestWallet, dev_wallets: list[Any]
) -> None:
    page.goto("/")

    foreign = page.evaluate(REQUEST_ERROR, ["personal_sign", ["hi", dev_wallets[3].address]])
    unknown_chain = page.evaluate(
        REQUEST_ERROR, ["wallet_switchEthereumChain", [{"chainId": "0x1"}]]
    )
    same_chain = page.evaluate(REQUEST, ["wallet_switchEthereumChain", [{"chainId": "0x7a69"}]])
    admin = page.evaluate(REQUEST_ERROR, ["anvil_setBalance", [wallet.address, "0x1"]])

    assert foreign["code"] == 4100
    assert unknown_chain["code"] == 4902
    assert same_chain is None
    assert admin["code"] == 4200


def test_wallet_events_reach_page_listeners(
    page: Page, wallet: TestWallet, dev_wallets: list[Any]
) -> None:
    page.goto("/")
    page.evaluate(
        """() => {
            window.seen = [];
            window.ethereum.on("accountsChanged", (a) => window.seen.push(["accounts", a]));
            window.ethereum.on("chainChanged", (c) => window.seen.push(["chain", c]));
        }"""
    )

    wallet.switch_account(dev_wallets[2])
    wallet.switch_chain(1)
    page.evaluate(REQUEST, ["wallet_switchEthereumChain", [{"chainId": "0x7a69"}]])

    assert page.evaluate("window.seen") == [
        ["accounts", [dev_wallets[2].address]],
        ["chain", "0x1"],
        ["chain", "0x7a69"],
    ]
    assert page.evaluate(REQUEST, ["eth_chainId", []]) == "0x7a69"


def test_dark_colour_scheme_switches_the_palette(
    new_page: Callable[..., Page], screenshot: Callable[..., Path]
) -> None:
    page = new_page(color_scheme="dark")
    page.goto("/")

    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(11, 16, 32)"  # --color-bg in the dark palette
    screenshot(page, "home-dark")
