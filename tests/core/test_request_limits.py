"""Requests over Django's body and field limits are refusals like any other: JSON
``{"detail", "code"}`` on the API (413 for size), the site's error page elsewhere; never a 500 and
never Django's bare "Bad Request (400)". Real oversize bodies go through the real client."""

from __future__ import annotations

import io
import json
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client

from marketplace.core.sizes import size_human, sizes_human
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db
LIMIT = 2_621_440  # 2.5 MB
TOO_LARGE = {
    "detail": "The request body is larger than the limit of 2.5 MB.",
    "code": "request_too_large",
}


@pytest.fixture(autouse=True)
def _limits(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 100


@pytest.fixture(params=[False, True], ids=["no-csrf-check", "csrf-checked"])
def signed_in(request) -> Client:  # type: ignore[no-untyped-def]
    """A signed-in browser session. With CSRF checks on and a CSRF cookie but no header, the
    CSRF check reads the form for its token before any view does."""
    client = Client(enforce_csrf_checks=request.param)
    client.force_login(UserFactory.create())
    client.cookies[settings.CSRF_COOKIE_NAME] = "a" * 32
    return client


def _json_refusal(response, status: int, code: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response.content[:500]
    body: dict[str, str] = response.json()
    assert body["code"] == code
    return body


def test_an_oversize_json_body_is_413_json(signed_in):
    body = json.dumps({"title": "x" * LIMIT})
    response = signed_in.post("/api/v1/datasets/", body, content_type="application/json")
    assert _json_refusal(response, 413, "request_too_large") == TOO_LARGE


def test_an_oversize_form_body_is_413_json(signed_in):
    body = urlencode({"title": "x" * LIMIT})
    response = signed_in.post(
        "/api/v1/datasets/", body, content_type="application/x-www-form-urlencoded"
    )
    assert _json_refusal(response, 413, "request_too_large") == TOO_LARGE


def test_oversize_multipart_fields_are_413_json(signed_in):
    dataset = DatasetFactory.create()
    upload = io.BytesIO(b"text\nfine\n")
    upload.name = "a.csv"
    response = signed_in.post(
        f"/api/v1/datasets/{dataset.slug}/contributions/",
        {"file": upload, "note": "x" * (LIMIT + 1)},
    )
    assert _json_refusal(response, 413, "request_too_large") == TOO_LARGE


def test_too_many_form_fields_are_400_json(signed_in):
    body = urlencode([(f"f{i}", "1") for i in range(1001)])
    response = signed_in.post(
        "/api/v1/datasets/", body, content_type="application/x-www-form-urlencoded"
    )
    body_json = _json_refusal(response, 400, "too_many_fields")
    assert body_json["detail"] == "The request has more than 1,000 fields."


def test_too_many_query_parameters_are_400_json(client):
    query = urlencode([(f"f{i}", "1") for i in range(1001)])
    response = client.get(f"/api/v1/datasets/?{query}")
    _json_refusal(response, 400, "too_many_fields")


def test_too_many_files_are_400_json(signed_in):
    dataset = DatasetFactory.create()
    files = []
    for i in range(101):
        upload = io.BytesIO(b"text\nfine\n")
        upload.name = f"{i}.csv"
        files.append(upload)
    response = signed_in.post(f"/api/v1/datasets/{dataset.slug}/contributions/", {"file": files})
    body = _json_refusal(response, 400, "too_many_files")
    assert body["detail"] == "The request has more than 100 files."


def test_a_page_answers_an_oversize_form_with_the_error_page_and_413(signed_in):
    response = signed_in.post(
        "/account/",
        urlencode({"display_name": "x" * LIMIT}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert TOO_LARGE["detail"] in page
    assert "DataBounty" in page  # the site's layout, not Django's bare "Bad Request (400)"


def test_a_page_answers_too_many_fields_with_the_error_page_and_400(signed_in):
    response = signed_in.post(
        "/account/",
        urlencode([(f"f{i}", "1") for i in range(1001)]),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "The request has more than 1,000 fields." in response.content.decode()


@pytest.mark.parametrize(
    ("size", "limit"),
    [
        (2 * 1024**3 + 1, 2 * 1024**3),
        (8 * 1024**2 + 1, 8 * 1024**2),
        (2_621_441, 2_621_440),
        (1025, 1024),
        (1024**2 + 1024, 1024**2),
    ],
)
def test_a_size_one_step_over_its_limit_never_reads_the_same_as_the_limit(size, limit):
    shown_size, shown_limit = sizes_human(size, limit)
    assert shown_size != shown_limit
    # Each reads back to its own value: exact bytes, or enough digits to tell them apart.
    for shown, value in ((shown_size, size), (shown_limit, limit)):
        number, unit = shown.split(" ")
        scale = {"bytes": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[unit]
        assert abs(float(number.replace(",", "")) * scale - value) < scale * 10 ** -(
            len(number.partition(".")[2])
        )


def test_sizes_that_differ_enough_keep_one_decimal():
    assert sizes_human(3 * 1024**3, 2 * 1024**3) == ["3.0 GB", "2.0 GB"]
    assert size_human(2_621_440) == "2.5 MB"
    assert size_human(1) == "1 byte"
    assert size_human(999) == "999 bytes"
