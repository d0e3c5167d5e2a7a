"""Contributing a file in a real browser: the drop zone, a chunked upload with its progress bar,
resuming after a dropped connection or a reload, client-side refusals, and validation by a real
Celery worker turning the row in the list (polled with htmx) into a readable report."""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Request, Route, expect

from datasets_app import services
from datasets_app.models import Contribution, UploadSession
from datasets_app.services.validation_report import score_distribution
from tests.browser.conftest import (
    PageLog,
    assert_accessible,
    assert_accessible_in_the_dark,
    dark_palette,
)
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.browser

CHUNK = 64 * 1024
CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


# Nouns and adjectives; each review draws 14 of them, so reviews share few word triples.
_WORDS = (
    "battery strap screen charger box delivery colour size sound lid cable handle blade case "
    "button light motor fabric zip wheel speaker lens seal hinge plug quick slow broken solid "
    "loud quiet cheap sturdy flimsy bright dim heavy smooth rough warm cold sharp dull clean "
    "noisy tiny huge perfect awful decent fine great"
)
VOCABULARY = tuple(_WORDS.split())


def _words(n: int) -> str:
    rng = random.Random(n)  # noqa: S311 - test data
    return " ".join(rng.choice(VOCABULARY) for _ in range(14))


def reviews_csv(rows: int, *, bad: int = 0, duplicates: int = 0, emails: int = 0) -> bytes:
    """A CSV for the dataset's text:string, stars:int64 schema; ``bad`` rows have a non-integer
    star count and ``duplicates`` repeat earlier rows, so validation rejects them; the first
    ``emails`` reviews end with an e-mail address (personal data)."""
    lines = ["text,stars"]
    # Each review draws its own words, so no two are near-duplicates of each other.
    lines += [
        f"{_words(n)}{f' mail me at reviewer{n}@example.org' if n < emails else ''},{n % 5 + 1}"
        for n in range(rows)
    ]
    lines += [f"Review {n} with a typo in its stars,lots" for n in range(bad)]
    lines += lines[1 : 1 + duplicates]
    return ("\n".join(lines) + "\n").encode()


def range_start(request: Request) -> int:
    match = CONTENT_RANGE.match(request.headers.get("content-range", ""))
    return int(match.group(1)) if match else -1


@pytest.fixture
def contributor(db: Any) -> Any:
    return UserFactory.create(display_name="Ada Lovelace")


@pytest.fixture
def dataset(db: Any) -> Any:
    return DatasetFactory.create(
        title="Product reviews",
        slug="product-reviews",
        columns=[{"name": "text", "dtype": "string"}, {"name": "stars", "dtype": "int64"}],
    )


