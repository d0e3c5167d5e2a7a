"""Datasets in a real browser: creating one through the form, the catalogue's search, filters
and pages, and a dataset page with its chart, stats and sample rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from datasets_app.models import Dataset, Item, Label
from tests.browser.conftest import MOBILE, assert_accessible_in_the_dark
from tests.browser.helpers import no_horizontal_scroll
from tests.factories import DatasetFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.browser


# Chart.js animates its first draw; screenshots wait until the bars stand where they belong.
CHART_SETTLED = """() => {
    const chart = Chart.getChart(document.getElementById('labels-chart'));
    if (!chart || Chart.animator.running(chart)) return false;
    return chart.getDatasetMeta(0).data.every(
        (bar, i) => Math.abs(bar.x - chart.scales.x.getPixelForValue(i)) < 1);
}"""


def stat(page: Page, name: str) -> Locator:
    """The stat tile whose label is exactly ``name``."""
    label = page.locator(".stat__label", has_text=re.compile(f"^{re.escape(name)}$"))
    return page.locator(".stat").filter(has=label)


@pytest.fixture
def owner(db: Any) -> Any:
    return UserFactory.create(display_name="Grace Hopper")


@pytest.fixture
def signed_in_as_owner(page: Page, sign_in: Callable[..., None], owner: Any) -> None:
    """The test's page signed in as the owner."""
    sign_in(page, owner)


def fill_dataset_form(page: Page, **values: str) -> None:
    for label, value in values.items():
        field = page.get_by_label(label, exact=label == "Title")
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


