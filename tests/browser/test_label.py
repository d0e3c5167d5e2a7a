"""Labeling in a real browser: the queue driven through the API with keys and buttons, undo,
skip, the "labelled today" counter, the done state, and each label task's controls."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from datasets_app.models import Item, Label, LabelReservation, LabelSkip
from tests.browser.conftest import MOBILE, PageLog, assert_accessible_in_the_dark
from tests.browser.helpers import no_horizontal_scroll
from tests.factories import DatasetFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.browser

REVIEWS = [
    "Exactly what I needed, and it arrived a day early.",
    "Battery died after two days. Returned it.",
    "It arrived on Tuesday.",
    "The strap broke in a week, but support replaced it without any fuss.",
    "Too small for my hands.",
]


@pytest.fixture(autouse=True)
def _no_gold(settings: Any) -> None:
    settings.LABEL_GOLD_RATE = 0  # the queue hands out items in order:
    settings.LABEL_QUEUE_SPREAD = 1  # no gold, and strictly the oldest first


@pytest.fixture
def labeler(db: Any) -> Any:
    return UserFactory.create(display_name="Alan Turing")


@pytest.fixture
def dataset(db: Any) -> Any:
    dataset = DatasetFactory.create(
        title="Product review sentiment",
        slug="review-sentiment",
        guidelines=(
            "Label the **overall** sentiment of the review.\n\n"
            "- *positive*: the reviewer is happy with the product\n"
            "- *negative*: unhappy, or returned it\n"
            "- *neutral*: facts only (delivery dates, sizes)"
        ),
    )
    for text in REVIEWS:
        ItemFactory.create(dataset=dataset, data={"text": text})
    return dataset


def items(dataset: Any) -> list[Item]:
    return list(Item.objects.filter(dataset=dataset).order_by("id"))


def test_labeling_with_keys_and_buttons_undo_skip_and_done(
    page: Page,
    sign_in: Callable[..., None],
    labeler: Any,
    dataset: Any,
    screenshot: Callable[..., Path],
) -> None:
    first, second, third, fourth, fifth = items(dataset)
    sign_in(page, labeler)
    page.goto(f"/datasets/{dataset.slug}/label/")

    item = page.locator("[data-item-panel]")
    counter = page.locator(".labeler-counter [data-today-count]")
    live = page.locator("[data-live]")
    expect(page.get_by_role("heading", level=1)).to_have_text("Label items")
    expect(item).to_contain_text(REVIEWS[0])
    expect(page.locator("#item-title")).to_have_text(f"Item {first.pk}")
    expect(counter).to_have_text("0")
    guidelines = page.locator("details.guidelines")
    expect(guidelines).to_have_attribute("open", "")  # open on a first visit
    expect(guidelines.locator("strong")).to_have_text("overall")
    choices = page.get_by_role("group", name="Pick one class").get_by_role("button")
    expect(choices).to_have_text(
        [re.compile(r"1\s*negative"), re.compile(r"2\s*neutral"), re.compile(r"3\s*positive")]
    )
    expect(page.get_by_role("button", name="Undo")).to_be_disabled()
    screenshot(page, "label")
    assert_accessible_in_the_dark(page)

    page.keyboard.press("3")  # positive
    expect(item).to_contain_text(REVIEWS[1])
    expect(counter).to_have_text("1")
    expect(live).to_have_text(
        f"Labelled item {first.pk} “positive”. 1 today. Item {second.pk} is ready to label."
    )

    page.get_by_role("button", name="negative").click()
    expect(item).to_contain_text(REVIEWS[2])
    expect(counter).to_have_text("2")

    page.keyboard.press("2")  # neutral
    expect(item).to_contain_text(REVIEWS[3])
    expect(counter).to_have_text("3")

    # Undo gives the last item back, showing what was chosen before.
    page.keyboard.press("u")
    expect(item).to_contain_text(REVIEWS[2])
    expect(page.locator("[data-item-badge]")).to_have_text("Back from undo")
    expect(page.get_by_role("button", name="neutral")).to_have_class(re.compile("is-previous"))
    expect(counter).to_have_text("2")
    expect(live).to_contain_text(f"Undone. Item {third.pk} is back: you had labelled it “neutral”.")
    screenshot(page, "label-undo")
    page.get_by_role("button", name="positive").click()
    expect(item).to_contain_text(REVIEWS[3])
    expect(counter).to_have_text("3")

    page.get_by_role("button", name="Skip").click()
    expect(item).to_contain_text(REVIEWS[4])
    expect(live).to_contain_text(f"Skipped item {fourth.pk}.")
    expect(counter).to_have_text("3")

    page.keyboard.press("1")  # negative: the last item
    done = page.locator("[data-done]")
    expect(done.get_by_role("heading", name="You\u2019re all caught up")).to_be_visible()
    expect(done).to_contain_text("you labelled 4 today")
    expect(counter).to_have_text("4")
    expect(done.get_by_role("link", name="Find another dataset")).to_have_attribute("href", "/")
    expect(done.get_by_role("link", name="Your labels")).to_have_attribute("href", "/me/labels/")
    expect(item).to_be_hidden()
    screenshot(page, "label-done")

    labels = {label.item_id: label.value for label in Label.objects.filter(labeler=labeler)}
    assert labels == {
        first.pk: "positive",
        second.pk: "negative",
        third.pk: "positive",
        fifth.pk: "negative",
    }
    assert list(LabelSkip.objects.filter(labeler=labeler).values_list("item", flat=True)) == [
        fourth.pk
    ]
    assert not LabelReservation.objects.filter(labeler=labeler).exists()

    # Coming back later: the counter starts from today's labels and the queue is still empty.
    page.reload()
    expect(counter).to_have_text("4")
    expect(done).to_be_visible()
    expect(page.locator("details.guidelines")).not_to_have_attribute("open", "")

    # The labels page lists them, newest first.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My labels").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your labels")
    rows = page.locator(".labels-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text(REVIEWS[4])
    expect(rows.first).to_contain_text("negative")
    expect(page.locator(".stat").filter(has_text="Today").locator(".stat__value")).to_have_text("4")
    screenshot(page, "my-labels")


def test_multi_label_and_free_text_controls(
    page: Page,
    sign_in: Callable[..., None],
    labeler: Any,
    page_log: PageLog,
    screenshot: Callable[..., Path],
) -> None:
    topics = DatasetFactory.create(
        title="News topics",
        slug="news-topics",
        label_task="multi_label",
        label_classes=["politics", "sport", "business", "science"],
        guidelines="",
    )
    ItemFactory.create(dataset=topics, data={"text": "The club's new stadium is funded by a bond."})
    ItemFactory.create(dataset=topics, data={"text": "A quiet day at the observatory."})
    sign_in(page, labeler)
    page.goto(f"/datasets/{topics.slug}/label/")

    expect(page.locator("details.guidelines")).to_have_count(0)
    expect(page.locator("[data-item-panel]")).to_contain_text("new stadium")
    # Enter with nothing ticked explains itself; no request is made.
    page.keyboard.press("Enter")
    expect(page.locator("[data-label-error]")).to_have_text(
        "Tick at least one class, or skip the item."
    )
    page.keyboard.press("2")
    page.keyboard.press("3")
    page.keyboard.press("1")
    page.keyboard.press("1")  # toggles politics off again
    expect(page.get_by_role("checkbox", name="sport")).to_be_checked()
    expect(page.get_by_role("checkbox", name="business")).to_be_checked()
    expect(page.get_by_role("checkbox", name="politics")).not_to_be_checked()
    expect(page.locator("[data-label-error]")).to_be_hidden()
    screenshot(page, "label-multi")
    page.keyboard.press("Enter")
    expect(page.locator("[data-item-panel]")).to_contain_text("observatory")
    assert Label.objects.get(labeler=labeler).value == ["sport", "business"]

    # A label the server refuses shows its reason inline (here: the reservation lapsed).
    LabelReservation.objects.filter(labeler=labeler).delete()
    page_log.expect_status(400, "/labels/", "the server refuses the label")
    page.get_by_role("checkbox", name="science").check()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("[data-label-error]")).to_have_text(
        "This item is not reserved for you (it may have expired): take the next one."
    )
    expect(page.locator(".labeler-counter [data-today-count]")).to_have_text("1")

    captions = DatasetFactory.create(
        title="Photo captions", slug="photo-captions", label_task="free_text", label_classes=[]
    )
    ItemFactory.create(dataset=captions, data={"text": "A dog catching a frisbee in a park."})
    page.goto(f"/datasets/{captions.slug}/label/")
    box = page.get_by_label("Your label")
    expect(box).to_be_focused()
    box.fill("A dog leaps for a red frisbee")
    expect(page.locator("[data-text-count]")).to_have_text("29 / 2000")
    screenshot(page, "label-free-text")
    page.keyboard.press("Control+Enter")
    expect(page.locator("[data-done]")).to_be_visible()
    assert Label.objects.get(dataset=captions).value == "A dog leaps for a red frisbee"


def test_labeling_fits_a_phone(
    mobile_page: Page,
    sign_in: Callable[..., None],
    labeler: Any,
    dataset: Any,
    screenshot: Callable[..., Path],
) -> None:
    sign_in(mobile_page, labeler)
    mobile_page.goto(f"/datasets/{dataset.slug}/label/")
    expect(mobile_page.locator("[data-item-panel]")).to_contain_text(REVIEWS[0])
    mobile_page.set_viewport_size(MOBILE)
    assert no_horizontal_scroll(mobile_page)
    screenshot(mobile_page, "label-mobile")
