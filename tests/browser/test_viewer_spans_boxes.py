"""The row viewer of spans and boxes datasets (issue 16), in a real browser: consensus spans are
marked over the text at their offsets (code points) with their class written after each, boxes
are drawn over the image scaled from original pixels, on the dataset page and on a release's page
(read back from its Parquet files), at desktop and phone widths."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from datasets_app.models import Dataset, DatasetRelease, Item
from datasets_app.services.releases import release_build
from tests.browser.conftest import assert_accessible_in_the_dark, dark_palette
from tests.factories import DatasetFactory, ItemFactory

pytestmark = pytest.mark.browser

TEXTS = [
    "Ada Lovelace met Charles Babbage in London.",
    "Zoë joined ACME in São Paulo.",  # offsets count code points
    "The New York Times reported it.",  # overlapping spans (ORG over LOC)
    "Nothing to see here.",
    "Not decided yet.",
]
SPANS: list[Any] = [
    [
        {"start": 0, "end": 12, "label": "PER"},
        {"start": 17, "end": 32, "label": "PER"},
        {"start": 36, "end": 42, "label": "LOC"},
    ],
    [{"start": 11, "end": 15, "label": "ORG"}, {"start": 19, "end": 28, "label": "LOC"}],
    [{"start": 4, "end": 12, "label": "LOC"}, {"start": 4, "end": 18, "label": "ORG"}],
    [],
    None,
]
SIZE = (400, 200)  # the original images' pixels; thumbnails are 256 wide
BOXES: list[Any] = [
    [
        {"x": 40, "y": 20, "w": 120, "h": 80, "label": "car"},
        {"x": 250, "y": 100, "w": 100, "h": 90, "label": "person"},
    ],
    [{"x": 0, "y": 0, "w": 400, "h": 200, "label": "person"}],
    [],
]


def _decided(label: Any) -> dict[str, Any]:
    now = timezone.now()
    return {
        "consensus_label": label,
        "consensus_at": None if label is None else now,
        "labels_count": 0 if label is None else 3,
    }


@pytest.fixture
def spans_dataset(db: Any) -> Dataset:
    dataset = DatasetFactory.create(
        title="News entities",
        slug="news-entities",
        label_task="spans",
        label_classes=["PER", "LOC", "ORG"],
        spans_allow_overlap=True,
        columns=[{"name": "id", "dtype": "int64"}, {"name": "text", "dtype": "string"}],
        preview_rows=10,
    )
    for n, (text, spans) in enumerate(zip(TEXTS, SPANS, strict=True)):
        ItemFactory.create(dataset=dataset, data={"id": n, "text": text}, **_decided(spans))
    Dataset.objects.filter(pk=dataset.pk).update(items_count=dataset.items.count())
    return dataset


@pytest.fixture
def boxes_dataset(db: Any) -> Dataset:
    """Each image has the consensus boxes painted into it (outlines), so a screenshot shows
    whether the drawn boxes sit on them."""
    dataset = DatasetFactory.create(
        title="Street objects",
        slug="street-objects",
        modality="image",
        label_task="boxes",
        label_classes=["car", "person"],
        columns=[{"name": "image", "dtype": "image"}, {"name": "city", "dtype": "string"}],
        preview_rows=10,
    )
    for n, boxes in enumerate(BOXES):
        image = Image.new("RGB", SIZE, "#dfe7ef")
        draw = ImageDraw.Draw(image)
        for box in boxes:
            x, y, w, h = box["x"], box["y"], box["w"], box["h"]
            draw.rectangle((x, y, x + w - 1, y + h - 1), outline="#c2410c", width=3)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        path = default_storage.save(f"items/street-{n}.png", ContentFile(buffer.getvalue()))
        value = {
            "path": path,
            "thumbnail": path,
            "file_name": f"street-{n}.png",
            "width": SIZE[0],
            "height": SIZE[1],
            "format": "png",
        }
        data = {"image": value, "city": f"City {n}"}
        ItemFactory.create(dataset=dataset, data=data, **_decided(boxes))
    Dataset.objects.filter(pk=dataset.pk).update(items_count=dataset.items.count())
    return dataset


# Each mark's code-point offsets in its text, the class tags left out of the count.
MARK_OFFSETS = """box => {
  const out = [];
  let at = 0;
  const walk = node => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) { at += Array.from(child.textContent).length; }
      else if (child.classList.contains('ann-tag')) { continue; }
      else if (child.classList.contains('ann-mark')) {
        const length = Array.from(child.textContent).length;
        out.push([at, at + length, child.getAttribute('data-ann-spans')]);
        at += length;
      } else { walk(child); }
    }
  };
  walk(box);
  return out;
}"""

# Each drawn box's position over its image, as fractions of the image's width and height.
BOX_PLACES = """figure => {
  const image = figure.querySelector('.ann-image').getBoundingClientRect();
  return [...figure.querySelectorAll('.ann-box')].map(rect => {
    const r = rect.getBoundingClientRect();
    return [(r.left - image.left) / image.width, (r.top - image.top) / image.height,
            r.width / image.width, r.height / image.height];
  });
}"""


def rows(page: Page) -> Any:
    return page.locator("#viewer-table tbody tr")


def check_spans(page: Page) -> None:
    legend = page.locator("#viewer-legend")
    expect(legend.locator(".ann-legend__item")).to_have_text(["PER", "LOC", "ORG"])
    first = rows(page).nth(0).locator("[data-ann-text]")
    expect(first.locator(".ann-mark")).to_have_text(["Ada Lovelace", "Charles Babbage", "London"])
    expect(first.locator(".ann-tag")).to_have_text(["PER", "PER", "LOC"])
    assert first.evaluate(MARK_OFFSETS) == [[0, 12, "1"], [17, 32, "2"], [36, 42, "3"]]
    # The text itself is untouched: the marks' and plain runs' text is the row's text.
    assert (
        first.evaluate(
            "b => [...b.childNodes].filter(n => !n.classList || !n.classList.contains('ann-tag'))"
            ".map(n => n.textContent).join('')"
        )
        == (TEXTS[0])
    )
    label = rows(page).nth(0).locator(".row-viewer__label li")
    expect(label).to_have_count(3)
    expect(label.nth(1)).to_contain_text("PER")
    expect(label.nth(1).locator("[data-ann-quote]")).to_have_text("Charles Babbage")

    second = rows(page).nth(1).locator("[data-ann-text]")
    expect(second.locator(".ann-mark")).to_have_text(["ACME", "São Paulo"])
    assert second.evaluate(MARK_OFFSETS) == [[11, 15, "1"], [19, 28, "2"]]

    # Overlap: "New York" is under both spans, " Times" under ORG alone; both classes written.
    third = rows(page).nth(2).locator("[data-ann-text]")
    expect(third.locator(".ann-mark")).to_have_text(["New York", " Times"])
    assert third.evaluate(MARK_OFFSETS) == [[4, 12, "1 2"], [12, 18, "2"]]
    expect(third.locator(".ann-tag")).to_have_text(["LOC", "ORG"])
    # The innermost span (LOC) colours the piece; the outermost (ORG) adds a top rule.
    expect(third.locator(".ann-mark").first).to_have_class("ann-mark ann-c1 ann-mark--overlap")
    outer = "m => m.style.getPropertyValue('--ann-outer')"
    assert third.locator(".ann-mark").first.evaluate(outer) == "var(--ann-c2)"

    expect(rows(page).nth(3).locator(".row-viewer__label")).to_have_text("nothing marked")
    expect(rows(page).nth(3).locator(".ann-mark")).to_have_count(0)


def check_boxes(page: Page) -> None:
    expect(page.locator("#viewer-legend .ann-legend__item")).to_have_text(["car", "person"])
    figure = rows(page).nth(0).locator("[data-ann-figure]")
    expect(figure.locator(".ann-box")).to_have_count(2)
    expect(figure.locator(".ann-tag")).to_have_text(["1 car", "2 person"])
    page.wait_for_function(
        "() => [...document.querySelectorAll('.ann-image')].every(i => i.complete && "
        "i.naturalWidth > 0)"
    )
    expected = [
        (b["x"] / SIZE[0], b["y"] / SIZE[1], b["w"] / SIZE[0], b["h"] / SIZE[1]) for b in BOXES[0]
    ]
    for got, want in zip(figure.evaluate(BOX_PLACES), expected, strict=True):
        assert got == pytest.approx(want, abs=0.01), (got, want)
    # The image is shown at the original's aspect ratio, so the boxes are not distorted.
    ratio = figure.locator(".ann-image").evaluate(
        "i => i.getBoundingClientRect().width / i.getBoundingClientRect().height"
    )
    assert ratio == pytest.approx(SIZE[0] / SIZE[1], abs=0.03)
    # The tag sits at its box's top-left corner.
    tag, box = figure.locator(".ann-tag").nth(1), figure.locator(".ann-box").nth(1)
    tag_box, rect = tag.bounding_box(), box.bounding_box()
    assert tag_box and rect
    assert abs(tag_box["x"] - rect["x"]) < 2.5 and abs(tag_box["y"] - rect["y"]) < 2.5
    label = rows(page).nth(0).locator(".row-viewer__label li")
    expect(label).to_contain_text(["car", "person"])
    expect(label.nth(0)).to_contain_text("x 40, y 20, 120\u00d780 px")
    expect(label.nth(1)).to_contain_text("x 250, y 100, 100\u00d790 px")
    expect(rows(page).nth(1).locator(".ann-box")).to_have_count(1)
    expect(rows(page).nth(2).locator(".row-viewer__label")).to_have_text("nothing marked")


def shoot(page: Page, screenshot: Callable[..., Path], name: str) -> None:
    """The whole page (with its accessibility check) and the viewer alone, to look at."""
    path = screenshot(page, name)
    page.locator("#viewer").screenshot(path=str(path.with_name(f"{name}-rows.png")))


def test_spans_are_marked_and_boxes_drawn_on_the_dataset_pages(
    page: Page,
    screenshot: Callable[..., Path],
    spans_dataset: Dataset,
    boxes_dataset: Dataset,
) -> None:
    page.goto(f"/datasets/{spans_dataset.slug}/#viewer")
    check_spans(page)
    # Hovering a list entry outlines its mark, and only while it is hovered.
    entries = rows(page).nth(0).locator(".row-viewer__label li")
    marks = rows(page).nth(0).locator(".ann-mark")
    entries.nth(2).hover()
    expect(marks.nth(2)).to_have_class("ann-mark ann-c1 is-active")
    entries.nth(0).hover()
    expect(marks.nth(0)).to_have_class("ann-mark ann-c0 is-active")
    expect(marks.nth(2)).to_have_class("ann-mark ann-c1")
    # Filtering by class finds the rows holding a span of it (htmx swaps the viewer; the
    # script marks the swapped rows).
    page.get_by_label("Consensus label").select_option("ORG")
    expect(rows(page)).to_have_count(2)
    expect(rows(page).nth(1).locator(".ann-mark")).to_have_text(["New York", " Times"])
    page.goto(f"/datasets/{spans_dataset.slug}/#viewer")
    shoot(page, screenshot, "viewer-spans")
    with dark_palette(page):
        shoot(page, screenshot, "viewer-spans-dark")

    page.goto(f"/datasets/{boxes_dataset.slug}/#viewer")
    check_boxes(page)
    assert_accessible_in_the_dark(page)
    shoot(page, screenshot, "viewer-boxes")
    # Focusing a list entry outlines its box.
    rows(page).nth(0).locator(".row-viewer__label li").nth(1).focus()
    expect(rows(page).nth(0).locator(".ann-box").nth(1)).to_have_class("ann-box ann-c1 is-active")
    expect(rows(page).nth(0).locator(".ann-box").nth(0)).to_have_class("ann-box ann-c0")


def test_a_release_page_shows_the_spans_and_boxes_its_parquet_files_hold(
    page: Page,
    screenshot: Callable[..., Path],
    spans_dataset: Dataset,
    boxes_dataset: Dataset,
) -> None:
    for dataset in (spans_dataset, boxes_dataset):
        release = DatasetRelease.objects.create(dataset=dataset, number=1, created_by=dataset.owner)
        assert release_build(release_id=release.pk) == "ready"
    # The release holds the consensus as it was: a later change of the items does not show.
    Item.objects.filter(dataset=spans_dataset).update(consensus_label=[], labels_count=0)

    page.goto(f"/datasets/{spans_dataset.slug}/versions/1/")
    check_spans(page)
    shoot(page, screenshot, "viewer-spans-release")
    page.goto(f"/datasets/{boxes_dataset.slug}/versions/1/")
    check_boxes(page)
    shoot(page, screenshot, "viewer-boxes-release")


def test_spans_and_boxes_fit_a_phone(
    mobile_page: Page,
    screenshot: Callable[..., Path],
    spans_dataset: Dataset,
    boxes_dataset: Dataset,
) -> None:
    page = mobile_page
    page.goto(f"/datasets/{spans_dataset.slug}/#viewer")
    expect(rows(page).nth(0).locator(".ann-mark")).to_have_count(3)
    page.locator("#viewer-table").scroll_into_view_if_needed()
    screenshot(page, "viewer-spans-mobile", full_page=False)
    page.goto(f"/datasets/{boxes_dataset.slug}/#viewer")
    check_boxes(page)
    canvas = rows(page).nth(0).locator(".ann-canvas").bounding_box()
    assert canvas and canvas["width"] <= 390
    # Only the table scrolls sideways, never the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#viewer-table").scroll_into_view_if_needed()
    screenshot(page, "viewer-boxes-mobile", full_page=False)


def test_without_javascript_the_spans_are_listed_and_the_boxes_still_drawn(
    new_page: Callable[..., Page],
    screenshot: Callable[..., Path],
    spans_dataset: Dataset,
    boxes_dataset: Dataset,
) -> None:
    page = new_page(java_script_enabled=False)
    page.goto(f"/datasets/{spans_dataset.slug}/#viewer")
    expect(rows(page).nth(0).locator("[data-ann-text]")).to_have_text(TEXTS[0])
    expect(rows(page).nth(0).locator(".row-viewer__label li").nth(2)).to_contain_text("LOC")
    expect(rows(page).nth(0).locator(".row-viewer__label li").nth(2)).to_contain_text("36\u201342")
    page.goto(f"/datasets/{boxes_dataset.slug}/#viewer")
    expect(rows(page).nth(0).locator(".ann-box")).to_have_count(2)
    expect(rows(page).nth(0).locator(".ann-tag")).to_have_text(["1 car", "2 person"])
    # Without JavaScript axe cannot run in the page; the same markup is checked above.
    screenshot(page, "viewer-boxes-no-js", full_page=False, accessible=False)