@pytest.fixture
def worker(settings: Any, celery_worker: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The session's real worker, reading the files the live server stores. Validation tasks go
    to the worker's own queue: the default queue on the test broker is shared by every test run
    on this machine, and another run's worker must not take (and miss) our contribution."""
    from datasets_app.tasks import validate_contribution

    settings.MEDIA_ROOT = celery_worker.media_root
    monkeypatch.setattr(validate_contribution, "queue", celery_worker.queue, raising=False)
    monkeypatch.setattr(validate_contribution, "_exec_options", None)  # Celery caches them
    yield celery_worker


@pytest.fixture
def signed_in_as_contributor(page: Page, sign_in: Callable[..., None], contributor: Any) -> None:
    """The test's page signed in as the contributor."""
    sign_in(page, contributor)


@pytest.fixture
def contribute_page(
    page: Page, signed_in_as_contributor: None, dataset: Any, settings: Any
) -> Page:
    settings.UPLOAD_CHUNK_BYTES = CHUNK
    return page


def choose_file(page: Page, name: str, content: bytes | Path) -> None:
    files: Any = (
        content
        if isinstance(content, Path)
        else {
            "name": name,
            "mimeType": "text/csv",
            "buffer": content,
        }
    )
    page.get_by_label("Choose a file").set_input_files(files)


def upload_percent(page: Page) -> int:
    return int(
        page.get_by_role("progressbar", name="Upload progress").get_attribute("aria-valuenow") or 0
    )


@pytest.mark.worker
def test_a_large_csv_uploads_in_chunks_then_validates_into_a_report(
    contribute_page: Page,
    dataset: Any,
    worker: Any,
    screenshot: Callable[..., Path],
) -> None:
    page = contribute_page
    dataset.pii_policy = "flag"  # rows with personal data are kept, flagged and score less
    dataset.save(update_fields=["pii_policy"])
    content = reviews_csv(4000, bad=3, duplicates=2, emails=40)
    assert len(content) > 3 * CHUNK  # four chunks
    ranges: list[str] = []

    def slow_chunks(route: Route) -> None:
        if route.request.method == "PUT":
            ranges.append(route.request.headers["content-range"])
            time.sleep(0.3)  # a slow connection, so the bar can be seen moving
        route.continue_()

    page.route("**/api/v1/uploads/**", slow_chunks)
    page.goto(f"/datasets/{dataset.slug}/contribute/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Contribute data")
    expect(page.locator("#contributions-empty")).to_contain_text("No contributions yet")
    expect(page.locator(".dropzone")).to_contain_text("up to 2.0 GB")
    screenshot(page, "contribute")

    choose_file(page, "reviews.csv", content)

    bar = page.get_by_role("progressbar", name="Upload progress")
    expect(bar).to_be_visible()
    expect(page.locator("[data-upload-name]")).to_have_text("reviews.csv")
    page.wait_for_function(
        """() => {
            const bar = document.querySelector('[data-upload-progress]');
            const value = Number(bar.getAttribute('aria-valuenow'));
            return value >= 40 && value < 100;
        }"""
    )
    detail = page.locator("[data-upload-detail]")
    expect(detail).to_contain_text(re.compile(r"KB of \d+ KB · [\d.]+ KB/s · about \d+ s left"))
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    screenshot(page, "contribute-uploading", full_page=False)

    success = page.locator("[data-upload-success]")
    expect(success).to_contain_text("“reviews.csv” is uploaded", timeout=15_000)
    assert upload_percent(page) == 100
    assert ranges[0] == f"bytes 0-{CHUNK - 1}/{len(content)}"
    assert ranges[-1].endswith(f"-{len(content) - 1}/{len(content)}")
    assert len(ranges) == -(-len(content) // CHUNK)  # every chunk once

    # The list appears at once and polls itself until the worker is done.
    row = page.locator("#contribution-rows tbody tr").first
    expect(row).to_contain_text("reviews.csv")
    status = row.locator("[data-status]")
    expect(status).to_have_attribute("data-status", "partially_accepted", timeout=60_000)
    expect(status).to_have_text("Partially accepted")
    expect(row.locator("td.num").nth(0)).to_have_text("4,000")
    expect(row.locator("td.num").nth(1)).to_have_text("5")
    expect(page.locator("[data-upload-verdict]")).to_contain_text(
        "Partly accepted: 4,000 of 4,005 rows"
    )
    expect(page.locator("#contribution-rows")).not_to_have_attribute("hx-trigger", re.compile("."))
    screenshot(page, "contribute-validated")

    contribution = Contribution.objects.get(dataset=dataset)
    with contribution.file.open("rb") as stored:
        assert stored.read() == content

    row.get_by_role("link", name="Report for reviews.csv").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("reviews.csv")
    expect(page.get_by_role("heading", name="Partly accepted")).to_be_visible()
    reasons = page.locator(".reasons-table tbody tr")
    expect(reasons).to_have_count(2)
    expect(reasons.nth(0)).to_contain_text("expected int64")
    expect(reasons.nth(0).locator("td.num")).to_have_text("3")
    expect(reasons.nth(1)).to_contain_text("Duplicate of an earlier row in this file")
    expect(reasons.nth(1).locator("td.num")).to_have_text("2")
    examples = page.locator(".example")
    expect(examples).to_have_count(5)
    expect(examples.first).to_contain_text("Row 4,001")
    expect(examples.first.locator(".example__content")).to_have_text(
        "text: Review 0 with a typo in its stars · stars: lots"
    )
    # A copy of row 1, whose e-mail address the report never shows.
    expect(examples.nth(3).locator(".example__content")).to_have_text(
        "text: " + _words(0) + " mail me at [EMAIL] · stars: 1"
    )
    expect(page.locator("#examples-title + p")).to_contain_text(
        "Personal data in these rows is replaced by its kind"
    )
    expect(page.locator("main")).not_to_contain_text("reviewer0@example.org")
    expect(page.locator(".stat--success .stat__value")).to_have_text("4,000")
    expect(page.locator(".stat--danger .stat__value")).to_have_text("5")
    expect(page.locator("#contribution-status")).not_to_have_attribute(
        "hx-trigger", re.compile(".")
    )
    # Row quality: the score, a drawn chart of the accepted rows' scores, its table, and the
    # personal data that was kept but flagged.
    contribution.refresh_from_db()
    assert contribution.quality_score is not None
    expect(page.locator("[data-quality-score]")).to_have_text(f"{contribution.quality_score:.2f}")
    quality = page.locator("#quality")
    expect(quality.locator("[data-score-chart]")).to_have_class(re.compile(r"\bis-ready\b"))
    assert page.evaluate(
        "() => Chart.getChart(document.querySelector('[data-score-chart] canvas'))"
        ".data.datasets[0].data"
    ) == [None] * 7 + [40, None, 3960]  # empty buckets draw no bar
    expect(quality.locator(".quality-facts")).to_contain_text("Lowest0.70")
    quality.get_by_text("Show as a table").click()
    expect(quality.locator("#score-table tbody tr").nth(7)).to_have_text("0.7\u20130.840")
    expect(quality.locator("#score-table tbody tr").nth(9)).to_have_text("0.9\u20131.03,960")
    flagged = page.locator("#personal-data .personal-data__item")
    expect(flagged).to_have_count(1)
    expect(flagged).to_contain_text("Flagged: personal data (email)")
    expect(flagged).to_contain_text("40 rows")
    expect(flagged).to_contain_text("in rows 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, …")
    assert_accessible_in_the_dark(page)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header back at the top of the shot
    screenshot(page, "contribution-report")


@pytest.mark.worker
@pytest.mark.usefixtures("worker")
def test_a_dropped_chunk_resumes_and_the_exact_bytes_are_stored(
    contribute_page: Page, dataset: Any, page_log: PageLog
) -> None:
    page = contribute_page
    content = reviews_csv(3500)
    sent: list[tuple[str, int]] = []
    failures: list[str] = []

    def flaky_network(route: Route) -> None:
        request = route.request
        start = range_start(request)
        sent.append((request.method, start))
        if request.method == "PUT" and start == CHUNK and "lost" not in failures:
            failures.append("lost")  # never reaches the server
            route.abort("connectionreset")
        elif request.method == "PUT" and start == 2 * CHUNK and "unanswered" not in failures:
            failures.append("unanswered")  # stored by the server, but the answer is lost
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page_log.expect("ERR_CONNECTION_RESET", "the network drops twice")
    page.route("**/api/v1/uploads/**", flaky_network)
    page.goto(f"/datasets/{dataset.slug}/contribute/")
    choose_file(page, "resumed.csv", content)

    expect(page.locator("[data-upload-success]")).to_contain_text(
        "“resumed.csv” is uploaded", timeout=20_000
    )
    assert failures == ["lost", "unanswered"]
    puts = [start for method, start in sent if method == "PUT"]
    # Each failure is followed by asking the server where to resume, never by starting over:
    # the chunk that never arrived is sent again, the one that arrived is not.
    assert puts == [0, CHUNK, CHUNK, 2 * CHUNK, 3 * CHUNK, *range(4 * CHUNK, len(content), CHUNK)]
    assert [method for method, _ in sent].count("GET") == 2
    contribution = Contribution.objects.get(dataset=dataset)
    with contribution.file.open("rb") as stored:
        assert stored.read() == content
    assert contribution.size_bytes == len(content)
    assert (
        page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('databounty:upload:'))")
        == []
    )
    expect(page.locator("#contribution-rows [data-status]").first).to_have_attribute(
        "data-status", "accepted", timeout=60_000
    )


def test_choosing_the_same_file_after_a_reload_resumes_the_upload(
    contribute_page: Page,
    dataset: Any,
    tmp_path: Path,
    screenshot: Callable[..., Path],
    page_log: PageLog,
) -> None:
    page = contribute_page
    content = reviews_csv(3500)
    path = tmp_path / "reviews-2024.csv"  # a real file: its date stays the same between choices
    path.write_bytes(content)
    offline = {"on": True}
    puts: list[int] = []

    def cut_after_two_chunks(route: Route) -> None:
        start = range_start(route.request)
        if route.request.method == "PUT":
            puts.append(start)
            if offline["on"] and start >= 2 * CHUNK:
                route.abort("internetdisconnected")
                return
        route.continue_()

    page_log.expect("ERR_INTERNET_DISCONNECTED", "the network is cut")
    page.route("**/api/v1/uploads/**", cut_after_two_chunks)
    page.goto(f"/datasets/{dataset.slug}/contribute/")
    choose_file(page, path.name, path)

    state = page.locator("[data-upload-state]")
    expect(state).to_contain_text("Connection lost: retrying in")
    screenshot(page, "contribute-retrying", full_page=False)
    upload_id = page.evaluate(
        "Object.entries(localStorage).find(([k]) => k.startsWith('databounty:upload:'))[1]"
    )
    session = UploadSession.objects.get(pk=upload_id)
    assert session.received_bytes == 2 * CHUNK

    # A retry's offset lookup (or its chunk) may be on its way when the page goes: the reload
    # aborts it.
    page_log.expect(
        rf"^(GET|PUT) \S*/api/v1/uploads/{upload_id}: net::ERR_ABORTED$",
        "the reload aborts the old page's retry if one is in flight",
    )
    page.reload()  # the old page's retry timer goes with it; only then is the network back
    puts.clear()
    offline["on"] = False
    choose_file(page, path.name, path)

    expect(page.locator("[data-upload-success]")).to_contain_text("is uploaded", timeout=15_000)
    assert puts[0] == 2 * CHUNK  # picked up where it stopped
    session.refresh_from_db()
    assert session.status == "complete" and session.contribution is not None
    with session.contribution.file.open("rb") as stored:
        assert stored.read() == content


def test_files_that_cannot_be_accepted_are_refused_before_uploading(
    contribute_page: Page,
    dataset: Any,
    settings: Any,
    screenshot: Callable[..., Path],
) -> None:
    page = contribute_page
    settings.UPLOAD_MAX_BYTES = 100 * 1024
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(r.url) if "/api/v1/" in r.url else None)
    page.goto(f"/datasets/{dataset.slug}/contribute/")
    expect(page.locator(".dropzone")).to_contain_text("up to 100.0 KB")
    error = page.locator("[data-upload-error]")

    choose_file(page, "huge.csv", reviews_csv(2000))
    expect(error).to_be_visible()
    expect(error).to_have_text(
        re.compile(r"“huge\.csv” is 1\d\d KB; the limit is 100 KB\. Split it into smaller files")
    )
    expect(error).to_have_attribute("role", "alert")
    expect(page.get_by_role("progressbar", name="Upload progress")).to_be_hidden()
    screenshot(page, "contribute-too-large", full_page=False)

    choose_file(page, "notes.txt", b"hello")
    expect(error).to_contain_text(
        "“notes.txt” can\u2019t be uploaded: choose a CSV, TSV, JSONL, Parquet"
    )
    choose_file(page, "empty.csv", b"")
    expect(error).to_contain_text("“empty.csv” is empty")
    assert api_calls == []
    assert not Contribution.objects.exists()


