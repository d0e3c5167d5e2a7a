"""The account pages in a real browser: the profile, API tokens (shown once, used, revoked), and
where anonymous visitors are sent."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

from marketplace.accounts.models import ApiToken
from tests.browser.conftest import TestWallet, assert_accessible_in_the_dark

pytestmark = pytest.mark.browser


def api_get(base_url: str, path: str, secret: str) -> tuple[int, dict[str, Any]]:
    """A plain HTTP request from Python, as a script holding the token would make it."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "localhost", parts.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {secret}"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return response.status, json.loads(body or b"{}")


def fact(card: Locator, name: str) -> Locator:
    """The value (<dd>) of the fact (<dt>) called ``name`` in a token card."""
    return card.locator("dl > div").filter(has=card.page.locator("dt", has_text=name)).locator("dd")


@pytest.fixture
def user(django_user_model: Any, wallet: TestWallet) -> Any:
    return django_user_model.objects.create_user(wallet.address)


@pytest.fixture
def signed_in_page(page: Page, sign_in: Callable[..., None], user: Any) -> Page:
    sign_in(page, user)
    return page


def test_anonymous_visitors_are_sent_to_sign_in_and_back(page: Page) -> None:
    page.goto("/account/")

    assert urlsplit(page.url).path == "/signin/"
    assert urlsplit(page.url).query == "next=/account/"
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in with your wallet")
    page.goto("/account/tokens/")
    assert urlsplit(page.url).query == "next=/account/tokens/"


def test_profile_changes_show_in_the_header(
    signed_in_page: Page, user: Any, screenshot: Callable[..., Path]
) -> None:
    page = signed_in_page
    page.goto("/account/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.locator("#main")).to_contain_text(user.address)
    roles = page.get_by_role("list", name="Your roles")
    expect(roles.get_by_role("listitem")).to_have_text(["Contributor"])
    expect(page.get_by_role("link", name="Manage API tokens")).to_have_attribute(
        "href", "/account/tokens/"
    )
    expect(page.get_by_role("link", name="Open the admin")).to_have_count(0)
    display_name = page.get_by_label("Display name")
    expect(display_name).to_have_accessible_description(
        "Shown instead of your address on your work."
    )

    display_name.fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_role("button", name="Save profile").click()

    expect(page.get_by_role("status").filter(has_text="Profile saved.")).to_be_visible()
    chip = page.locator("#wallet-slot .wallet-chip")
    expect(chip).to_contain_text("Ada Lovelace")
    expect(chip).to_contain_text(user.short_address)
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(page.get_by_label("Email")).to_have_value("ada@example.org")
    user.refresh_from_db()
    assert (user.display_name, user.email) == ("Ada Lovelace", "ada@example.org")
    screenshot(page, "account")
    assert_accessible_in_the_dark(page)


def test_a_bad_email_is_explained_next_to_the_field(
    signed_in_page: Page, user: Any, screenshot: Callable[..., Path]
) -> None:
    page = signed_in_page
    page.goto("/account/")

    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Save profile").click()

    email = page.get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile(r"Enter a valid email address\.$"))
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    screenshot(page, "account-invalid-email", full_page=False)
    user.refresh_from_db()
    assert user.email == ""


def test_staff_see_their_role_and_the_admin(
    page: Page, sign_in: Callable[..., None], django_user_model: Any, wallet: TestWallet
) -> None:
    staff = django_user_model.objects.create_user(wallet.address, is_staff=True)
    sign_in(page, staff)
    page.goto("/account/")

    roles = page.get_by_role("list", name="Your roles")
    expect(roles.get_by_role("listitem")).to_have_text(["Contributor", "Staff"])
    expect(page.get_by_role("link", name="Open the admin")).to_have_attribute("href", "/admin/")
    page.locator("#wallet-slot .wallet-chip").click()
    expect(page.locator("[data-wallet-menu]").get_by_role("link", name="Admin")).to_be_visible()


