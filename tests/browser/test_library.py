"""The library in a real browser: a licensed buyer downloads a release file through its signed
link and checks its SHA-256; expired licenses show as such; the release page's download box."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.factories import DatasetFactory, UserFactory, make_grant, make_release

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def test_a_buyer_downloads_a_licensed_file_and_checks_its_sha256(
    live_server: Any,
    page: Page,
    mobile_page: Page,
    sign_in: Callable[..., None],
    screenshot: Callable[..., Path],
):
    buyer = UserFactory.create(display_name="Grace Hopper")
    dataset = DatasetFactory.create(title="Product reviews", slug="product-reviews")
    v1 = make_release(dataset, number=1, shards=2, rows=120)
    make_release(dataset, number=2, shards=1, rows=300)
    grant = make_grant(buyer, dataset, [v1], covers_future=True, tier_name="Commercial")
    photos = DatasetFactory.create(title="Street photos", slug="street-photos")
    expired = make_grant(
        buyer,
        photos,
        [make_release(photos, shards=1)],
        expires_at=timezone.now() - timedelta(days=3),
        tier_name="Trial",
    )

    sign_in(page, buyer)
    page.goto("/me/library/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your library")
    license = page.locator(f"#license-{grant.pk}")
    expect(license.locator(".card-header .badge")).to_have_text("Active")
    expect(license).to_contain_text("v1 and every later one")
    expect(license.locator(".library-version")).to_have_count(2)  # v2 and v1
    lapsed = page.locator(f"#license-{expired.pk}")
    expect(lapsed.locator(".card-header .badge")).to_have_text("Expired")
    expect(lapsed.get_by_role("link", name="Download")).to_have_count(0)

    name = "data/train-00001-of-00002.parquet"
    row = license.locator(f"#release-{grant.pk}-{v1.pk} tr[data-file='{name}']")
    shown_sha = row.locator("[data-sha256]").inner_text().strip()
    assert shown_sha == v1.files.get(name=name).sha256
    with page.expect_download() as info:
        row.get_by_role("link", name=f"Download {name}").click()
    download = info.value
    assert download.suggested_filename == "product-reviews-v1-train-00001-of-00002.parquet"
    saved = Path(download.path())
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == shown_sha
    assert saved.read_bytes()[:4] == b"PAR1"

    snippet = license.locator(".library-snippet").first  # v2, the latest
    snippet.locator("summary").click()
    expect(snippet.locator("pre")).to_contain_text('load_dataset(\n    "parquet"')
    expect(snippet.locator("pre")).to_contain_text(f"{live_server.url}/api/v1/files/")
    expect(snippet.get_by_role("link", name="create one")).to_have_attribute(
        "href", "/account/tokens/"
    )
    screenshot(page, "library")

    # The release page loads its download box (htmx) with this buyer's links.
    page.goto("/datasets/product-reviews/versions/2/")
    box = page.locator("#release-downloads[data-allowed='true']")
    expect(
        box.get_by_role("link", name="Download data/train-00000-of-00001.parquet")
    ).to_be_visible()
    screenshot(page, "release-downloads")

    sign_in(mobile_page, buyer)
    mobile_page.goto("/me/library/")
    expect(mobile_page.locator(f"#license-{grant.pk}")).to_be_visible()
    overflow = mobile_page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 390px"
    screenshot(mobile_page, "library-mobile")


def test_a_visitor_without_a_license_is_asked_to_buy_one(
    page: Page,
    sign_in: Callable[..., None],
    screenshot: Callable[..., Path],
):
    dataset = DatasetFactory.create(title="Product reviews", slug="product-reviews")
    make_release(dataset, number=1, shards=1)
    sign_in(page, UserFactory.create())
    page.goto("/datasets/product-reviews/versions/1/")
    box = page.locator("#release-downloads[data-allowed='false']")
    expect(box.get_by_role("link", name="Buy a license")).to_have_attribute(
        "href", "/datasets/product-reviews/"
    )
    expect(box.get_by_role("link", name="Download")).to_have_count(0)
    screenshot(page, "release-downloads-unlicensed")

    page.goto("/me/library/")
    expect(page.locator("#library-empty")).to_contain_text("No licenses yet")