def test_a_server_refusal_shows_its_reason_and_cancel_stops_an_upload(
    contribute_page: Page, dataset: Any, page_log: PageLog
) -> None:
    page = contribute_page
    page.goto(f"/datasets/{dataset.slug}/contribute/")

    # Named .csv, but it is a ZIP: the server sniffs the bytes and says why it refuses.
    page_log.expect_status(400, "/contributions/", "the server refuses the file")
    choose_file(page, "photos.csv", b"PK\x03\x04" + b"\x00" * 200)
    error = page.locator("[data-upload-error]")
    expect(error).to_have_text("The file is named .csv but is a ZIP archive.")  # its `detail`
    expect(page.locator("[data-upload-state]")).to_have_text("Upload stopped")

    # Cancel while a chunk is on its way (held unanswered): the browser drops that chunk, no
    # other is sent, and the server forgets the upload.
    def hold_second_chunk(route: Route) -> None:
        if route.request.method != "PUT" or range_start(route.request) != CHUNK:
            route.continue_()

    puts: list[int] = []
    page.on("request", lambda r: puts.append(range_start(r)) if r.method == "PUT" else None)
    page.route("**/api/v1/uploads/**", hold_second_chunk)
    page_log.expect(r"PUT .*/api/v1/uploads/.*ERR_ABORTED", "Cancel aborts the chunk on its way")
    with page.expect_request(lambda request: range_start(request) == CHUNK):
        choose_file(page, "big.csv", reviews_csv(3000))
    expect(page.locator("[data-upload-state]")).to_have_text("Uploading…")
    # Wait for the DELETE's answer here: the route handler that lets it through runs only while
    # Playwright is called, never while the test sleeps.
    with (
        page.expect_event("requestfailed", lambda request: request.method == "PUT") as dropped,
        page.expect_response(lambda response: response.request.method == "DELETE") as deleted,
    ):
        page.get_by_role("button", name="Cancel").click()
    assert range_start(dropped.value) == CHUNK and dropped.value.failure == "net::ERR_ABORTED"
    assert deleted.value.status == 204
    expect(page.get_by_role("progressbar", name="Upload progress")).to_be_hidden()
    expect(page.locator("[data-upload-live]")).to_have_text("Upload of big.csv cancelled.")
    session = UploadSession.objects.get()
    assert (session.status, session.received_bytes) == ("aborted", CHUNK)
    assert puts == [0, CHUNK]
    assert not Contribution.objects.exists()