@pytest.mark.usefixtures("signed_in_as_owner")
def test_creating_a_dataset_through_the_form_opens_its_page(
    page: Page, owner: Any, screenshot: Callable[..., Path]
) -> None:
    page.goto("/")
    page.get_by_role("link", name="Create a dataset").first.click()

    expect(page).to_have_url(re.compile(r"/datasets/new/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Create a dataset")
    expect(page.get_by_label("Labels per item")).to_have_value("3")
    expect(page.get_by_label("Accept contributions")).to_be_checked()
    screenshot(page, "dataset-form")

    fill_dataset_form(
        page,
        Title="Support ticket intents",
        Description="Customer support messages with the intent behind them.",
        Status="open",
        Modality="text",
        Columns="text:string\nchannel:string",
        **{"Label task": "single_label", "Label classes": "billing\nshipping\nreturns"},
    )
    page.get_by_label("Labels per item").fill("2")
    page.get_by_label("Guidelines").fill(
        "- Pick **billing** for payments.\n- Pick the main intent."
    )
    page.get_by_label("Dataset card").fill("## Where it comes from\n\nAnonymised support tickets.")
    page.get_by_role("button", name="Create dataset").click()

    expect(page).to_have_url(re.compile(r"/datasets/support-ticket-intents/$"))
    expect(page.get_by_role("status").filter(has_text="created")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Support ticket intents")
    expect(page.get_by_role("list", name="Classes").get_by_role("listitem")).to_have_text(
        ["billing", "shipping", "returns"]
    )
    schema = page.locator(".schema-table")
    expect(schema.get_by_role("rowheader")).to_have_text(["text", "channel"])
    # The card's "## Where it comes from" sits under the page's own headings: an <h3>.
    expect(page.locator(".prose h3")).to_have_text("Where it comes from")
    expect(page.locator(".prose strong").first).to_have_text("billing")
    expect(page.locator("#chart-empty")).to_contain_text("No labels in the last 30 days")
    expect(page.locator("#viewer-empty")).to_contain_text("No rows yet")
    expect(page.get_by_role("link", name="Contribute data")).to_be_visible()
    expect(page.get_by_role("link", name="Label items")).to_be_visible()
    expect(page.get_by_role("link", name="Edit dataset")).to_be_visible()

    dataset = Dataset.objects.get(slug="support-ticket-intents")
    assert dataset.owner == owner
    assert dataset.columns == [
        {"name": "text", "dtype": "string"},
        {"name": "channel", "dtype": "string"},
    ]
    assert dataset.label_classes == ["billing", "shipping", "returns"]
    assert (dataset.labels_per_item, dataset.status) == (2, "open")
    screenshot(page, "dataset-detail-new")

    # The owner edits it; the form comes back filled in.
    page.get_by_role("link", name="Edit dataset").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit dataset")
    expect(page.get_by_label("Columns")).to_have_value("text:string\nchannel:string")
    page.get_by_label("Title", exact=True).fill("Support ticket intents (EN)")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Support ticket intents (EN)")
    expect(page.get_by_role("status").filter(has_text="Dataset saved.")).to_be_visible()


@pytest.mark.usefixtures("signed_in_as_owner")
def test_bad_form_input_shows_errors_beside_the_fields(
    page: Page, screenshot: Callable[..., Path]
) -> None:
    page.goto("/datasets/new/")

    fill_dataset_form(
        page,
        Title="",
        Description="Photos of road signs.",
        Modality="text",
        Columns="text string",
    )
    page.get_by_label("Labels per item").fill("40")
    page.get_by_role("button", name="Create dataset").click()

    summary = page.locator("#form-error-summary")
    expect(summary).to_contain_text("Please fix the 3 fields marked below.")
    title = page.get_by_label("Title", exact=True)
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(title).to_have_accessible_description(re.compile("This field is required"))
    columns = page.get_by_label("Columns")
    expect(columns).to_have_attribute("aria-invalid", "true")
    expect(columns).to_have_accessible_description(re.compile(r"Line 1: write it as name:type\."))
    expect(columns).to_have_value("text string")  # what was typed is kept
    expect(page.get_by_label("Labels per item")).to_have_accessible_description(
        re.compile("less than or equal to 15")
    )
    expect(page.get_by_label("Description")).not_to_have_attribute("aria-invalid", "true")
    screenshot(page, "dataset-form-errors")

    # The form is fine, the service is not: an unknown column type comes back beside Columns.
    fill_dataset_form(page, Title="Road signs", Columns="image:picture")
    page.get_by_label("Labels per item").fill("3")
    page.get_by_role("button", name="Create dataset").click()
    columns = page.get_by_label("Columns")
    expect(columns).to_have_attribute("aria-invalid", "true")
    expect(columns).to_have_accessible_description(re.compile("type 'picture' is not one of"))
    expect(page.get_by_label("Title", exact=True)).to_have_value("Road signs")
    assert not Dataset.objects.exists()

    # Classes are hidden for free-text tasks (nothing to fill in there).
    page.get_by_label("Label task").select_option("free_text")
    expect(page.get_by_label("Label classes")).to_be_hidden()
    page.get_by_label("Label task").select_option("multi_label")
    expect(page.get_by_label("Label classes")).to_be_visible()


def test_catalogue_searches_filters_and_pages(
    page: Page, screenshot: Callable[..., Path], owner: Any
) -> None:
    for n in range(13):
        DatasetFactory.create(
            owner=owner,
            title=f"Product reviews {n:02d}",
            items_count=1000 + n,
            labels_count=2 * n,
        )
    DatasetFactory.create(
        title="Bird calls",
        description="Transcripts of bird calls recorded at dawn.",
        modality="tabular",
        columns=[{"name": "species", "dtype": "string"}, {"name": "seconds", "dtype": "float64"}],
        label_task="multi_label",
    )
    DatasetFactory.create(
        title="Road signs",
        description="Traffic sign photos from three countries.",
        modality="image",
        columns=[{"name": "image", "dtype": "image"}],
        status="closed",
    )
    DatasetFactory.create(title="Secret draft", status="draft")

    page.goto("/")

    results = page.locator("#dataset-results")
    cards = results.locator(".dataset-card")
    expect(results).to_contain_text("15 datasets in the catalogue")
    expect(cards).to_have_count(12)
    expect(results).not_to_contain_text("Secret draft")
    first = cards.first
    expect(first.get_by_role("link")).to_have_text("Road signs")  # newest first
    expect(first).to_contain_text("Closed")
    expect(first).to_contain_text("Image")
    expect(page.get_by_role("link", name="Create a dataset")).to_have_count(0)  # not signed in
    pages = page.get_by_role("navigation", name="Catalogue pages")
    expect(pages).to_contain_text("Page 1 of 2")
    screenshot(page, "catalogue")

    hero = page.locator(".hero")
    expect(hero).to_be_visible()
    expect(hero).to_contain_text("Across the catalogue now:")  # the datasets' real counts
    pages.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"\?page=2"))
    expect(cards).to_have_count(3)
    expect(pages).to_contain_text("Page 2 of 2")
    # The hero is the front door's only: later pages lead with the catalogue's own heading.
    expect(hero).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_have_text("Datasets")

    # Typing searches (htmx swaps the results; the URL follows).
    page.get_by_role("searchbox", name="Search datasets").fill("bird")
    expect(cards).to_have_count(1)
    expect(cards.first.get_by_role("link")).to_have_text("Bird calls")
    expect(cards.first).to_contain_text("Multi-label classification")
    expect(results).to_contain_text("1 dataset matches “bird”")
    expect(page).to_have_url(re.compile(r"q=bird"))
    screenshot(page, "catalogue-search")

    page.get_by_role("searchbox", name="Search datasets").fill("")
    page.get_by_label("Modality").select_option("image")
    expect(cards).to_have_count(1)
    expect(cards.first.get_by_role("link")).to_have_text("Road signs")

    page.get_by_label("Label task").select_option("free_text")
    empty = page.locator("#catalogue-no-match")
    expect(empty.get_by_role("heading", name="No datasets match")).to_be_visible()
    screenshot(page, "catalogue-no-match")
    expect(hero).to_have_count(0)
    empty.get_by_role("link", name="Clear filters").click()
    expect(cards).to_have_count(12)
    expect(hero).to_be_visible()
    expect(page.get_by_label("Modality")).to_have_value("")

    # Filters and pages combine, and the querystring survives paging; sorting works too.
    page.goto("/?modality=text&order=items")
    expect(results).to_contain_text("13 datasets match")
    expect(cards.first.get_by_role("link")).to_have_text("Product reviews 12")
    page.get_by_role("navigation", name="Catalogue pages").get_by_role(
        "link", name="Next page"
    ).click()
    expect(page).to_have_url(re.compile(r"modality=text&order=items&page=2"))
    expect(cards).to_have_count(1)
    expect(cards.first.get_by_role("link")).to_have_text("Product reviews 00")

    cards.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Product reviews 00")


