"""Labeling spans and boxes in a real browser: text selected with the mouse (offsets checked in
code points, over non-ASCII text, an emoji and line breaks), boxes drawn by mouse drag and by
touch (CDP touch events), classes by number keys, taps and clicks, keyboard nudges, undo, a
client-side overlap refusal and a server refusal, at desktop and 375 px; the stored
``Label.value`` is what the labeler marked, in the original text's offsets / image's pixels."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw
from playwright.sync_api import Locator, Page, ViewportSize, expect

from datasets_app.models import Item, Label, LabelReservation
from tests.browser.conftest import PageLog, dark_palette
from tests.browser.helpers import no_horizontal_scroll, top_screenshot
from tests.factories import DatasetFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.browser

DASH = "\u2013"  # the en dash between a span's offsets
TIMES = "\u00d7"  # the multiplication sign in a box's size
PHONE = ViewportSize(width=375, height=740)
# Non-ASCII letters, an emoji (two UTF-16 units, one character) and line breaks before the
# entities, so a DOM offset used as is would land off by one or more.
TEXT = "Zoë Ångström 🙂 met\nthe CEO of Ünïcode Ltd\nin São Paulo.\n\nAll good."
SECOND = "Nothing to see here."
NER = ["PER", "ORG", "LOC"]
OBJECTS = ["car", "sign", "person"]
IMAGE_SIZE = (800, 600)
RED = (100, 150, 200, 250)  # x, y, w, h of the red rectangle painted in the image
BLUE = (520, 60, 180, 120)


class Rect(TypedDict):
    left: float
    top: float
    width: float
    height: float


@pytest.fixture(autouse=True)
def _no_gold(settings: Any) -> None:
    settings.LABEL_GOLD_RATE = 0
    settings.LABEL_QUEUE_SPREAD = 1


@pytest.fixture
def labeler(db: Any) -> Any:
    return UserFactory.create(display_name="Grace Hopper")


@pytest.fixture
def open_labeling(
    new_page: Callable[..., Page], sign_in: Callable[..., None], labeler: Any
) -> Callable[..., tuple[Page, Item]]:
    """``page, first = open_labeling(dataset, phone=False)``: the labeler's labeling page of
    ``dataset`` in a fresh desktop page, or a 375 px touch phone's, and the item it shows first."""

    def open_page(dataset: Any, *, phone: bool = False) -> tuple[Page, Item]:
        options = (
            {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
            if phone
            else {}
        )
        page = new_page(**options)
        sign_in(page, labeler)
        page.goto(f"/datasets/{dataset.slug}/label/")
        return page, first_item(dataset)

    return open_page


def first_item(dataset: Any) -> Item:
    return Item.objects.filter(dataset=dataset).order_by("id")[0]


def span(text: str, needle: str, label: str) -> dict[str, Any]:
    start = text.index(needle)
    return {"start": start, "end": start + len(needle), "label": label}


def ner_dataset(slug: str, *, allow_overlap: bool = False) -> Any:
    dataset = DatasetFactory.create(
        title="People, firms and places",
        slug=slug,
        label_task="spans",
        label_classes=NER,
        spans_allow_overlap=allow_overlap,
        guidelines="",
    )
    ItemFactory.create(dataset=dataset, data={"text": TEXT})
    ItemFactory.create(dataset=dataset, data={"text": SECOND})
    return dataset


def select_text(page: Page, text: str, needle: str) -> None:
    """Drags the mouse over ``needle`` in the item's text, as a person would: down on the left
    edge of its first character, up on the right edge of its last."""
    start = text.index(needle)
    end = start + len(needle)
    first = char_rect(page, units(text, start))
    last = char_rect(page, units(text, end) - (2 if ord(text[end - 1]) > 0xFFFF else 1))
    drag(
        page,
        (first["left"] + 1, first["top"] + first["height"] / 2),
        (last["left"] + last["width"] - 1, last["top"] + last["height"] / 2),
        steps=6,
    )


def drag(page: Page, start: tuple[float, float], end: tuple[float, float], *, steps: int) -> None:
    """The mouse pressed at ``start``, moved to ``end`` in ``steps`` moves and released."""
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()


def units(text: str, index: int) -> int:
    """The UTF-16 offset of character ``index`` (what the DOM counts)."""
    return len(text[:index].encode("utf-16-le")) // 2


def char_rect(page: Page, unit: int) -> Rect:
    rect: Rect = page.evaluate(
        """(unit) => {
            for (const piece of document.querySelectorAll("[data-annotate-text] [data-o]")) {
                const from = Number(piece.dataset.o), node = piece.firstChild;
                if (unit < from || unit >= from + node.length) continue;
                const range = document.createRange();
                const wide = node.data.codePointAt(unit - from) > 0xffff ? 2 : 1;
                range.setStart(node, unit - from);
                range.setEnd(node, unit - from + wide);
                const r = range.getClientRects()[0];
                return {left: r.left, top: r.top, width: r.width, height: r.height};
            }
            return null;
        }""",
        unit,
    )
    assert rect, f"no character at UTF-16 offset {unit}"
    return rect


def min_target_size(locator: Locator) -> float:
    sizes = [box for box in (e.bounding_box() for e in locator.all()) if box]
    return min(min(box["width"], box["height"]) for box in sizes)


def fits_the_phone(
    page: Page, controls: tuple[str, ...], screenshot: Callable[..., Path], name: str
) -> None:
    """Each of ``controls`` is a touch target of 40 px or more and the page does not scroll
    sideways; the page is saved as ``name``, from the top."""
    for selector in controls:
        assert min_target_size(page.locator(selector)) >= 40, selector
    assert no_horizontal_scroll(page)
    top_screenshot(page, screenshot, name)


def test_spans_with_mouse_keys_overlap_refusal_undo_and_submit(
    open_labeling: Callable[..., tuple[Page, Item]],
    labeler: Any,
    page_log: PageLog,
    screenshot: Callable[..., Path],
) -> None:
    page, first = open_labeling(ner_dataset("ner-news"))
    second = Item.objects.exclude(pk=first.pk).get(dataset=first.dataset)

    text = page.locator("[data-annotate-text]")
    expect(text).to_have_text(TEXT)
    expect(page.get_by_role("heading", name="Mark the entities")).to_be_visible()
    hint = page.locator("[data-annotate-hint]")
    error = page.locator("[data-label-error]")
    spans = page.locator("[data-annotate-list] li")

    select_text(page, TEXT, "Zoë Ångström")
    expect(hint).to_have_text(
        f"Selected “Zoë Ångström” (0{DASH}12): press 1{DASH}3 or tap a class."
    )
    page.keyboard.press("1")
    expect(spans).to_have_count(1)
    expect(text.locator("mark")).to_have_text(["Zoë Ångström"])

    select_text(page, TEXT, "Ünïcode Ltd")  # after the emoji and a line break
    page.get_by_role("button", name="ORG", exact=True).click()
    select_text(page, TEXT, "São Paulo")
    page.keyboard.press("3")
    expect(spans).to_have_count(3)
    expect(spans.nth(2)).to_contain_text("LOC“São Paulo”")
    expect(page.locator("[data-annotate-count]")).to_have_text("3")

    # Overlap is forbidden here: refused with a reason, nothing added, the spans stay.
    select_text(page, TEXT, "Paulo.\n\nAll")
    page.keyboard.press("1")
    expect(error).to_have_text(
        "“Paulo. All” overlaps the LOC span “São Paulo”. Spans may not overlap in this dataset:"
        " remove that span first (Backspace removes the last one)."
    )
    expect(spans).to_have_count(3)
    screenshot(page, "label-spans-overlap-refused")

    # Backspace takes the last span back; marking it again clears the error.
    page.keyboard.press("Backspace")
    expect(spans).to_have_count(2)
    select_text(page, TEXT, "São Paulo")
    page.keyboard.press("3")
    expect(error).to_be_hidden()
    expect(text.locator("mark")).to_have_text(["Zoë Ångström", "Ünïcode Ltd", "São Paulo"])
    page_log.assert_clean()
    screenshot(page, "label-spans")
    with dark_palette(page):  # axe checks the dark palette's contrast too
        screenshot(page, "label-spans-dark")

    expected = [
        span(TEXT, "Zoë Ångström", "PER"),
        span(TEXT, "Ünïcode Ltd", "ORG"),
        span(TEXT, "São Paulo", "LOC"),
    ]
    assert expected[1]["start"] == 30  # characters, not UTF-16 units (31)
    page.keyboard.press("Enter")
    expect(text).to_have_text(SECOND)
    expect(page.locator("[data-annotate-sent]")).to_have_text(
        f"Sent item {first.pk}: 3 spans: PER “Zoë Ångström”, ORG “Ünïcode Ltd”, LOC “São Paulo”."
    )
    assert Label.objects.get(item=first, labeler=labeler).value == expected

    # Undo brings the item back with its spans; one more, selected from the keyboard (a caret
    # in the focused text: Ctrl+arrows by word, Shift extends), and the label is sent again.
    page.keyboard.press("u")
    expect(text).to_have_text(TEXT)
    expect(spans).to_have_count(3)
    assert not Label.objects.filter(item=first, labeler=labeler).exists()
    text.focus()
    # Past "the", into "CEO", back to the start of "the", then two words selected.
    steps = ["Control+ArrowRight"] * 5 + ["ArrowRight", "Control+ArrowLeft"]
    for key in steps + ["Shift+Control+ArrowRight"] * 2:
        page.keyboard.press(key)
    expect(hint).to_have_text(f"Selected “the CEO” (19{DASH}26): press 1{DASH}3 or tap a class.")
    page.keyboard.press("1")
    expect(text.locator("mark")).to_have_count(4)
    page.get_by_role("button", name="Submit").click()
    expect(text).to_have_text(SECOND)
    assert Label.objects.get(item=first, labeler=labeler).value == sorted(
        [*expected, span(TEXT, "the CEO", "PER")], key=lambda s: (s["start"], s["end"])
    )

    # Nothing to mark is a label too; the server's refusal shows its detail.
    LabelReservation.objects.filter(labeler=labeler).delete()
    page_log.expect_status(400, "/labels/", "the server refuses the label")
    page.keyboard.press("Enter")
    expect(error).to_have_text(
        "This item is not reserved for you (it may have expired): take the next one."
    )
    assert not Label.objects.filter(item=second).exists()


def test_overlapping_spans_when_the_dataset_allows_them(
    open_labeling: Callable[..., tuple[Page, Item]],
) -> None:
    page, first = open_labeling(ner_dataset("ner-nested", allow_overlap=True))
    expect(page.locator("[data-annotate-text]")).to_have_text(TEXT)
    select_text(page, TEXT, "Ünïcode Ltd")
    page.keyboard.press("2")
    select_text(page, TEXT, "Ünïcode")
    page.keyboard.press("1")
    expect(page.locator("[data-label-error]")).to_be_hidden()
    expect(page.locator(".ann-seg--stacked")).to_have_text("Ünïcode")
    page.keyboard.press("Enter")
    expect(page.locator("[data-annotate-text]")).to_have_text(SECOND)
    assert Label.objects.get(item=first).value == [
        span(TEXT, "Ünïcode", "PER"),
        span(TEXT, "Ünïcode Ltd", "ORG"),
    ]


# Ten classes: the tenth goes round the nine colours again, to the first's.
MANY_CLASSES = ["PER", "ORG", "LOC", "DATE", "TIME", "MONEY", "LAW", "EVENT", "WORK", "PRODUCT"]
TAG_COLOUR = "e => getComputedStyle(e, '::after').backgroundColor"  # the labeling page's tags


def test_a_class_has_the_same_colour_on_the_labeling_page_and_in_the_row_viewer(
    open_labeling: Callable[..., tuple[Page, Item]],
) -> None:
    """Someone marks ORG in one colour and must find ORG in that colour among the dataset's
    rows: the class tags (and class buttons, legend swatches) are painted alike on both pages."""
    dataset = DatasetFactory.create(
        title="Many entities",
        slug="ner-colours",
        label_task="spans",
        label_classes=MANY_CLASSES,
        guidelines="",
        preview_rows=10,
    )
    ItemFactory.create(dataset=dataset, data={"text": TEXT})
    decided = [span(TEXT, "Ünïcode Ltd", "ORG"), span(TEXT, "São Paulo", "PRODUCT")]
    ItemFactory.create(
        dataset=dataset, data={"text": TEXT}, consensus_label=decided, labels_count=3,
        slots_open=0,
    )  # fmt: skip

    page, _ = open_labeling(dataset)
    expect(page.locator("[data-annotate-text]")).to_have_text(TEXT)
    select_text(page, TEXT, "Zoë Ångström")
    page.keyboard.press("1")
    select_text(page, TEXT, "Ünïcode Ltd")
    page.keyboard.press("2")
    select_text(page, TEXT, "São Paulo")
    page.get_by_role("button", name="PRODUCT", exact=True).click()  # no number key past 9
    marks = page.locator("[data-annotate-text] mark")
    expect(marks).to_have_text(["Zoë Ångström", "Ünïcode Ltd", "São Paulo"])
    per, org, product = (marks.nth(n).evaluate(TAG_COLOUR) for n in range(3))
    assert per != org and product == per  # the tenth class has the first's colour
    button_edge = "e => getComputedStyle(e).borderLeftColor"
    assert page.get_by_role("button", name="ORG", exact=True).evaluate(button_edge) == org

    page.goto(f"/datasets/{dataset.slug}/#viewer")
    row = page.locator("#viewer-table tbody tr").nth(1)
    tags = row.locator("[data-ann-text] .ann-tag")
    expect(tags).to_have_text(["ORG", "PRODUCT"])
    background = "e => getComputedStyle(e).backgroundColor"
    assert [tag.evaluate(background) for tag in tags.all()] == [org, product]
    swatch = "e => getComputedStyle(e.querySelector('.ann-swatch')).borderTopColor"
    legend = page.locator("#viewer-legend .ann-legend__item")
    assert legend.nth(1).evaluate(swatch) == org
    assert legend.nth(9).evaluate(swatch) == product


def test_spans_on_a_phone(
    open_labeling: Callable[..., tuple[Page, Item]], screenshot: Callable[..., Path]
) -> None:
    page, first = open_labeling(ner_dataset("ner-phone"), phone=True)
    expect(page.locator("[data-annotate-text]")).to_have_text(TEXT)
    assert no_horizontal_scroll(page)

    select_text(page, TEXT, "Ångström")
    page.get_by_role("button", name="PER", exact=True).tap()  # scrolled into view, then a touch tap
    expect(page.locator("[data-annotate-list] li")).to_have_count(1)
    controls = ("[data-class-index]", ".annotate-remove", ".labeler-submit", "[data-skip]")
    fits_the_phone(page, controls, screenshot, "label-spans-phone")
    page.get_by_role("button", name="Submit").tap()
    expect(page.locator("[data-annotate-text]")).to_have_text(SECOND)
    assert Label.objects.get(item=first).value == [span(TEXT, "Ångström", "PER")]


# ---------- boxes ----------


def boxes_dataset(slug: str) -> Any:
    dataset = DatasetFactory.create(
        title="Street objects",
        slug=slug,
        modality="image",
        columns=[{"name": "image", "dtype": "image"}],
        label_task="boxes",
        label_classes=OBJECTS,
        guidelines="",
    )
    for name in ("street", "empty"):
        picture = Image.new("RGB", IMAGE_SIZE, (235, 235, 228))
        draw = ImageDraw.Draw(picture)
        for (x, y, w, h), colour in ((RED, "#d62828"), (BLUE, "#1d4ed8")):
            draw.rectangle((x, y, x + w - 1, y + h - 1), fill=colour)
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        path = default_storage.save(f"items/{slug}-{name}.png", ContentFile(buffer.getvalue()))
        width, height = IMAGE_SIZE
        ItemFactory.create(
            dataset=dataset,
            data={"image": {"path": path, "width": width, "height": height, "file_name": name}},
        )
    return dataset


def wait_for_the_image(page: Page) -> None:
    expect(page.locator(".annotate-stage.is-ready")).to_be_visible()
    page.wait_for_function("document.querySelector('.annotate-image').complete")


def image_rect(page: Page) -> Rect:
    rect: Rect = page.evaluate(
        "(() => { const r = document.querySelector('.annotate-image').getBoundingClientRect();"
        " return {left: r.left, top: r.top, width: r.width, height: r.height}; })()"
    )
    return rect


def to_screen(rect: Rect, x: float, y: float) -> tuple[int, int]:
    """Where original pixel (x, y) is on screen, in whole CSS pixels (what pointers report)."""
    return (
        round(rect["left"] + x * rect["width"] / IMAGE_SIZE[0]),
        round(rect["top"] + y * rect["height"] / IMAGE_SIZE[1]),
    )


def to_image(rect: Rect, point: tuple[float, float]) -> tuple[int, int]:
    """The original pixel a screen point lands on, clamped to the image, rounded half up."""
    x = (point[0] - rect["left"]) * IMAGE_SIZE[0] / rect["width"]
    y = (point[1] - rect["top"]) * IMAGE_SIZE[1] / rect["height"]
    return (
        math.floor(min(max(x, 0), IMAGE_SIZE[0]) + 0.5),
        math.floor(min(max(y, 0), IMAGE_SIZE[1]) + 0.5),
    )


def stored_box(rect: Rect, a: tuple[int, int], b: tuple[int, int], label: str) -> dict[str, Any]:
    (x0, y0), (x1, y1) = to_image(rect, a), to_image(rect, b)
    return {"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0, "label": label}


def near(box: dict[str, Any], truth: tuple[int, int, int, int], slack: float) -> bool:
    return all(
        abs(got - want) <= slack
        for got, want in zip((box["x"], box["y"], box["w"], box["h"]), truth, strict=True)
    )


def test_boxes_with_mouse_drag_keys_and_clamping(
    open_labeling: Callable[..., tuple[Page, Item]],
    labeler: Any,
    screenshot: Callable[..., Path],
) -> None:
    page, first = open_labeling(boxes_dataset("street-boxes"))
    expect(page.get_by_role("heading", name="Draw a box around each object")).to_be_visible()
    wait_for_the_image(page)
    rect = image_rect(page)
    scale = IMAGE_SIZE[0] / rect["width"]
    assert scale != 1  # the image is shown scaled: coordinates must be converted
    listed = page.locator("[data-annotate-list] li")

    # Box 1 around the red rectangle, dragged top-left to bottom-right; it gets class 1 (car).
    a, b = to_screen(rect, RED[0], RED[1]), to_screen(rect, RED[0] + RED[2], RED[1] + RED[3])
    drag(page, a, b, steps=8)
    expect(listed).to_have_count(1)
    red = stored_box(rect, a, b, "car")
    assert near(red, RED, scale)

    # Box 2 around the blue one, dragged bottom-right to top-left and past the image's top
    # edge; 2 makes it a sign; it is then moved and resized with the keyboard.
    c = to_screen(rect, BLUE[0] + BLUE[2], BLUE[1] + BLUE[3])
    d = (to_screen(rect, BLUE[0], 0)[0], round(rect["top"]) - 30)
    drag(page, c, d, steps=8)
    page.keyboard.press("2")
    blue = stored_box(rect, d, c, "sign")
    assert blue["y"] == 0  # clamped inside the image
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowDown"):
        page.keyboard.press(key)
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowUp")
    blue.update(x=blue["x"] + 3, y=1, w=blue["w"] + 2, h=blue["h"] - 1)
    expect(listed.nth(1)).to_contain_text(
        f"2 signx {blue['x']}, y 1, {blue['w']} {TIMES} {blue['h']} px"
    )

    # Box 3 dragged off the bottom-right corner: clamped to the image, and of the class chosen
    # last (sign); Delete removes it.
    e = to_screen(rect, 700, 500)
    drag(page, e, (rect["left"] + rect["width"] + 40, rect["top"] + rect["height"] + 40), steps=5)
    expect(listed).to_have_count(3)
    x, y = to_image(rect, e)
    expect(listed.nth(2)).to_contain_text(f"3 signx {x}, y {y}, {800 - x} {TIMES} {600 - y} px")
    page.keyboard.press("Delete")
    expect(listed).to_have_count(2)
    # The list's remove button takes its box away too (here one N put in the middle).
    page.keyboard.press("n")
    expect(listed).to_have_count(3)
    page.get_by_role("button", name="Remove box 3 (sign)").click()
    expect(listed).to_have_count(2)

    # A click without a drag selects the box under it; 3 makes it a person, 1 back to car.
    page.mouse.click(*to_screen(rect, RED[0] + 20, RED[1] + 20))
    expect(listed.nth(0)).to_have_class(re.compile("is-selected"))
    page.keyboard.press("3")
    expect(listed.nth(0)).to_contain_text("1 person")
    page.get_by_role("button", name="car", exact=True).click()
    expect(listed.nth(0)).to_contain_text("1 car")
    # The box's entry in the list lets go of it, and selects it again.
    listed.nth(0).locator(".annotate-item__pick").click()
    expect(listed.nth(0)).not_to_have_class(re.compile("is-selected"))
    listed.nth(0).locator(".annotate-item__pick").click()
    expect(listed.nth(0)).to_have_class(re.compile("is-selected"))

    screenshot(page, "label-boxes")
    with dark_palette(page):
        screenshot(page, "label-boxes-dark")

    # Dragging the selected box moves it (by the drag, in original pixels); nothing new is drawn.
    grab = to_screen(rect, RED[0] + 50, RED[1] + 50)
    drag(page, grab, (grab[0] + 24, grab[1] + 12), steps=6)
    red.update(
        x=red["x"] + math.floor(24 * scale + 0.5),
        y=red["y"] + math.floor(12 * IMAGE_SIZE[1] / rect["height"] + 0.5),
    )
    expect(listed).to_have_count(2)
    expect(listed.nth(0)).to_contain_text(f"1 carx {red['x']}, y {red['y']}, ")

    # Without a pointer: N adds a box in the middle (a quarter of the image), Ctrl+arrows move
    # and resize it by ten pixels.
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    page.keyboard.press("Control+ArrowLeft")
    page.keyboard.press("Shift+Control+ArrowDown")
    middle = {"x": 290, "y": 225, "w": 200, "h": 160, "label": "car"}
    page.keyboard.press("Enter")
    sent = page.locator("[data-annotate-sent]")
    expect(sent).to_have_text(f"Sent item {first.pk}: 3 boxes: car, sign, car.")
    assert Label.objects.get(item=first, labeler=labeler).value == [red, blue, middle]

    # Undo brings the boxes back as they were sent.
    expect(listed).to_have_count(0)  # the next item
    page.keyboard.press("u")
    expect(listed).to_have_count(3)
    assert not Label.objects.filter(item=first, labeler=labeler).exists()
    page.keyboard.press("Enter")
    expect(listed).to_have_count(0)  # the next item again
    assert Label.objects.get(item=first, labeler=labeler).value == [red, blue, middle]


def touch_drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """A finger pressed at ``start``, moved to ``end`` and lifted (Chromium touch events)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point(start)]})
    for step in range(1, 9):
        at = (
            start[0] + (end[0] - start[0]) * step / 8,
            start[1] + (end[1] - start[1]) * step / 8,
        )
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point(at)]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def point(at: tuple[float, float]) -> dict[str, float]:
    return {"x": at[0], "y": at[1]}


def test_boxes_by_touch_on_a_phone(
    open_labeling: Callable[..., tuple[Page, Item]],
    labeler: Any,
    screenshot: Callable[..., Path],
) -> None:
    page, first = open_labeling(boxes_dataset("street-phone"), phone=True)
    wait_for_the_image(page)
    page.locator(".annotate-stage").scroll_into_view_if_needed()
    rect = image_rect(page)
    assert rect["width"] <= PHONE["width"] - 20
    assert no_horizontal_scroll(page)
    scroll = page.evaluate("window.scrollY")

    a = to_screen(rect, BLUE[0], BLUE[1])
    b = to_screen(rect, BLUE[0] + BLUE[2], BLUE[1] + BLUE[3])
    touch_drag(page, a, b)
    listed = page.locator("[data-annotate-list] li")
    expect(listed).to_have_count(1)
    assert page.evaluate("window.scrollY") == scroll  # the finger drew; the page did not scroll
    # A finger takes a moment to reach the button; Chromium makes no click of a tap that comes
    # within a few hundred milliseconds of a drag's end.
    page.wait_for_timeout(800)
    page.get_by_role(
        "button", name="sign", exact=True
    ).tap()  # scrolled into view, then a touch tap
    expect(listed.first).to_contain_text("1 sign")
    controls = ("[data-class-index]", ".annotate-remove", ".annotate-item__pick", "[data-undo]")
    fits_the_phone(page, controls, screenshot, "label-boxes-phone")

    page.get_by_role("button", name="Submit").tap()
    expect(page.locator("[data-annotate-sent]")).to_contain_text(f"Sent item {first.pk}: 1 box")
    blue = stored_box(rect, a, b, "sign")
    assert near(blue, BLUE, IMAGE_SIZE[0] / rect["width"] + 1)
    assert Label.objects.get(item=first, labeler=labeler).value == [blue]


def test_a_refused_box_label_shows_the_servers_reason(
    open_labeling: Callable[..., tuple[Page, Item]], page_log: PageLog
) -> None:
    dataset = boxes_dataset("street-unsized")
    first = first_item(dataset)
    image = dict(first.data["image"])
    del image["width"], image["height"]  # an image the pipeline never measured
    Item.objects.filter(pk=first.pk).update(data={"image": image})
    page, _ = open_labeling(dataset)
    # The page falls back to the file's own size to draw on...
    expect(page.locator(".annotate-stage.is-ready")).to_be_visible()
    rect = image_rect(page)
    a, b = to_screen(rect, 100, 100), to_screen(rect, 300, 300)
    drag(page, a, b, steps=5)
    expect(page.locator("[data-annotate-list] li")).to_have_count(1)
    # ...but the server cannot check the box: its reason is shown, the box kept, nothing stored.
    page_log.expect_status(400, "/labels/", "the server refuses the box")
    page.keyboard.press("Enter")
    expect(page.locator("[data-label-error]")).to_have_text(
        "This item's image size is unknown, so boxes cannot be checked; skip it."
    )
    expect(page.locator("[data-annotate-list] li")).to_have_count(1)
    assert not Label.objects.filter(item=first).exists()
    page.keyboard.press("s")
    expect(page.locator("[data-annotate-list] li")).to_have_count(0)
    expect(page.locator("#item-title")).to_have_text(f"Item {first.pk + 1}")