@pytest.mark.worker
@pytest.mark.usefixtures("worker")
def test_cancel_after_the_upload_arrived_says_so_and_follows_its_validation(
    contribute_page: Page,
    dataset: Any,
    page_log: PageLog,
    screenshot: Callable[..., Path],
) -> None:
    page = contribute_page
    content = reviews_csv(1000)
    assert len(content) > CHUNK  # chunked, so Cancel has an upload to DELETE
    # The "complete" reaches the server, which makes the contribution, but its answer is held
    # back: Cancel is pressed while the page still waits for it.
    completed: list[Any] = []

    def complete_then_hold_the_answer(route: Route) -> None:
        if route.request.url.endswith("/complete"):
            completed.append(route.fetch())
            return
        route.continue_()

    page.route("**/api/v1/uploads/**", complete_then_hold_the_answer)
    page_log.expect(r"POST .*/complete: net::ERR_ABORTED", "Cancel drops the unanswered complete")
    page_log.expect_status(409, "/api/v1/uploads/", "the DELETE comes after the upload completed")
    page.goto(f"/datasets/{dataset.slug}/contribute/")
    state = page.locator("[data-upload-state]")

    choose_file(page, "late.csv", content)
    expect(state).to_have_text("Finishing…")
    deadline = time.monotonic() + 10
    while not completed and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # the route handler runs while Playwright is called
    assert completed and completed[0].status == 201
    contribution = Contribution.objects.get(dataset=dataset)
    with page.expect_response(lambda response: response.request.method == "DELETE") as deleted:
        page.get_by_role("button", name="Cancel").click()
    assert deleted.value.status == 409
    assert deleted.value.json()["code"] == "upload_finished"

    # The page tells the truth: the file is a contribution, and the panel follows its validation.
    success = page.locator("[data-upload-success]")
    expect(success).to_contain_text(
        "“late.csv” had already arrived when you pressed Cancel, so it was kept."
    )
    expect(success.get_by_role("link", name="Open the report")).to_have_attribute(
        "href", f"/contributions/{contribution.pk}/"
    )
    expect(page.locator("[data-upload-live]")).to_contain_text("“late.csv” had already arrived")
    expect(state).to_have_text("Uploaded")
    expect(page.get_by_role("progressbar", name="Upload progress")).to_have_attribute(
        "aria-valuenow", "100"
    )
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    expect(page.locator("#contribution-rows tbody tr").first).to_contain_text("late.csv")
    screenshot(page, "contribute-cancel-too-late")
    verdict = page.locator("[data-upload-verdict]")
    expect(verdict.get_by_role("heading")).to_have_text("Accepted: all 1,000 rows", timeout=60_000)
    expect(page.locator("[data-upload-live]")).not_to_contain_text("cancelled")
    session = UploadSession.objects.get()
    assert (session.status, session.contribution_id) == ("complete", contribution.pk)