def test_catalogue_fits_a_phone(
    mobile_page: Page, screenshot: Callable[..., Path], owner: Any
) -> None:
    DatasetFactory.create_batch(3, owner=owner)
    mobile_page.goto("/")
    expect(mobile_page.locator(".dataset-card")).to_have_count(3)
    assert no_horizontal_scroll(mobile_page)
    screenshot(mobile_page, "catalogue-mobile")


def labelled_dataset(owner: Any) -> Dataset:
    """A dataset with ten items and labels spread over the last few days."""
    dataset = DatasetFactory.create(
        owner=owner,
        title="Product review sentiment",
        description="Short product reviews, each labelled positive, neutral or negative.",
        columns=[{"name": "text", "dtype": "string"}, {"name": "stars", "dtype": "int64"}],
        labels_per_item=2,
        guidelines="Label the **overall** sentiment of the review.",
        card_markdown="# Product review sentiment\n\n| split | rows |\n|---|---|\n| train | 10 |",
    )
    reviews = [
        "Battery died after two days.",
        "Exactly what I needed, fast.",
        "It arrived on Tuesday.",
        "The strap broke in a week but support replaced it without any fuss.",
        "Five stars, would buy again.",
        "Too small for my hands.",
        "Works as described.",
        "The box was damaged.",
        "Lovely colour, awful smell.",
        "Not worth the money.",
    ]
    items = [
        ItemFactory.create(dataset=dataset, data={"text": text, "stars": (n % 5) + 1})
        for n, text in enumerate(reviews)
    ]
    labelers = UserFactory.create_batch(2)
    now = timezone.now()
    per_day = {0: 4, 1: 2, 3: 6, 6: 3}  # days ago → labels
    made = 0
    for days_ago, count in per_day.items():
        for n in range(count):
            item = items[(made // 2) % len(items)]
            labeler = labelers[made % 2]
            value = "positive" if (made // 2) % 3 else "negative"
            label = Label.objects.create(item=item, labeler=labeler, dataset=dataset, value=value)
            Label.objects.filter(pk=label.pk).update(
                created_at=now - timedelta(days=days_ago, minutes=n)
            )
            made += 1
    for item in items:
        count = item.labels.count()
        Item.objects.filter(pk=item.pk).update(labels_count=count, slots_open=2 - count)
    Dataset.objects.filter(pk=dataset.pk).update(items_count=len(items), labels_count=made)
    return dataset


def test_a_labelled_dataset_shows_its_chart_stats_and_sample(
    page: Page, screenshot: Callable[..., Path], owner: Any
) -> None:
    dataset = labelled_dataset(owner)

    page.goto(f"/datasets/{dataset.slug}/")

    # The card's own "# Title" renders as a second h1 inside the card section.
    expect(page.get_by_role("heading", level=1).first).to_have_text("Product review sentiment")
    expect(stat(page, "Rows").locator(".stat__value")).to_have_text("10")
    expect(stat(page, "Labels").locator(".stat__value")).to_have_text("15")
    expect(stat(page, "Labels")).to_contain_text("by 2 labelers")
    expect(stat(page, "Fully labelled")).to_contain_text("70% of rows have 2 labels")

    canvas = page.locator("#labels-chart")
    expect(canvas).to_be_visible()
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('labels-chart'))"
    )
    drawn = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.getElementById('labels-chart'));
            const data = chart.data.datasets[0].data;
            return {total: data.reduce((a, b) => a + b, 0), days: data.length,
                    max: Math.max(...data), width: chart.width, height: chart.height};
        }"""
    )
    assert drawn["total"] == 15 and drawn["max"] == 6
    assert drawn["days"] == 7  # six days back to today, quiet days as zeros
    assert drawn["width"] > 300 and drawn["height"] > 150
    # The canvas really holds pixels, and says what it shows.
    painted = page.evaluate(
        """() => {
            const c = document.getElementById('labels-chart');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            return n;
        }"""
    )
    assert painted > 1000
    expect(canvas).to_have_attribute("aria-label", re.compile(r"15 labels in all, at most 6"))
    page.get_by_text("Show as a table").click()
    expect(page.locator(".chart-table tbody tr")).to_have_count(4)

    sample = page.locator("#viewer-table")
    expect(sample.locator("thead th")).to_have_text(
        ["Id", "text", "stars", "Label", "Agreement", "Flags"]
    )
    expect(sample.locator("tbody tr")).to_have_count(10)
    expect(sample.locator("tbody tr").first).to_contain_text("Battery died after two days.")
    expect(page.locator(".prose table td").first).to_have_text("train")
    expect(page.get_by_role("link", name="Edit dataset")).to_have_count(0)  # not the owner
    page.wait_for_function(CHART_SETTLED)
    screenshot(page, "dataset-detail")
    assert_accessible_in_the_dark(page)

    page.set_viewport_size(MOBILE)
    assert no_horizontal_scroll(page)
    page.wait_for_timeout(100)  # Chart.js redraws for the new size
    page.wait_for_function(CHART_SETTLED)
    screenshot(page, "dataset-detail-mobile")
