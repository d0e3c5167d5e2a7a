"""Licensed downloads: who may fetch which release file, signed links, the files API, byte
ranges, the library page, and `datasets.load_dataset` over HTTP against a live server."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core import signing
from django.core.files.base import ContentFile
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from datasets_app.models import Dataset, DatasetRelease, ReleaseFile
from marketplace.accounts.services.api_tokens import api_token_create, api_token_revoke
from marketplace.core.models import User
from payments.models import LicenseGrant
from payments.services.downloads import (
    download_link_sign,
    download_link_verify,
    grant_covers,
    license_for,
    release_downloads,
)
from payments.views.downloads import RangeNotSatisfiable, byte_range_parse
from tests.factories import DatasetFactory, UserFactory, make_grant, make_release, parquet_bytes

pytestmark = pytest.mark.django_db

FILES_URL = "/api/v1/datasets/{slug}/files/"


# --- building blocks (the release and grant builders are in tests/factories.py) -------------


def stored_bytes(release_file: ReleaseFile) -> bytes:
    with release_file.file.open("rb") as handle:
        return handle.read()


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def dataset() -> Dataset:
    return DatasetFactory.create(title="Product reviews", slug="product-reviews")


@pytest.fixture
def release(dataset: Dataset) -> DatasetRelease:
    return make_release(dataset)


@pytest.fixture
def shard(release: DatasetRelease) -> ReleaseFile:
    return release.files.get(name="data/train-00000-of-00002.parquet")


@pytest.fixture
def buyer() -> User:
    return UserFactory.create()


@pytest.fixture
def licensed(buyer: User, dataset: Dataset, release: DatasetRelease) -> LicenseGrant:
    return make_grant(buyer, dataset, [release])


# --- who is covered ---------------------------------------------------------------------------


def test_a_grant_covers_the_releases_it_lists_and_with_covers_future_every_later_one(
    dataset, buyer
):
    v1, v2, v3 = (make_release(dataset, number=n, shards=1) for n in (1, 2, 3))
    grant = make_grant(buyer, dataset, [v2], covers_future=True)
    assert license_for(user=buyer, release=v1) is None
    assert license_for(user=buyer, release=v2) == grant
    assert license_for(user=buyer, release=v3) == grant

    other = UserFactory.create()
    make_grant(other, dataset, [v1])  # listed only, nothing later
    assert license_for(user=other, release=v1) is not None
    assert license_for(user=other, release=v2) is None

    early = UserFactory.create()  # bought "all versions" before any release
    make_grant(early, dataset, [], covers_future=True)
    assert all(license_for(user=early, release=r) for r in (v1, v2, v3))

    # The library's in-memory rule (grant_covers) and the download check's SQL agree.
    for holder in (buyer, other, early):
        for held in LicenseGrant.objects.filter(buyer=holder).prefetch_related("releases"):
            for r in (v1, v2, v3):
                assert grant_covers(held, r) == (license_for(user=holder, release=r) == held)


def test_expired_revoked_and_other_datasets_grants_do_not_count(dataset, buyer, release):
    now = timezone.now()
    make_grant(buyer, dataset, [release], expires_at=now - timedelta(seconds=1))
    make_grant(buyer, dataset, [release], revoked_at=now, tier_name="Revoked")
    make_grant(buyer, DatasetFactory.create(), [], covers_future=True)
    assert license_for(user=buyer, release=release) is None
    later = make_grant(buyer, dataset, [release], expires_at=now + timedelta(days=1), tier_name="Y")
    assert license_for(user=buyer, release=release) == later


# --- no access without a license -------------------------------------------------------------


def test_without_a_license_the_files_api_and_each_file_answer_403(client, buyer, dataset, shard):
    client.force_login(buyer)
    listing = client.get(FILES_URL.format(slug=dataset.slug))
    assert listing.status_code == 403
    assert listing.json() == {
        "detail": "You need a license for Product reviews v1.",
        "code": "license_required",
    }
    download = client.get(f"/api/v1/files/{shard.pk}")
    assert download.status_code == 403
    assert download.json()["code"] == "license_required"
    assert stored_bytes(shard)[:4] not in body(download)


def test_anonymous_requests_are_refused(client, dataset, shard):
    assert client.get(FILES_URL.format(slug=dataset.slug)).status_code == 401
    assert client.get(f"/api/v1/files/{shard.pk}").status_code == 401


def test_a_signed_link_for_someone_without_a_license_serves_nothing(client, buyer, shard):
    token = download_link_sign(user=buyer, release_file=shard)
    response = client.get(f"/downloads/{token}/")
    assert response.status_code == 403
    assert b"You need a license" in response.content


def test_the_owner_downloads_their_own_release_without_a_license(client, dataset, shard):
    client.force_login(dataset.owner)
    response = client.get(f"/api/v1/files/{shard.pk}")
    assert response.status_code == 200
    assert body(response) == stored_bytes(shard)


def test_a_release_still_building_is_not_found(client, buyer, dataset):
    building = DatasetRelease.objects.create(
        dataset=dataset, number=1, created_by=dataset.owner, status="building"
    )
    data = parquet_bytes(1, 0, 5)
    draft = ReleaseFile(
        release=building, name="data/train.parquet", sha256="0" * 64, rows=5, size_bytes=len(data)
    )
    draft.file.save("train.parquet", ContentFile(data))
    make_grant(buyer, dataset, [building])
    client.force_login(buyer)
    assert client.get(f"/api/v1/files/{draft.pk}").status_code == 404
    assert client.get(FILES_URL.format(slug=dataset.slug)).json()["code"] == "no_release"


# --- the files API ---------------------------------------------------------------------------


def test_the_files_api_lists_the_latest_licensed_release_with_absolute_urls(
    client, buyer, dataset, release, licensed
):
    make_release(dataset, number=2)  # newer, but not licensed: the default stays v1
    client.force_login(buyer)
    response = client.get(FILES_URL.format(slug=dataset.slug))
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["dataset"] == "product-reviews"
    assert data["version"] == 1
    assert data["content_hash"] == release.content_hash
    files = {f["name"]: f for f in data["files"]}
    assert sorted(files) == [
        "README.md",
        "data/train-00000-of-00002.parquet",
        "data/train-00001-of-00002.parquet",
    ]
    shard = release.files.get(name="data/train-00001-of-00002.parquet")
    assert files[shard.name] == {
        "name": shard.name,
        "url": f"http://testserver/api/v1/files/{shard.pk}",
        "sha256": shard.sha256,
        "rows": 40,
        "size": shard.size_bytes,
    }
    assert files["README.md"]["rows"] is None

    assert client.get(FILES_URL.format(slug=dataset.slug) + "?version=2").status_code == 403
    missing = client.get(FILES_URL.format(slug=dataset.slug) + "?version=9")
    assert (missing.status_code, missing.json()["code"]) == (404, "no_release")
    assert client.get(FILES_URL.format(slug=dataset.slug) + "?version=x").status_code == 400


def test_an_api_token_with_the_download_scope_downloads(client, buyer, shard, licensed):
    secret = api_token_create(user=buyer, name="trainer", scopes=["download"]).secret
    response = client.get(f"/api/v1/files/{shard.pk}", **bearer(secret))
    assert response.status_code == 200
    assert body(response) == stored_bytes(shard)
    listing = client.get(FILES_URL.format(slug=shard.release.dataset.slug), **bearer(secret))
    assert listing.status_code == 200


def test_a_token_without_the_download_scope_is_refused(client, buyer, shard, licensed):
    secret = api_token_create(user=buyer, name="reader", scopes=["read", "write"]).secret
    response = client.get(f"/api/v1/files/{shard.pk}", **bearer(secret))
    assert (response.status_code, response.json()["code"]) == (403, "missing_scope")
    listing = client.get(FILES_URL.format(slug=shard.release.dataset.slug), **bearer(secret))
    assert listing.status_code == 403


def test_a_revoked_token_is_refused(client, buyer, shard, licensed):
    created = api_token_create(user=buyer, name="old", scopes=["download"])
    api_token_revoke(user=buyer, token_id=created.token.pk)
    response = client.get(f"/api/v1/files/{shard.pk}", **bearer(created.secret))
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")


def test_a_revoked_license_stops_api_downloads(client, buyer, shard, licensed):
    secret = api_token_create(user=buyer, name="trainer", scopes=["download"]).secret
    LicenseGrant.objects.filter(pk=licensed.pk).update(revoked_at=timezone.now())
    response = client.get(f"/api/v1/files/{shard.pk}", **bearer(secret))
    assert (response.status_code, response.json()["code"]) == (403, "license_required")


def test_the_file_endpoint_answers_bytes_whatever_the_accept_header(client, buyer, shard, licensed):
    client.force_login(buyer)
    response = client.get(f"/api/v1/files/{shard.pk}", HTTP_ACCEPT="application/octet-stream")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    refused = client.get(f"/api/v1/files/{shard.pk + 1000}", HTTP_ACCEPT="text/csv")
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"


# --- signed links ----------------------------------------------------------------------------


def test_a_signed_link_downloads_the_exact_file_without_a_session(buyer, shard, licensed):
    token = download_link_sign(user=buyer, release_file=shard)
    assert download_link_verify(token) == (buyer.pk, shard.pk)
    response = Client().get(f"/downloads/{token}/")
    assert response.status_code == 200
    content = body(response)
    assert content == stored_bytes(shard)
    assert hashlib.sha256(content).hexdigest() == shard.sha256
    assert response["Content-Length"] == str(shard.size_bytes)
    assert response["ETag"] == f'"{shard.sha256}"'
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"] == (
        'attachment; filename="product-reviews-v1-train-00000-of-00002.parquet"'
    )
    assert "private" in response["Cache-Control"]


def sign_in_the_past(user: User, release_file: ReleaseFile, seconds_ago: int, monkeypatch) -> str:
    """A link as it was signed ``seconds_ago`` (the signer reads the clock via time.time)."""
    then = time.time() - seconds_ago
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: then)  # the clock django.core.signing reads
        return download_link_sign(user=user, release_file=release_file)


def test_an_expired_link_is_refused(client, buyer, shard, licensed, monkeypatch, settings):
    settings.DOWNLOAD_LINK_TTL_SECONDS = 600
    fresh = sign_in_the_past(buyer, shard, 590, monkeypatch)
    assert client.get(f"/downloads/{fresh}/").status_code == 200
    stale = sign_in_the_past(buyer, shard, 610, monkeypatch)
    response = client.get(f"/downloads/{stale}/")
    assert response.status_code == 403
    assert (
        response.content == b"This download link has expired: open your library for a fresh one.\n"
    )


def test_a_browser_with_an_expired_link_lands_on_its_library(
    client, buyer, shard, licensed, monkeypatch
):
    stale = sign_in_the_past(buyer, shard, 3600, monkeypatch)
    client.force_login(buyer)
    response = client.get(f"/downloads/{stale}/", HTTP_ACCEPT="text/html", follow=True)
    assert response.redirect_chain == [("/me/library/", 302)]
    assert "This download link has expired" in response.content.decode()
    assert 'href="/downloads/' in response.content.decode()  # fresh links


def test_a_tampered_or_foreign_link_is_refused(client, buyer, shard, licensed):
    token = download_link_sign(user=buyer, release_file=shard)
    payload, stamp, mac = token.split(":")
    other = signing.TimestampSigner(salt="somewhere.else").sign_object(
        {"f": shard.pk, "u": buyer.pk}
    )
    for bad in (f"{payload}x:{stamp}:{mac}", f"{payload}:{stamp}:{mac[:-2]}aa", other, "nonsense"):
        response = client.get(f"/downloads/{bad}/")
        assert response.status_code == 403, bad
        assert response.content == b"This download link is not valid.\n"


def test_a_revoked_license_stops_an_unexpired_link(client, buyer, shard, licensed):
    token = download_link_sign(user=buyer, release_file=shard)
    assert client.get(f"/downloads/{token}/").status_code == 200
    LicenseGrant.objects.filter(pk=licensed.pk).update(revoked_at=timezone.now())
    response = client.get(f"/downloads/{token}/")
    assert response.status_code == 403
    assert b"You need a license for Product reviews v1." in response.content


def test_a_suspended_account_s_links_stop(client, buyer, shard, licensed):
    token = download_link_sign(user=buyer, release_file=shard)
    User.objects.filter(pk=buyer.pk).update(is_active=False)
    assert client.get(f"/downloads/{token}/").status_code == 403


# --- byte ranges, HEAD, ETag -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-99", 1000, (0, 99)),
        ("bytes=100-", 1000, (100, 999)),
        ("bytes=-100", 1000, (900, 999)),
        ("bytes=-5000", 1000, (0, 999)),
        ("bytes=990-5000", 1000, (990, 999)),
        ("bytes=999-999", 1000, (999, 999)),
        ("bytes=5-2", 1000, None),  # invalid: ignored
        ("bytes=0-1,5-6", 1000, None),  # several ranges: whole file
        ("items=0-1", 1000, None),
        ("bytes=-", 1000, None),
    ],
)
def test_byte_range_parse(header, size, expected):
    parsed = byte_range_parse(header, size)
    assert (None if parsed is None else (parsed.start, parsed.end)) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=1000-", 1000), ("bytes=-0", 10), ("bytes=0-", 0)]
)
def test_byte_range_parse_unsatisfiable(header, size):
    with pytest.raises(RangeNotSatisfiable):
        byte_range_parse(header, size)


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=-64", -64, None),
        ("bytes=100-", 100, None),
        ("bytes=10-10", 10, 10),
    ],
)
def test_range_requests_return_exactly_those_bytes(
    client, buyer, shard, licensed, header, first, last
):
    client.force_login(buyer)
    data = stored_bytes(shard)
    size = len(data)
    start = first if first >= 0 else size + first
    end = size - 1 if last is None else last
    response = client.get(f"/api/v1/files/{shard.pk}", HTTP_RANGE=header)
    assert response.status_code == 206
    assert body(response) == data[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["ETag"] == f'"{shard.sha256}"'


def test_an_unsatisfiable_range_answers_416(client, buyer, shard, licensed):
    client.force_login(buyer)
    response = client.get(f"/api/v1/files/{shard.pk}", HTTP_RANGE=f"bytes={shard.size_bytes}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{shard.size_bytes}"
    assert response.content == b""


def test_a_range_on_a_signed_link_works_too(buyer, shard, licensed):
    token = download_link_sign(user=buyer, release_file=shard)
    response = Client().get(f"/downloads/{token}/", HTTP_RANGE="bytes=0-3")
    assert response.status_code == 206
    assert body(response) == b"PAR1"  # Parquet's magic number


def test_head_gives_the_headers_without_the_body(client, buyer, shard, licensed):
    client.force_login(buyer)
    response = client.head(f"/api/v1/files/{shard.pk}")
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(shard.size_bytes)
    assert response["ETag"] == f'"{shard.sha256}"'
    assert response["Accept-Ranges"] == "bytes"
    ranged = client.head(f"/api/v1/files/{shard.pk}", HTTP_RANGE="bytes=0-9")
    assert (ranged.status_code, ranged["Content-Length"]) == (206, "10")


def test_etag_revalidation_and_if_range(client, buyer, shard, licensed):
    client.force_login(buyer)
    etag = f'"{shard.sha256}"'
    url = f"/api/v1/files/{shard.pk}"
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200
    resumed = client.get(url, HTTP_RANGE="bytes=4-", HTTP_IF_RANGE=etag)
    assert resumed.status_code == 206
    changed = client.get(url, HTTP_RANGE="bytes=4-", HTTP_IF_RANGE='"an-older-file"')
    assert changed.status_code == 200 and body(changed) == stored_bytes(shard)


def test_large_files_stream_in_chunks(client, buyer, dataset):
    big = bytes(range(256)) * (3 * 4096 + 7)  # ~3 MiB: more than one chunk
    release = make_release(dataset, shards=1, extra={"data/extra.bin": big})
    make_grant(buyer, dataset, [release])
    extra = release.files.get(name="data/extra.bin")
    client.force_login(buyer)
    response = client.get(f"/api/v1/files/{extra.pk}", HTTP_RANGE="bytes=1-")
    assert response.streaming
    chunks = list(response.streaming_content)
    assert len(chunks) > 1 and max(len(c) for c in chunks) <= 1 << 20
    assert b"".join(chunks) == big[1:]
    whole = client.get(f"/api/v1/files/{extra.pk}")
    assert whole.streaming and body(whole) == big


# --- pages -----------------------------------------------------------------------------------


def test_the_library_shows_active_expired_and_revoked_licenses(client, buyer, dataset, release):
    now = timezone.now()
    active = make_grant(buyer, dataset, [release], covers_future=True, tier_name="Commercial")
    expired = make_grant(
        buyer, dataset, [release], expires_at=now - timedelta(days=1), tier_name="Trial"
    )
    other = DatasetFactory.create(title="Street photos")
    revoked = make_grant(buyer, other, [make_release(other, shards=1)], revoked_at=now)
    client.force_login(buyer)
    response = client.get("/me/library/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    html = response.content.decode()
    assert f'id="license-{active.pk}"' in html and 'data-state="active"' in html
    assert f'id="license-{expired.pk}"' in html and "This license has expired" in html
    assert f'id="license-{revoked.pk}"' in html and "This license was revoked" in html
    assert "v1 and every later one" in html
    shelves = [shelf for group in response.context["datasets"] for shelf in group.shelves]
    shelf = next(s for s in shelves if s.entry.grant == active)
    links = shelf.versions[0][0].files
    assert [f.file.name for f in links] == [f.name for f in release.files.order_by("name")]
    assert all(f'href="/downloads/{f.token}/"' in html for f in links)
    assert html.count('href="/downloads/') == 3  # only the active license's files
    for f in release.files.all():
        assert f.sha256 in html
    assert "load_dataset(" in html and "http://testserver/api/v1/files/" in html
    assert "TOKEN = &quot;dbt_...&quot;" in html and 'href="/account/tokens/"' in html


def test_the_library_groups_licenses_per_dataset_and_lists_a_version_once(client):
    buyer = UserFactory.create()
    dataset = DatasetFactory.create(title="Kitchen reviews")
    v1 = make_release(dataset, shards=1)
    research = make_grant(buyer, dataset, [v1], tier_name="Research")
    commercial = make_grant(buyer, dataset, [v1], tier_name="Commercial")
    other = DatasetFactory.create(title="Street photos")
    photos = make_grant(buyer, other, [make_release(other, shards=1)])
    client.force_login(buyer)
    response = client.get("/me/library/")
    html = response.content.decode()
    groups = {group.dataset: group.shelves for group in response.context["datasets"]}
    assert set(groups) == {dataset, other}
    assert {shelf.entry.grant for shelf in groups[dataset]} == {research, commercial}
    assert [shelf.entry.grant for shelf in groups[other]] == [photos]
    # v1 of Kitchen reviews is listed once, under the first of its two licenses.
    assert [len(shelf.versions) for shelf in groups[dataset]] == [1, 0]
    assert html.count('href="/downloads/') == 2 + 2  # README + one shard, per dataset
    assert "listed above, under your other license" in html
    assert html.count(f'id="dataset-{dataset.pk}"') == 1 and "2 licenses" in html
    card = html[html.index(f'id="dataset-{dataset.pk}"') :]
    card = card[: card.index("</article>")]
    assert f'id="license-{research.pk}"' in card and f'id="license-{commercial.pk}"' in card
    assert f'id="license-{photos.pk}"' not in card


def test_the_library_needs_a_session(client):
    response = client.get("/me/library/")
    assert response.status_code == 302 and "/signin/" in response["Location"]


def test_the_library_runs_a_fixed_number_of_queries(client, buyer):
    def count() -> int:
        client.force_login(buyer)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/me/library/").status_code == 200
        return len(captured)

    first = DatasetFactory.create()
    make_grant(buyer, first, [make_release(first, shards=1)])
    few = count()
    for _ in range(3):
        more = DatasetFactory.create()
        make_grant(buyer, more, [make_release(more, number=1), make_release(more, number=2)])
    assert count() == few


def test_the_release_box_shows_links_to_a_licensed_viewer_and_a_prompt_to_others(
    client, buyer, dataset, release, licensed
):
    url = f"/releases/{release.pk}/downloads"
    client.force_login(buyer)
    html = client.get(url).content.decode()
    assert 'data-allowed="true"' in html and html.count('href="/downloads/') == 3
    client.force_login(UserFactory.create())
    html = client.get(url).content.decode()
    assert 'data-allowed="false"' in html and "/downloads/" not in html
    assert "Buy a license" in html and f'href="/datasets/{dataset.slug}/"' in html
    anonymous = Client().get(url).content.decode()
    assert "Buy a license" in anonymous and "Sign in" in anonymous


def test_the_release_box_renders_in_place_or_loads_itself(buyer, release, licensed):
    request = RequestFactory().get("/")
    request.user = buyer
    placeholder = render_to_string(
        "datasets_app/_release_downloads.html", {"release": release, "request": request}
    )
    assert f'hx-get="/releases/{release.pk}/downloads"' in placeholder
    inline = render_to_string(
        "datasets_app/_release_downloads.html",
        {
            "release": release,
            "request": request,
            "downloads": release_downloads(user=buyer, release=release),
        },
    )
    assert "hx-get" not in inline and inline.count('href="/downloads/') == 3


@pytest.mark.parametrize("status", ["building", "failed"])
def test_an_unfinished_release_box_is_not_found_except_to_its_owner_and_staff(
    client, dataset, status
):
    unfinished = DatasetRelease.objects.create(
        dataset=dataset, number=2, created_by=dataset.owner, status=status
    )
    url = f"/releases/{unfinished.pk}/downloads"
    assert Client().get(url).status_code == 404
    client.force_login(UserFactory.create())
    assert client.get(url).status_code == 404
    for insider in (dataset.owner, UserFactory.create(is_staff=True)):
        client.force_login(insider)
        response = client.get(url)
        assert response.status_code == 200 and 'data-allowed="false"' in response.content.decode()


def test_a_hidden_drafts_release_box_is_not_found_to_strangers(client, release):
    Dataset.objects.filter(pk=release.dataset_id).update(status="draft")
    client.force_login(UserFactory.create())
    assert client.get(f"/releases/{release.pk}/downloads").status_code == 404


def test_a_hidden_dataset_stays_downloadable_to_its_buyers_and_unknown_to_others(
    client, buyer, dataset, release, licensed
):
    Dataset.objects.filter(pk=dataset.pk).update(status="hidden")
    client.force_login(buyer)
    assert client.get(FILES_URL.format(slug=dataset.slug)).status_code == 200
    client.force_login(UserFactory.create())
    missing = client.get(FILES_URL.format(slug=dataset.slug))
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


# --- datasets.load_dataset through a live server ---------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_close_http_sessions")
def test_load_dataset_reads_the_purchased_release_through_the_live_server(
    live_server, monkeypatch, tmp_path: Path
):
    import datasets
    import huggingface_hub.constants

    # The suite runs offline (tests/datasets_app/conftest.py); this test only talks to the
    # live server on loopback.
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)

    dataset = DatasetFactory.create(slug="reviews-live")
    make_release(dataset, number=1, shards=2, rows=40)
    v2 = make_release(dataset, number=2, shards=3, rows=25)
    buyer = UserFactory.create()
    make_grant(buyer, dataset, [v2])
    secret = api_token_create(user=buyer, name="notebook", scopes=["download"]).secret
    headers = {"Authorization": f"Bearer {secret}"}

    listing = requests.get(
        f"{live_server.url}/api/v1/datasets/reviews-live/files/", headers=headers, timeout=10
    )
    assert listing.status_code == 200, listing.text
    assert listing.json()["version"] == 2
    urls = [f["url"] for f in listing.json()["files"] if f["name"].endswith(".parquet")]
    assert len(urls) == 3 and all(u.startswith(live_server.url) for u in urls)

    loaded = datasets.load_dataset(
        "parquet",
        data_files={"train": urls},
        storage_options={"headers": headers},
        cache_dir=str(tmp_path / "hf-cache"),
    )
    train = loaded["train"]
    assert train.num_rows == 75
    assert train.column_names == ["text", "label", "score"]
    assert sorted(train["text"])[:2] == ["v2 shard 0 review 0", "v2 shard 0 review 1"]

    # Without the token the same URLs refuse, so nothing was served by accident.
    refused = requests.get(urls[0], timeout=10)
    assert refused.status_code == 401
