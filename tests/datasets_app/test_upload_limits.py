"""Upload size refusals name the real limit, with sizes that read differently when they differ."""

from __future__ import annotations

import pytest
from django.conf import settings

from datasets_app.models import UploadSession
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload(client) -> UploadSession:  # type: ignore[no-untyped-def]
    user = UserFactory.create()
    client.force_login(user)
    dataset = DatasetFactory.create()
    response = client.post(
        f"/api/v1/datasets/{dataset.slug}/uploads/",
        {"filename": "big.csv", "total_size": 64 * 1024**2},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["chunk_size"] == settings.UPLOAD_CHUNK_BYTES
    return UploadSession.objects.get(pk=response.json()["id"])


def _put(client, upload: UploadSession, data: bytes):  # type: ignore[no-untyped-def]
    return client.put(
        f"/api/v1/uploads/{upload.pk}",
        data,
        content_type="application/octet-stream",
        headers={"Content-Range": f"bytes 0-{len(data) - 1}/{upload.total_size}"},
    )


def test_a_chunk_one_byte_over_the_chunk_size_is_refused_naming_the_limit(client, upload):
    assert settings.UPLOAD_CHUNK_BYTES == 8 * 1024**2  # the default: the browser's chunk size
    response = _put(client, upload, b"text\n" + b"x" * (settings.UPLOAD_CHUNK_BYTES - 4))
    assert response.status_code == 413, response.content[:300]
    assert response.json() == {
        "detail": "The chunk is 8,388,609 bytes; the limit is 8,388,608 bytes per chunk.",
        "code": "chunk_too_large",
        "chunk_size": settings.UPLOAD_CHUNK_BYTES,
    }
    upload.refresh_from_db()
    assert upload.received_bytes == 0


def test_a_chunk_over_djangos_body_limit_is_refused_naming_the_chunk_limit(client, upload):
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    response = _put(client, upload, b"text\n" + b"x" * (size - 5))
    assert response.status_code == 413, response.content[:300]
    assert response.json()["code"] == "chunk_too_large"
    assert response.json()["detail"] == "The chunk is 9.0 MB; the limit is 8.0 MB per chunk."


def test_a_file_one_byte_over_the_limit_never_reads_as_the_limit(client, settings):
    client.force_login(UserFactory.create())
    dataset = DatasetFactory.create()
    response = client.post(
        f"/api/v1/datasets/{dataset.slug}/uploads/",
        {"filename": "big.csv", "total_size": settings.UPLOAD_MAX_BYTES + 1},
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.json() == {
        "detail": "big.csv is 2,147,483,649 bytes; the limit is 2,147,483,648 bytes.",
        "code": "too_large",
    }
