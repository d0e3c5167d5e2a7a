"""Releases in a real browser: the owner publishes a version from the dataset page, watches it
build (htmx polling) until it is ready, and opens it; the quality card before buying."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from datasets_app.models import DatasetRelease
from datasets_app.services.releases import release_build
from tests.browser.conftest import MOBILE
from tests.browser.helpers import no_horizontal_scroll
from tests.factories import ContributionFactory, DatasetFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.browser


def top(page: Page) -> None:
    page.evaluate("window.scrollTo(0, 0)")


@pytest.fixture
def dataset(db: Any) -> Any:
    owner = UserFactory.create(display_name="Ada Lovelace")
    dataset = DatasetFactory.create(
        owner=owner,
        title="Support ticket intents",
        slug="support-ticket-intents",
        columns=[{"name": "text", "dtype": "string"}, {"name": "channel", "dtype": "string"}],
        label_classes=["billing", "shipping", "returns"],
        agreement_alpha=0.78,
        card_markdown="## Where it comes from\n\nAnonymised support tickets.",
    )
    contribution = ContributionFactory.create(
        dataset=dataset,
        status="partially_accepted",
        rows_total=60,
        rows_accepted=48,
        rows_rejected=12,
        report={
            "reasons": {
                "duplicate of an earlier row in this file": 7,
                "column 'text' contains personal data": 3,
                "column 'text' is empty": 2,
            },
            "flagged": 2,
        },
    )
    labels = ["billing", "shipping", None, "returns", "billing", "shipping"]
    for n, label in enumerate(labels):
        ItemFactory.create(
            dataset=dataset,
            contribution=contribution,
            data={"text": f"Where is my parcel number {n}?", "channel": "email"},
            consensus_label=label,
            consensus_at=timezone.now() if label else None,
        )
    dataset.items_count = len(labels)
    dataset.contributions_count = 1
    dataset.save()
    return dataset


@pytest.fixture
def no_enqueue(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """This test has no Celery worker: the publish's enqueue is recorded, and the test runs the
    build itself (``release_build``, the task's body) at the moment it wants the page to see
    the release go from building to ready. tests/datasets_app/test_releases.py runs it on a
    real worker."""
    from datasets_app.tasks import build_release

    sent: list[int] = []
    monkeypatch.setattr(build_release, "delay", sent.append)
    return sent


def test_owner_publishes_a_version_sees_it_build_and_opens_it(
    page: Page,
    sign_in: Callable[..., None],
    dataset: Any,
    no_enqueue: list[int],
    screenshot: Callable[..., Path],
) -> None:
    sign_in(page, dataset.owner)
    page.goto(f"/datasets/{dataset.slug}/")

    quality = page.locator("#quality")
    expect(quality.get_by_role("heading", name="Before you buy")).to_be_visible()
    expect(quality).to_contain_text("Duplicates")
    expect(quality.locator(".quality-figure").filter(has_text="Duplicates")).to_contain_text(
        "11.7%"
    )
    expect(quality.locator(".quality-figure").filter(has_text="Personal data")).to_contain_text(
        "5%"
    )
    expect(quality.locator(".quality-figure").filter(has_text="Agreement")).to_contain_text(
        "\N{GREEK SMALL LETTER ALPHA} 0.78"
    )
    expect(quality.locator(".quality-card__schema").get_by_role("rowheader")).to_have_text(
        ["text", "channel", "label"]
    )
    versions = page.locator("#versions")
    expect(versions).to_contain_text("No version has been published yet.")
    screenshot(page, "release-dataset-before")

    versions.get_by_label("Release notes").fill("First public cut of the tickets.")
    versions.get_by_role("button", name="Publish a version").click()

    expect(page.get_by_role("status").filter(has_text="v1 is being built")).to_be_visible()
    versions = page.locator("#versions")
    row = versions.get_by_role("row").filter(has_text="v1")
    expect(row).to_contain_text("Building 0%")
    expect(versions.get_by_role("button", name="Publish a version")).to_be_disabled()
    release = DatasetRelease.objects.get(dataset=dataset)
    assert no_enqueue == [release.pk]
    assert release.status == "building"
    top(page)
    screenshot(page, "release-building")

    assert release_build(release_id=release.pk) == "ready"
    release.refresh_from_db()

    # htmx polls every 2 s and swaps the list in: no reload.
    expect(row.get_by_text("Ready")).to_be_visible(timeout=8_000)
    expect(row).to_contain_text(release.content_hash[:12])
    expect(versions.get_by_role("button", name="Publish a version")).to_be_enabled()
    top(page)
    screenshot(page, "release-ready")

    row.get_by_role("link", name="v1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Support ticket intents v1")
    expect(page.locator(".release-hash")).to_contain_text(release.content_hash)
    files = page.locator(".release-files")
    expect(files.locator(".release-files__name")).to_have_text(
        ["README.md", "data/train-00000-of-00001.parquet"]
    )
    shard = release.files.get(name="data/train-00000-of-00001.parquet")
    expect(files.get_by_role("row").filter(has_text="train-00000")).to_contain_text(shard.sha256)
    expect(page.get_by_text("First public cut of the tickets.").first).to_be_visible()
    card = page.locator(".release-card")
    expect(card.get_by_role("heading", name="Quality")).to_be_visible()
    expect(card).to_contain_text("rejected for personal data")
    expect(page.locator(".release-yaml__body")).to_be_hidden()
    page.get_by_text("YAML metadata").click()
    # No license tier existed when v1 was built: the card says so rather than "other".
    expect(page.locator(".release-yaml__body")).to_contain_text("license: unknown")
    expect(page.locator(".release-yaml__body")).to_contain_text("class_label")
    top(page)  # the sticky header would sit mid-page in a full-page shot
    screenshot(page, "release-detail")


@pytest.mark.usefixtures("no_enqueue")
def test_release_page_follows_a_build_and_reads_on_a_phone(
    new_page: Callable[..., Page],
    sign_in: Callable[..., None],
    dataset: Any,
    screenshot: Callable[..., Path],
) -> None:
    from datasets_app.services.releases import release_publish

    release = release_publish(dataset=dataset, actor=dataset.owner, notes="Phone check.")
    page = new_page(viewport=MOBILE, is_mobile=True, has_touch=True, device_scale_factor=2)
    sign_in(page, dataset.owner)

    page.goto(f"/datasets/{dataset.slug}/versions/1/")
    expect(page.locator("#release-status")).to_contain_text("Building v1")
    top(page)
    screenshot(page, "release-detail-building-mobile")

    release_build(release_id=release.pk)
    # The status block polls; when the build is over the page reloads with files and card.
    expect(page.locator(".release-files")).to_be_visible(timeout=8_000)
    expect(page.locator("#release-status")).to_have_count(0)
    assert no_horizontal_scroll(page)
    top(page)
    screenshot(page, "release-detail-mobile")

    page.goto(f"/datasets/{dataset.slug}/")
    expect(page.locator("#quality")).to_be_visible()
    expect(page.locator("#versions").get_by_role("row").filter(has_text="v1")).to_contain_text(
        "Ready"
    )
    assert no_horizontal_scroll(page)
    top(page)
    screenshot(page, "release-dataset-mobile")


def test_release_page_shows_what_each_column_holds_as_charts(
    page: Page,
    dataset: Any,
    screenshot: Callable[..., Path],
) -> None:
    """A visitor reads a version's contents: rows, labelled share, agreement and the tier's
    license up top, then per column its type, missing values and a chart (text lengths, class
    balance) with the same numbers in a table."""
    from datasets_app.services.releases import release_publish
    from payments.services.licenses import license_tier_create

    license_tier_create(dataset=dataset, actor=dataset.owner, name="Open", spdx_id="CC-BY-4.0")
    release = release_publish(dataset=dataset, actor=dataset.owner, notes="With statistics.")
    assert release_build(release_id=release.pk) == "ready"

    page.emulate_media(reduced_motion="reduce")  # charts drawn at once, not grown: still shots
    page.goto(f"/datasets/{dataset.slug}/versions/1/")
    facts = page.locator(".report-facts")
    expect(facts.locator("[data-fact=labelled]")).to_have_text("5 (83.3%)")
    expect(facts.locator("[data-fact=agreement]")).to_have_text("\N{GREEK SMALL LETTER ALPHA} 0.78")
    expect(facts.locator("[data-fact=licenses]")).to_have_text("cc-by-4.0")

    stats = page.locator("#column-statistics")
    expect(stats.get_by_role("heading", name="What each column holds")).to_be_visible()
    expect(stats.locator(".column-stat__name")).to_have_text(["text", "channel", "label"])
    # Chart.js drew every chart (text, channel and label columns) into its canvas.
    expect(stats.locator(".column-stat__chart.is-ready")).to_have_count(3)
    label = stats.locator(".column-stat--label")
    expect(label.locator(".column-stat__facts dd").first).to_have_text("5 (83.3%)")
    expect(label.get_by_role("img")).to_have_attribute(
        "aria-label", re.compile("Class balance of the consensus labels of column label")
    )
    label.get_by_text("Class balance as a table").click()
    rows = label.get_by_role("table").get_by_role("row")
    expect(rows.filter(has_text="billing")).to_contain_text("2")
    expect(rows.filter(has_text="shipping")).to_contain_text("2")
    expect(rows.filter(has_text="returns")).to_contain_text("1")
    top(page)
    screenshot(page, "release-column-statistics")

    page.goto(f"/datasets/{dataset.slug}/")
    latest = page.locator("#column-statistics")
    expect(latest.get_by_role("heading", name="Columns of the latest version")).to_be_visible()
    expect(latest.locator(".column-stat__chart.is-ready")).to_have_count(3)
    # One agreement figure on the page: the quality card's.
    expect(page.get_by_text(re.compile("\N{GREEK SMALL LETTER ALPHA} \\d"))).to_have_count(1)
    top(page)
    screenshot(page, "dataset-latest-column-statistics")


@pytest.mark.usefixtures("no_enqueue")
def test_publishing_with_too_few_labels_asks_to_confirm_first(
    page: Page,
    sign_in: Callable[..., None],
    dataset: Any,
    screenshot: Callable[..., Path],
) -> None:
    dataset.min_labelled_share = 0.9  # 5 of 6 rows are labelled
    dataset.save()
    sign_in(page, dataset.owner)
    page.goto(f"/datasets/{dataset.slug}/")
    versions = page.locator("#versions")
    expect(versions.get_by_role("note")).to_contain_text("Only 5 of 6 rows (83.3%)")
    confirm = versions.get_by_label("Publish it anyway, with 83.3% of rows labelled")
    expect(confirm).not_to_be_checked()
    versions.get_by_role("button", name="Publish a version").click()
    # The browser holds the form back until the box is ticked (the server refuses it too).
    assert DatasetRelease.objects.count() == 0
    versions.scroll_into_view_if_needed()
    top(page)
    screenshot(page, "release-publish-confirm")

    confirm.check()
    versions.get_by_role("button", name="Publish a version").click()
    expect(page.get_by_role("status").filter(has_text="v1 is being built")).to_be_visible()
    assert DatasetRelease.objects.get(dataset=dataset).status == "building"
