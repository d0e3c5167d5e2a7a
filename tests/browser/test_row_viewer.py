"""The row viewer in a real browser: a visitor pages through the preview, searches, filters by
consensus label and expands a long text, with htmx swapping only the viewer; the same walk
works with JavaScript off (plain GET form and links)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page, expect

from datasets_app.models import Dataset, DatasetRelease, Item, Label
from datasets_app.services.releases import release_build
from tests.browser.conftest import MOBILE, assert_accessible
from tests.browser.helpers import no_horizontal_scroll
from tests.factories import DatasetFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.browser

WORDS = ["battery", "screen", "zebra", "delivery", "colour"]


@pytest.fixture
def dataset(db: Any) -> Dataset:
    """70 reviews, a preview of 60: 50 on the first page, 10 on the second, 10 never shown."""
    dataset = DatasetFactory.create(
        title="Product review sentiment",
        slug="product-review-sentiment",
        columns=[{"name": "text", "dtype": "string"}, {"name": "stars", "dtype": "int64"}],
        label_classes=["negative", "neutral", "positive"],
        preview_rows=60,
    )
    labelers = UserFactory.create_batch(3)
    now = timezone.now()
    for n in range(70):
        text = f"Review {n}: the {WORDS[n % len(WORDS)]} was fine."
        if n == 2:
            text = "A long story about the zebra print case. " + "It kept going. " * 40
        label = ["negative", "neutral", "positive"][n % 3] if n % 4 else None
        item = ItemFactory.create(
            dataset=dataset,
            data={"text": text, "stars": n % 5 + 1},
            consensus_label=label,
            consensus_at=now if label else None,
            labels_count=3 if label else 0,
            flags=["pii:email"] if n == 7 else [],
        )
        if label:
            votes = [label, label, "neutral" if label != "neutral" else "positive"]
            for labeler, value in zip(labelers, votes, strict=True):
                Label.objects.create(item=item, labeler=labeler, dataset=dataset, value=value)
    Dataset.objects.filter(pk=dataset.pk).update(items_count=Item.objects.count())
    return dataset


def rows(page: Page) -> Any:
    return page.locator("#viewer-table tbody tr")


def test_visitor_pages_searches_and_filters_the_preview(
    page: Page, screenshot: Callable[..., Path], dataset: Dataset
) -> None:
    page.goto(f"/datasets/{dataset.slug}/")
    viewer = page.locator("#viewer")
    expect(viewer.locator("#viewer-preview")).to_contain_text(
        "Showing the first 60 rows; buy a license to see all 70."
    )
    expect(rows(page)).to_have_count(50)
    expect(page.locator("#viewer-table thead th")).to_have_text(
        ["Id", "text", "stars", "Label", "Agreement", "Flags"]
    )
    first = rows(page).nth(1)
    expect(first).to_contain_text("neutral")
    expect(first).to_contain_text("67% (2/3)")
    expect(rows(page).nth(7)).to_contain_text("pii:email")
    # A long text is cut short and opens in place.
    long_cell = rows(page).nth(2).locator("details")
    expect(long_cell.locator(".row-viewer__full")).to_be_hidden()
    long_cell.locator("summary").click()
    expect(long_cell.locator(".row-viewer__full")).to_be_visible()
    expect(long_cell.locator(".row-viewer__full")).to_contain_text("It kept going.")
    assert_accessible(page, include="#viewer")
    screenshot(page, "row-viewer-first-page")

    # Next page: htmx swaps the viewer alone; the address bar shows the page's own URL.
    page.evaluate("window.__notReloaded = true")
    page.get_by_role("link", name="Next →").click()
    expect(rows(page)).to_have_count(10)
    expect(rows(page).first).to_contain_text("Review 50:")
    expect(page).to_have_url(re.compile(rf"/datasets/{dataset.slug}/\?page="))
    assert page.evaluate("window.__notReloaded === true")  # no full reload
    expect(page.get_by_role("link", name="Next →")).to_have_count(0)  # the preview ends here
    screenshot(page, "row-viewer-second-page", full_page=False)
    page.get_by_role("link", name="← Previous").click()
    expect(rows(page)).to_have_count(50)
    expect(rows(page).first).to_contain_text("Review 0:")

    # Search (whole words, within the preview), then narrow by consensus label.
    page.get_by_label("Search rows").fill("zebra")
    page.get_by_label("Search rows").press("Enter")
    expect(rows(page)).to_have_count(12)  # rows 2, 7 … 57 (row 62 is past the preview)
    expect(page.locator("#viewer-count")).to_have_text("12 rows match")
    # htmx binds the new form's triggers once the swap settles: a person is never that fast.
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
    page.get_by_label("Consensus label").select_option("positive")
    expect(rows(page)).to_have_count(3)  # rows 2, 17 and 47
    for n in range(3):
        expect(rows(page).nth(n).locator(".row-viewer__label")).to_have_text("positive")
    expect(page).to_have_url(re.compile(r"q=zebra.*label=positive|label=positive.*q=zebra"))
    assert page.evaluate("window.__notReloaded === true")
    assert_accessible(page, include="#viewer")
    screenshot(page, "row-viewer-filtered")

    # The URL is the state: reloading it shows the same rows.
    page.reload()
    expect(rows(page)).to_have_count(3)
    expect(page.get_by_label("Search rows")).to_have_value("zebra")

    page.get_by_label("Search rows").fill("nothing-like-this")
    page.get_by_label("Search rows").press("Enter")
    expect(page.locator("#viewer-empty")).to_contain_text("No rows match")
    page.get_by_role("link", name="Clear").click()
    expect(rows(page)).to_have_count(50)

    page.set_viewport_size(MOBILE)
    assert no_horizontal_scroll(page)
    screenshot(page, "row-viewer-mobile", full_page=False)


def test_the_viewer_works_without_javascript(
    new_page: Callable[..., Page], screenshot: Callable[..., Path], dataset: Dataset
) -> None:
    page = new_page(java_script_enabled=False)
    page.goto(f"/datasets/{dataset.slug}/")
    expect(rows(page)).to_have_count(50)
    page.get_by_role("link", name="Next →").click()
    expect(rows(page)).to_have_count(10)
    page.get_by_label("Search rows").fill("battery")
    page.get_by_label("Consensus state").select_option("decided")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=battery.*consensus=decided"))
    expect(rows(page)).to_have_count(9)  # rows 1, 6 … 56 but not 0, 20 and 40 (unlabelled)
    # Without JavaScript axe cannot run in the page: the same page is checked with it elsewhere.
    screenshot(page, "row-viewer-no-js", full_page=False, accessible=False)


def test_release_page_shows_its_image_rows_as_thumbnails(
    page: Page, screenshot: Callable[..., Path], db: Any
) -> None:
    dataset = DatasetFactory.create(
        title="Street signs",
        slug="street-signs",
        modality="image",
        columns=[{"name": "image", "dtype": "image"}, {"name": "city", "dtype": "string"}],
        label_classes=["stop", "yield"],
        preview_rows=4,
    )
    for n, colour in enumerate(["red", "orange", "gold", "green", "teal", "navy"]):
        buffer = io.BytesIO()
        Image.new("RGB", (64 + n * 8, 48), colour).save(buffer, format="PNG")
        path = default_storage.save(f"items/{colour}.png", ContentFile(buffer.getvalue()))
        ItemFactory.create(
            dataset=dataset,
            data={"image": {"path": path, "file_name": f"{colour}.png"}, "city": f"City {n}"},
            consensus_label="stop" if n % 2 else "yield",
        )
    Dataset.objects.filter(pk=dataset.pk).update(items_count=6)
    release = DatasetRelease.objects.create(dataset=dataset, number=1, created_by=dataset.owner)
    assert release_build(release_id=release.pk) == "ready"

    page.goto(f"/datasets/{dataset.slug}/versions/1/")
    expect(page.locator("#viewer-preview")).to_contain_text("Showing the first 4 rows of v1")
    expect(rows(page)).to_have_count(4)
    images = page.locator("#viewer-table img")
    expect(images).to_have_count(4)
    expect(images.first).to_have_attribute("alt", "red.png")
    assert page.evaluate(
        "[...document.querySelectorAll('#viewer-table img')].every(i => i.naturalWidth > 0)"
    )
    expect(rows(page).nth(1).locator(".row-viewer__label")).to_have_text("stop")
    expect(page.locator("#viewer-count")).to_have_text("Rows 1\u20134 of 4")
    assert_accessible(page, include="#viewer")
    screenshot(page, "row-viewer-release-images")