@dataclass
class HeldAnswer:
    """A small file's POST whose answer the server holds: ``arrived`` is set once the whole file
    has reached the server, which makes (or refuses) the contribution only after ``answer``."""

    arrived: threading.Event
    answer: threading.Event


@pytest.fixture
def held_answer(
    page: Page, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> HeldAnswer:
    """Holds the direct POST's answer in the server. (A page.route cannot: a request paused there
    has not been sent, so the browser never reports its body as sent.) The page counts the
    request bodies it has fully sent (xhr.upload "load") in ``window.bodiesSent``."""
    held = HeldAnswer(arrived=threading.Event(), answer=threading.Event())
    submit = services.contribution_submit

    def submit_when_answered(**kwargs: Any) -> Contribution:
        held.arrived.set()
        held.answer.wait(timeout=30)
        return submit(**kwargs)

    monkeypatch.setattr(services, "contribution_submit", submit_when_answered)
    request.addfinalizer(held.answer.set)  # a failing test leaves no request waiting
    page.add_init_script(
        """(() => {
            window.bodiesSent = 0;
            const send = XMLHttpRequest.prototype.send;
            XMLHttpRequest.prototype.send = function (body) {
                this.upload.addEventListener('load', () => { window.bodiesSent += 1; });
                return send.call(this, body);
            };
        })()"""
    )
    return held


def cancel_once_sent(page: Page, held: HeldAnswer, name: str, content: bytes) -> None:
    """Chooses the file, and presses Cancel once it has all reached the server and the browser
    has said so, while the answer is held; then checks the page says it was sent."""
    # Everything the live region ever says, however briefly, in ``window.spoken``.
    page.evaluate(
        """() => {
            window.spoken = [];
            const live = document.querySelector('[data-upload-live]');
            new MutationObserver(() => window.spoken.push(live.textContent))
                .observe(live, {childList: true, characterData: true, subtree: true});
        }"""
    )
    choose_file(page, name, content)
    assert held.arrived.wait(timeout=10)
    page.wait_for_function("() => window.bodiesSent === 1")
    page.get_by_role("button", name="Cancel").click()
    # The file is out of the page's hands: Cancel says so instead of pretending to stop it.
    expect(page.locator("[data-upload-state]")).to_have_text(
        "Already sent: waiting for the server…"
    )
    expect(page.locator("[data-upload-live]")).to_have_text(
        f"“{name}” had already been sent when you pressed Cancel: "
        "waiting for the server\u2019s answer."
    )
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    assert not Contribution.objects.exists()


def spoken(page: Page) -> list[str]:
    return page.evaluate("window.spoken")


@pytest.mark.worker
@pytest.mark.usefixtures("worker")
def test_cancel_after_a_small_file_was_sent_waits_for_the_answer_and_keeps_it(
    contribute_page: Page,
    dataset: Any,
    held_answer: HeldAnswer,
    screenshot: Callable[..., Path],
) -> None:
    page = contribute_page
    content = fresh_reviews(40, first=900)
    assert len(content) < CHUNK  # one multipart POST, no upload id to ask about
    page.goto(f"/datasets/{dataset.slug}/contribute/")
    state = page.locator("[data-upload-state]")

    cancel_once_sent(page, held_answer, "small.csv", content)
    expect(page.locator("[data-upload-detail]")).to_have_text(
        "3.4 KB · all sent before you pressed Cancel, so it can no longer be stopped"
    )
    screenshot(page, "contribute-cancel-after-sent", full_page=False)

    held_answer.answer.set()
    success = page.locator("[data-upload-success]")
    expect(success).to_contain_text(
        "“small.csv” had already arrived when you pressed Cancel, so it was kept."
    )
    contribution = Contribution.objects.get(dataset=dataset)
    expect(success.get_by_role("link", name="Open the report")).to_have_attribute(
        "href", f"/contributions/{contribution.pk}/"
    )
    expect(state).to_have_text("Uploaded")
    expect(page.get_by_label("Choose a file")).to_be_focused()
    expect(page.locator("#contribution-rows tbody tr").first).to_contain_text("small.csv")
    screenshot(page, "contribute-cancel-after-sent-kept")
    verdict = page.locator("[data-upload-verdict]")
    expect(verdict.get_by_role("heading")).to_have_text("Accepted: all 40 rows", timeout=60_000)
    assert any("had already arrived" in words for words in spoken(page))
    assert not [words for words in spoken(page) if "cancelled" in words]
    with contribution.file.open("rb") as stored:
        assert stored.read() == content


def test_cancel_after_a_small_file_was_sent_then_refused_shows_the_refusal(
    contribute_page: Page, dataset: Any, held_answer: HeldAnswer, page_log: PageLog
) -> None:
    page = contribute_page
    page_log.expect_status(400, "/contributions/", "the server refuses the file")
    page.goto(f"/datasets/{dataset.slug}/contribute/")

    cancel_once_sent(page, held_answer, "photos.csv", b"PK\x03\x04" + b"\x00" * 200)
    held_answer.answer.set()
    error = page.locator("[data-upload-error]")
    expect(error).to_have_text("The file is named .csv but is a ZIP archive.")
    expect(page.locator("[data-upload-state]")).to_have_text("Upload stopped")
    expect(page.get_by_label("Choose a file")).to_be_focused()
    assert not [words for words in spoken(page) if "cancelled" in words]
    assert not Contribution.objects.exists()


def fresh_reviews(rows: int, *, first: int, bad: int = 0) -> bytes:
    """``rows`` reviews no other file in these tests holds (words drawn from ``first`` on), then
    ``bad`` rows whose star count is not a number."""
    lines = ["text,stars", *(f"{_words(first + n)},{n % 5 + 1}" for n in range(rows))]
    lines += [f"Bad review {n} says it loved it,many" for n in range(bad)]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.worker
@pytest.mark.usefixtures("worker")
def test_the_panel_shows_the_verdict_and_the_same_file_is_refused_before_uploading(
    contribute_page: Page,
    dataset: Any,
    page_log: PageLog,
    settings: Any,
    screenshot: Callable[..., Path],
) -> None:
    page = contribute_page
    sent: list[str] = []
    page.on(
        "request",
        lambda r: (
            sent.append(f"{r.method} {r.url.split('/api/v1/')[1]}") if "/api/v1/" in r.url else None
        ),
    )
    page.goto(f"/datasets/{dataset.slug}/contribute/")
    expect(page.locator(".checklist")).to_contain_text("files up to 64.0 MB are checked")
    panel = page.locator("[data-upload-panel]")
    verdict = page.locator("[data-upload-verdict]")
    state = page.locator("[data-upload-state]")

    # 1. Some rows fail: the panel follows validation to its verdict, with the main reasons.
    partly = fresh_reviews(30, first=100, bad=2)
    choose_file(page, "reviews.csv", partly)
    expect(verdict).to_be_visible(timeout=60_000)
    contribution = Contribution.objects.get(dataset=dataset)
    expect(verdict.get_by_role("heading")).to_have_text("Partly accepted: 30 of 32 rows")
    expect(verdict).to_have_class(re.compile(r"\bmessage--warning\b"))
    expect(verdict).to_contain_text("2 rows did not pass.")
    reasons = verdict.get_by_role("list", name="Main reasons rows were rejected").locator("li")
    expect(reasons).to_have_text(["Column 'stars' expected int64 2 rows"])
    expect(verdict.get_by_role("link", name="Open the full report")).to_have_attribute(
        "href", f"/contributions/{contribution.pk}/"
    )
    expect(state).to_have_text("Partly accepted")
    expect(panel.locator("[data-upload-detail]")).to_contain_text("32 rows read · quality score")
    expect(page.locator("[data-upload-success]")).to_be_hidden()
    # The list below caught up too.
    expect(page.locator("#contribution-rows [data-status]").first).to_have_attribute(
        "data-status", "partially_accepted"
    )
    assert [c for c in sent if "contributions/check?sha256=" in c] == [
        f"GET datasets/{dataset.slug}/contributions/check?sha256={contribution.sha256}"
    ]
    screenshot(page, "contribute-verdict-partly")
    with dark_palette(page):  # the dark palette's contrast too
        screenshot(page, "contribute-verdict-partly-dark", full_page=False)

    # 2. The very same bytes under another name: refused from the hash, before any upload.
    sent.clear()
    choose_file(page, "reviews-copy.csv", partly)
    error = page.locator("[data-upload-error]")
    expect(error).to_contain_text(
        "“reviews-copy.csv” was already contributed to this dataset (the same SHA-256), "
        "so it was not uploaded."
    )
    expect(error.get_by_role("link", name="Open its report")).to_have_attribute(
        "href", f"/contributions/{contribution.pk}/"
    )
    expect(state).to_have_text("Not uploaded")
    expect(verdict).to_be_hidden()
    assert sent == [f"GET datasets/{dataset.slug}/contributions/check?sha256={contribution.sha256}"]
    assert Contribution.objects.count() == 1
    assert_accessible(page)
    expect(panel.locator("[data-upload-detail]")).to_have_text(
        "2.6 KB · refused before any byte was sent"
    )
    screenshot(page, "contribute-duplicate-refused")

    # 3. A clean file: accepted, all rows.
    choose_file(page, "more.csv", fresh_reviews(12, first=500))
    expect(verdict.get_by_role("heading")).to_have_text("Accepted: all 12 rows", timeout=60_000)
    expect(verdict).to_have_class(re.compile(r"\bmessage--success\b"))
    expect(verdict.get_by_role("list")).to_be_hidden()
    expect(state).to_have_text("Accepted")
    screenshot(page, "contribute-verdict-accepted", full_page=False)
    page_log.assert_clean()

    # 4. Above the browser's hashing limit the server's own check refuses the copy (409).
    settings.UPLOAD_HASH_MAX_BYTES = 1024
    page_log.expect_status(409, "/contributions/", "the server refuses the same file again")
    page.reload()
    sent.clear()
    choose_file(page, "reviews-again.csv", partly)
    expect(error).to_have_text(
        "reviews-again.csv was already contributed to this dataset (same SHA-256)."
    )
    expect(state).to_have_text("Not uploaded")
    # The bytes went out and the server refused them: not "before any byte was sent".
    expect(panel.locator("[data-upload-detail]")).not_to_contain_text("before any byte")
    assert not [c for c in sent if "check?" in c]
    assert Contribution.objects.count() == 2


@pytest.fixture
def add_contribution(dataset: Any, contributor: Any) -> Callable[..., Contribution]:
    """``add_contribution(name, dataset=…, **fields)``: a contributor's row as validation leaves
    it (the file itself is not needed to show it), to the test's dataset unless told."""

    def add(name: str, *, dataset: Any = dataset, **fields: Any) -> Contribution:
        defaults: dict[str, Any] = {
            "file": f"contributions/{dataset.pk}/{name}",
            "file_format": name.rsplit(".", 1)[-1],
            "size_bytes": 48_213,
            "sha256": f"{abs(hash(name)):064x}"[-64:],
            "status": "accepted",
            "progress": 100,
        }
        return Contribution.objects.create(
            dataset=dataset, contributor=contributor, original_name=name, **{**defaults, **fields}
        )

    return add


@pytest.mark.usefixtures("signed_in_as_contributor")
def test_the_report_polls_while_validating_and_explains_a_rejected_file(
    page: Page,
    add_contribution: Callable[..., Contribution],
    screenshot: Callable[..., Path],
) -> None:
    running = add_contribution(
        "march.jsonl", status="validating", progress=40, rows_total=1200,
        rows_accepted=1180, rows_rejected=20,
        report={"reasons": {"text is empty": 20},
                "examples": [{"row": 7, "errors": ["text is empty"]}]},
    )  # fmt: skip
    page.emulate_media(reduced_motion="reduce")  # the chart is drawn at once, not grown
    page.goto(f"/contributions/{running.pk}/")

    status = page.locator("#contribution-status")
    expect(page.get_by_role("heading", name="Checking rows… 40%")).to_be_visible()
    expect(status).to_have_attribute("hx-trigger", "every 2s")
    expect(page.get_by_role("progressbar", name="Validation progress")).to_have_attribute(
        "aria-valuenow", "40"
    )
    screenshot(page, "contribution-validating")

    expect(page.locator("[data-quality-score]")).to_have_text("—")
    expect(page.locator("#quality")).to_have_count(0)  # no distribution before the end

    Contribution.objects.filter(pk=running.pk).update(
        status="partially_accepted", progress=100, rows_total=3000, rows_accepted=2980,
        quality_score=0.9864,
        report={**running.report,
                "score_distribution": score_distribution({700: 80, 1000: 2900}),
                "personal_data": [{"kind": "iban", "name": "IBAN", "action": "flagged",
                                   "rows": 80, "sample_rows": [3, 9]}]},
    )  # fmt: skip
    expect(page.get_by_role("heading", name="Partly accepted")).to_be_visible(timeout=8_000)
    expect(status).not_to_have_attribute("hx-trigger", re.compile("."))
    expect(page.locator(".stat--success .stat__value")).to_have_text("2,980")
    # The report swapped in by htmx draws its chart too.
    expect(page.locator("[data-quality-score]")).to_have_text("0.99")
    expect(page.locator("[data-score-chart]")).to_have_class(re.compile(r"\bis-ready\b"))
    expect(page.locator("#personal-data")).to_contain_text("Flagged: personal data (IBAN)")
    expect(page.locator("#personal-data")).to_contain_text("in rows 3, 9, …")
    screenshot(page, "contribution-validated-live")

    rejected = add_contribution(
        "scan.parquet", status="rejected", rows_total=0,
        report={"reasons": {}, "examples": [], "error": {
            "code": "schema_mismatch",
            "detail": "The file's columns are image, caption; this dataset needs text, stars.",
        }},
    )  # fmt: skip
    page.goto(f"/contributions/{rejected.pk}/")
    expect(page.get_by_role("heading", name="Rejected", exact=True)).to_be_visible()
    error = page.locator("#file-error")
    expect(error).to_contain_text("this dataset needs text, stars.")
    expect(error).to_contain_text("schema_mismatch")
    expect(page.locator(".reasons-table")).to_have_count(0)
    screenshot(page, "contribution-rejected")


@pytest.mark.usefixtures("signed_in_as_contributor")
def test_my_contributions_lists_every_dataset_with_pages(
    page: Page,
    add_contribution: Callable[..., Contribution],
    screenshot: Callable[..., Path],
) -> None:
    page.goto("/me/contributions/")
    empty = page.locator("#contributions-empty")
    expect(empty.get_by_role("heading", name="You haven\u2019t contributed yet")).to_be_visible()
    expect(empty.get_by_role("link", name="Browse open datasets")).to_have_attribute("href", "/")
    screenshot(page, "my-contributions-empty")

    other = DatasetFactory.create(title="Street photos", modality="image",
                                  columns=[{"name": "image", "dtype": "image"}])  # fmt: skip
    for n in range(24):
        add_contribution(f"reviews-{n:02d}.csv", rows_total=500,
                          rows_accepted=500 - n, rows_rejected=n)  # fmt: skip
    add_contribution("streets.zip", dataset=other, status="rejected", rows_rejected=80,
                      rows_total=80)  # fmt: skip
    add_contribution("latest.tsv", status="validating", progress=62)

    page.reload()
    rows = page.locator(".contributions-table tbody tr")
    expect(rows).to_have_count(25)
    expect(rows.first).to_contain_text("latest.tsv")
    expect(rows.first.locator("[data-status]")).to_have_text("Validating 62%")
    expect(rows.nth(1)).to_contain_text("Street photos")
    expect(rows.nth(1).locator("[data-status]")).to_have_text("Rejected")
    pages = page.get_by_role("navigation", name="Contribution pages")
    expect(pages).to_contain_text("Page 1 of 2")
    screenshot(page, "my-contributions")
    pages.get_by_role("link", name="Next page").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("reviews-00.csv")
    rows.first.get_by_role("link", name="Report for reviews-00.csv").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("reviews-00.csv")