def test_an_api_token_is_shown_once_works_and_can_be_revoked(
    signed_in_page: Page,
    user: Any,
    live_server: Any,
    screenshot: Callable[..., Path],
) -> None:
    page = signed_in_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/account/tokens/")
    expect(page.locator("#tokens-empty")).to_contain_text("No API tokens yet")
    expect(page.get_by_label("Read: list and view through the API")).to_be_checked()
    screenshot(page, "tokens-empty")

    page.get_by_label("Name").fill("training box")
    page.get_by_label("Download: fetch licensed dataset files").check()
    page.get_by_label("Expires").select_option(label="In 30 days")
    page.get_by_role("button", name="Create token").click()

    box = page.get_by_role("region", name="Copy your new token “training box” now")
    expect(box).to_be_visible()
    expect(box).to_contain_text("You won\u2019t see it again.")
    field = box.get_by_role("textbox", name="Secret of the token “training box”")
    secret = field.input_value()
    assert secret.startswith("dbt_")
    copy = box.get_by_role("button", name="Copy token")
    expect(copy).to_be_focused()
    expect(box.locator("pre").first).to_contain_text(
        f'curl -H "Authorization: Bearer {secret}" {live_server.url}/api/v1/me'
    )
    expect(box.locator("pre").nth(1)).to_contain_text('load_dataset(\n    "parquet"')
    expect(box.locator("pre").nth(1)).to_contain_text(
        f'storage_options={{"headers": {{"Authorization": "Bearer {secret}"}}}}'
    )
    copy.click()
    expect(box.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    expect(box.get_by_role("status")).to_have_text("Copied to the clipboard.")
    screenshot(page, "tokens-created-secret")

    token = page.locator(".token").filter(has_text="training box")
    expect(token.get_by_role("list", name="Scopes").get_by_role("listitem")).to_have_text(
        ["download", "read"]
    )
    expect(fact(token, "Last used")).to_have_text("never")
    expect(fact(token, "Expires")).not_to_have_text("never")
    expect(token).to_contain_text("Active")

    # The token works from a script ...
    status, body = api_get(live_server.url, "/api/v1/me", secret)
    assert status == 200
    assert body["address"] == user.address

    # ... and the secret is never shown again.
    page.goto("/account/tokens/")
    assert secret not in page.content()
    expect(page.get_by_role("region", name="Copy your new token “training box” now")).to_have_count(
        0
    )
    token = page.locator(".token").filter(has_text="training box")
    expect(token).to_contain_text(ApiToken.objects.get().prefix)
    expect(fact(token, "Last used")).not_to_have_text("never")

    # Revoking takes a confirmation, then the token stops working.
    token.get_by_text("Revoke…").click()
    expect(token).to_contain_text("stop working at once")
    screenshot(page, "tokens-revoke-confirm", full_page=False)
    token.get_by_role("button", name="Revoke “training box”").click()

    expect(page.get_by_role("status").filter(has_text="revoked")).to_be_visible()
    token = page.locator(".token").filter(has_text="training box")
    expect(token).to_contain_text("Revoked")
    expect(token.get_by_text("Revoke…")).to_have_count(0)
    status, body = api_get(live_server.url, "/api/v1/me", secret)
    assert status == 401
    screenshot(page, "tokens-revoked")


def test_token_form_errors_are_shown(signed_in_page: Page, screenshot: Callable[..., Path]) -> None:
    page = signed_in_page
    page.goto("/account/tokens/")

    page.get_by_label("Read: list and view through the API").uncheck()
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    scopes = page.get_by_role("group", name="Scopes")
    expect(scopes).to_contain_text("This field is required.")
    screenshot(page, "tokens-form-errors", full_page=False)
    assert not ApiToken.objects.exists()


def test_signing_out_from_the_account_page(signed_in_page: Page) -> None:
    page = signed_in_page
    page.goto("/account/")

    page.get_by_role("region", name="Wallet").get_by_role("button", name="Sign out").click()

    connect = page.locator("#wallet-slot").get_by_role("button", name="Connect wallet")
    expect(connect).to_be_visible()
    assert urlsplit(page.url).path == "/signin/"


def test_tokens_page_on_a_phone(
    mobile_page: Page, sign_in: Callable[..., None], user: Any, screenshot: Callable[..., Path]
) -> None:
    page = mobile_page
    sign_in(page, user)
    page.goto("/account/tokens/")
    page.get_by_label("Name").fill("notebook")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_role("button", name="Copy token")).to_be_visible()
    # Phones widen the layout viewport to fit overflowing content: compare with the device.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The token's code blocks scroll sideways on a phone: focusable, so a keyboard scrolls them
    # (the screenshot's accessibility check holds them to it).
    screenshot(page, "tokens-created-mobile")
