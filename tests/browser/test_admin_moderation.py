"""Moderation in the admin, in a real browser: staff sign in with their break-glass password, list
one dataset's items (text and thumbnails), hide one with a reason, and read a contribution's
validation report as tables."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image
from playwright.sync_api import Page, Route, expect

from datasets_app.models import Contribution, Item
from datasets_app.services import contribution_validate
from marketplace.core.models import AuditLog
from tests.browser.conftest import assert_accessible
from tests.factories import DatasetFactory, ItemFactory, UserFactory, submitted

pytestmark = pytest.mark.browser

PASSWORD = "admin break-glass passphrase"  # tests/conftest.py's admin_user
CSV = (
    "text\n"
    "a robin singing at dawn in the garden\n"
    "mail the recording to jane.doe@example.com\n"
    "\n"
    "a robin singing at dawn in the garden\n"
    "two crows arguing over a bin lid\n"
)


def serve_media(route: Route) -> None:
    """The live server serves no /media/ (DEBUG is off): answer from the test's media folder,
    as the web server in front of Django would."""
    name = route.request.url.split("/media/", 1)[1]
    path = Path(settings.MEDIA_ROOT) / name
    if path.is_file():
        route.fulfill(status=200, body=path.read_bytes(), content_type="image/webp")
    else:
        route.fulfill(status=404, body="")


@pytest.fixture
def moderation_data(admin_user: Any) -> dict[str, Any]:
    ada = UserFactory.create(display_name="Ada Lovelace")
    birds = DatasetFactory.create(title="Bird calls", slug="bird-calls")
    contribution = submitted(birds, CSV.encode(), "birds.csv", contributor=ada)
    contribution_validate(contribution_id=contribution.pk)
    photos = DatasetFactory.create(
        title="Street photos",
        slug="street-photos",
        modality="image",
        columns=[{"name": "image", "dtype": "image"}],
    )
    thumb = f"items/{photos.pk}/thumbs/lamp.webp"
    picture = io.BytesIO()
    Image.new("RGB", (96, 64), (30, 110, 200)).save(picture, "WEBP")
    default_storage.save(thumb, ContentFile(picture.getvalue()))
    ItemFactory.create(
        dataset=photos,
        data={
            "image": {
                "path": f"items/{photos.pk}/lamp.jpg",
                "thumbnail": thumb,
                "file_name": "lamp-post.jpg",
            }
        },
    )
    return {"contribution": Contribution.objects.get(pk=contribution.pk), "ada": ada}


def test_staff_filter_items_hide_one_and_read_a_report(
    page: Page,
    moderation_data: dict[str, Any],
    screenshot: Callable[..., Path],
) -> None:
    page.route("**/media/**", serve_media)
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.get_by_label("Wallet address").fill("0x90f79bf6eb2c4f870365e785982e1f101e93b906")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()

    page.get_by_role("link", name="Items", exact=True).click()
    filters = page.locator("#changelist-filter")
    filters.get_by_label("A dataset's slug or id.").fill("bird-calls")
    filters.get_by_label("A dataset's slug or id.").press("Enter")
    expect(page).to_have_url(re.compile(r"dataset=bird-calls"))
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)  # the duplicate, the empty row and the email were refused
    expect(rows.filter(has_text="a robin singing at dawn in the garden")).to_have_count(1)
    expect(rows.filter(has_text="two crows arguing over a bin lid")).to_have_count(1)
    expect(rows.first).to_contain_text("Bird calls")
    expect(rows.first).to_contain_text("Ada Lovelace")
    expect(page.locator("#result_list")).not_to_contain_text("lamp-post")
    expect(filters).to_contain_text("Bird calls (2 items)")
    screenshot(page, "admin-items-filtered")
    assert_accessible(page, include="#content")

    crows = rows.filter(has_text="two crows arguing")
    crows.get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option(label="Hide (needs a reason)")
    page.get_by_role("textbox", name="Reason").fill("not a bird call")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_contain_text("Done for 1 row(s).")
    expect(rows.filter(has_text="two crows arguing")).to_contain_text("hidden")
    hidden = Item.objects.get(data__text="two crows arguing over a bin lid")
    assert hidden.is_hidden
    entry = AuditLog.objects.get(action="item.hidden")
    assert entry.data["reason"] == "not a bird call" and entry.target_id == str(hidden.pk)
    screenshot(page, "admin-item-hidden")

    filters.get_by_label("A dataset's slug or id.").fill("street-photos")
    filters.get_by_role("button", name="Filter").first.click()
    thumbnail = page.locator("#result_list img[alt='image: lamp-post.jpg']")
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("(img) => img.complete && img.naturalWidth") == 96
    screenshot(page, "admin-items-thumbnails")

    contribution = moderation_data["contribution"]
    page.goto("/admin/datasets_app/contribution/")
    page.get_by_role("link", name=str(contribution.pk), exact=True).click()
    report = page.locator(".validation-report")
    reasons = report.get_by_role("table", name="Why rows were rejected")
    expect(reasons).to_be_visible()
    for reason, count in contribution.report["reasons"].items():
        row = reasons.get_by_role("row").filter(has_text=reason)
        expect(row).to_contain_text(str(count))
    personal = report.get_by_role("table", name="Personal data found")
    expect(personal.get_by_role("row").filter(has_text="email")).to_contain_text("Rows rejected")
    scores = report.get_by_role("table", name=re.compile("Quality scores of accepted rows"))
    expect(scores).to_contain_text(f"{contribution.report['score_distribution']['rows']}")
    expect(page.locator("#content")).not_to_contain_text('"reasons"')
    report.scroll_into_view_if_needed()
    screenshot(page, "admin-contribution-report")
    assert_accessible(page, include="#content")
