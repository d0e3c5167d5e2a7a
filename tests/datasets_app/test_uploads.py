"""Contributions: direct and resumable chunked uploads, checked before anything is stored."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from datasets_app.models import Contribution, UploadSession
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db
CSV = b"text\nlovely product\nbroke after a day\n"


@pytest.fixture
def dataset():  # type: ignore[no-untyped-def]
    return DatasetFactory.create()


@pytest.fixture
def contributor(client):  # type: ignore[no-untyped-def]
    user = UserFactory.create()
    client.force_login(user)
    return user


def post_file(client, dataset, name: str, content: bytes):  # type: ignore[no-untyped-def]
    upload = io.BytesIO(content)
    upload.name = name
    return client.post(f"/api/v1/datasets/{dataset.slug}/contributions/", {"file": upload})


def stored_files() -> list[str]:
    from django.conf import settings

    root = Path(settings.MEDIA_ROOT) / "contributions"
    return [str(p) for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_direct_upload_is_stored_hashed_and_queued(client, dataset, contributor, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = post_file(client, dataset, "reviews.csv", CSV)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "uploaded"
    contribution = Contribution.objects.get(pk=body["id"])
    assert contribution.sha256 == __import__("hashlib").sha256(CSV).hexdigest()
    assert contribution.file.read() == CSV
    assert (contribution.file_format, contribution.size_bytes) == ("csv", len(CSV))
    dataset.refresh_from_db()
    assert dataset.contributions_count == 1


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("reviews.exe", b"MZ...", "unsupported_format"),
        ("reviews.csv", b"", "empty_file"),
        ("reviews.csv", b"PK\x03\x04" + b"\x00" * 40, "format_mismatch"),
    ],
)
def test_bad_files_are_refused_with_a_reason_and_nothing_is_stored(
    client, dataset, contributor, name, content, code
):
    response = post_file(client, dataset, name, content)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert not Contribution.objects.exists()
    assert stored_files() == []


def test_the_same_file_twice_is_refused(client, dataset, contributor):
    assert post_file(client, dataset, "a.csv", CSV).status_code == 201
    response = post_file(client, dataset, "b.csv", CSV)
    assert response.status_code == 409
    assert response.json() == {
        "detail": "b.csv was already contributed to this dataset (same SHA-256).",
        "code": "duplicate_file",
    }
    assert Contribution.objects.count() == 1
    assert len(stored_files()) == 1


def test_the_same_file_is_refused_at_the_end_of_a_chunked_upload(client, dataset, contributor):
    assert post_file(client, dataset, "a.csv", CSV).status_code == 201
    upload = start_upload(client, dataset, "again.csv", len(CSV)).json()
    assert put_chunk(client, upload["id"], CSV, 0, len(CSV)).status_code == 200
    response = client.post(f"/api/v1/uploads/{upload['id']}/complete")
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_file"
    assert Contribution.objects.count() == 1


def check_file(client, dataset, sha256: str):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/datasets/{dataset.slug}/contributions/check", {"sha256": sha256})


def test_the_page_can_ask_whether_a_file_was_contributed_before_uploading(
    client, dataset, contributor
):
    digest = hashlib.sha256(CSV).hexdigest()
    fresh = check_file(client, dataset, digest)
    assert fresh.status_code == 200
    assert fresh.json() == {
        "sha256": digest, "duplicate": False, "detail": None, "code": None, "contribution": None
    }  # fmt: skip

    mine = post_file(client, dataset, "a.csv", CSV).json()["id"]
    body = check_file(client, dataset, digest.upper()).json()
    assert body == {
        "sha256": digest,
        "duplicate": True,
        "detail": "This file was already contributed to this dataset (same SHA-256).",
        "code": "duplicate_file",
        "contribution": mine,
    }
    # Someone else learns that the file is there, not whose contribution it is.
    client.force_login(UserFactory.create())
    assert check_file(client, dataset, digest).json()["contribution"] is None
    # The hash is per dataset.
    assert check_file(client, DatasetFactory.create(), digest).json()["duplicate"] is False


def test_the_file_check_refuses_a_malformed_hash_and_strangers(client, dataset, contributor):
    response = check_file(client, dataset, "abc")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_sha256"
    hidden = DatasetFactory.create(status="draft")
    assert check_file(client, hidden, "0" * 64).status_code == 404
    client.logout()
    assert check_file(client, dataset, "0" * 64).status_code in (401, 403)


def test_closed_dataset_refuses_uploads(client, contributor):
    dataset = DatasetFactory.create(status="closed")
    response = post_file(client, dataset, "a.csv", CSV)
    assert response.json()["code"] == "dataset_closed"


def test_anonymous_upload_is_refused(client, dataset):
    assert post_file(client, dataset, "a.csv", CSV).status_code == 401


def start_upload(client, dataset, name: str, size: int):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/datasets/{dataset.slug}/uploads/",
        {"filename": name, "total_size": size},
        content_type="application/json",
    )


def put_chunk(client, upload_id: str, data: bytes, start: int, total: int):  # type: ignore[no-untyped-def]
    return client.put(
        f"/api/v1/uploads/{upload_id}",
        data,
        content_type="application/octet-stream",
        headers={"Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}"},
    )


def test_a_dropped_chunked_upload_resumes_where_it_stopped(client, dataset, contributor):
    content = b"text\n" + b"".join(f"review {i}\n".encode() for i in range(3000))
    total = len(content)
    upload = start_upload(client, dataset, "big.csv", total).json()
    chunk = 4096
    assert put_chunk(client, upload["id"], content[:chunk], 0, total).status_code == 200
    assert (
        put_chunk(client, upload["id"], content[chunk : 2 * chunk], chunk, total).status_code == 200
    )
    # The connection drops; the browser asks where to resume, and a stale chunk is refused.
    stale = put_chunk(client, upload["id"], content[:chunk], 0, total)
    assert stale.status_code == 409
    assert stale.json()["received_bytes"] == 2 * chunk
    resume_at = client.get(f"/api/v1/uploads/{upload['id']}").json()["received_bytes"]
    assert resume_at == 2 * chunk
    for start in range(resume_at, total, chunk):
        assert (
            put_chunk(
                client, upload["id"], content[start : start + chunk], start, total
            ).status_code
            == 200
        )
    done = client.post(f"/api/v1/uploads/{upload['id']}/complete")
    assert done.status_code == 201, done.content
    contribution = Contribution.objects.get(pk=done.json()["id"])
    assert contribution.file.read() == content
    assert UploadSession.objects.get().status == "complete"
    assert not list(Path(contribution.file.storage.location).glob("../uploads/*.part"))


def test_completing_an_unfinished_upload_is_refused(client, dataset, contributor):
    upload = start_upload(client, dataset, "a.csv", 100).json()
    put_chunk(client, upload["id"], b"text\nabc\n", 0, 100)
    response = client.post(f"/api/v1/uploads/{upload['id']}/complete")
    assert response.status_code == 409
    assert response.json()["code"] == "upload_incomplete"
    assert not Contribution.objects.exists()


def test_a_file_over_the_limit_is_refused_before_any_byte_arrives(
    client, dataset, contributor, settings
):
    response = start_upload(client, dataset, "huge.csv", 2 * 1024**3 + 1)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "the limit is 2,147,483,648 bytes" in response.json()["detail"]
    assert not UploadSession.objects.exists()


def test_chunks_past_the_declared_size_are_refused(client, dataset, contributor):
    upload = start_upload(client, dataset, "a.csv", 10).json()
    response = put_chunk(client, upload["id"], b"text\nabcdefghijk\n", 0, 10)
    assert response.status_code in (400, 413)
    assert UploadSession.objects.get().received_bytes == 0


def test_someone_elses_upload_is_not_found(client, dataset, contributor):
    other = UserFactory.create()
    from django.test import Client

    theirs = Client()
    theirs.force_login(other)
    upload = start_upload(theirs, dataset, "a.csv", 9).json()
    assert put_chunk(client, upload["id"], b"text\nabc\n", 0, 9).status_code == 404


def test_reading_an_unknown_or_someone_elses_upload_is_not_found(client, dataset, contributor):
    from django.test import Client

    theirs = Client()
    theirs.force_login(UserFactory.create())
    upload = start_upload(theirs, dataset, "a.csv", 9).json()
    for upload_id in (upload["id"], "00000000-0000-0000-0000-000000000000"):
        response = client.get(f"/api/v1/uploads/{upload_id}")
        assert response.status_code == 404
        assert response.json() == {"detail": "No such upload.", "code": "not_found"}
    assert theirs.get(f"/api/v1/uploads/{upload['id']}").json()["status"] == "receiving"


def test_cancelling_a_completed_upload_is_refused_and_its_contribution_stays(
    client, dataset, contributor
):
    """The contribute page's Cancel can cross the upload's "complete" on its way: its DELETE is
    then refused with ``upload_finished``, and the upload names the contribution it became."""
    upload = start_upload(client, dataset, "a.csv", len(CSV)).json()
    assert put_chunk(client, upload["id"], CSV, 0, len(CSV)).status_code == 200
    contribution = client.post(f"/api/v1/uploads/{upload['id']}/complete").json()

    response = client.delete(f"/api/v1/uploads/{upload['id']}")

    assert response.status_code == 409
    assert response.json()["code"] == "upload_finished"
    after = client.get(f"/api/v1/uploads/{upload['id']}").json()
    assert (after["status"], after["contribution"]) == ("complete", contribution["id"])
    assert Contribution.objects.filter(pk=contribution["id"]).exists()


def test_first_chunk_must_match_the_file_type(client, dataset, contributor):
    upload = start_upload(client, dataset, "a.parquet", 50).json()
    response = put_chunk(client, upload["id"], b"text\nthis is csv really\n", 0, 50)
    assert response.status_code == 400
    assert response.json()["code"] in {"format_mismatch", "unsupported_format"}
