"""Contributions arrive as one multipart request (small files) or as a resumable chunked upload
(large files, up to ``UPLOAD_MAX_BYTES``). Either way the file is checked for size and type
before anything is kept, hashed (SHA-256), stored through Django storage, recorded as a
Contribution, and handed to validation once the transaction commits."""

from __future__ import annotations

import hashlib
import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import IO
from uuid import UUID

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from datasets_app.enums import UploadStatus
from datasets_app.exceptions import UploadError
from datasets_app.integrations.readers.base import ReaderError
from datasets_app.integrations.readers.sniff import detect_format
from datasets_app.models import Contribution, Dataset, UploadSession
from marketplace.core.exceptions import ConflictError, NotFoundError
from marketplace.core.models import User
from marketplace.core.services import audit_log_record
from marketplace.core.sizes import sizes_human

logger = logging.getLogger(__name__)
HEAD_BYTES = 8192
EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".parquet": "parquet", ".zip": "zip"}


def _check_dataset_open(dataset: Dataset) -> None:
    if not dataset.is_accepting:
        raise UploadError(
            f"“{dataset.title}” is not accepting contributions right now.", code="dataset_closed"
        )


def _check_name_and_size(filename: str, size: int) -> str:
    name = Path(filename or "").name
    extension = Path(name).suffix.lower()
    if extension not in EXTENSIONS:
        raise UploadError(
            f"{name or 'This file'}: upload one of {', '.join(sorted(EXTENSIONS))}.",
            code="unsupported_format",
        )
    if size <= 0:
        raise UploadError(f"{name} is empty.", code="empty_file")
    if size > settings.UPLOAD_MAX_BYTES:
        raise _too_large(name, size, settings.UPLOAD_MAX_BYTES, code="too_large")
    return name


def _too_large(
    what: str,
    size: int,
    limit: int,
    *,
    code: str,
    per: str = "",
    extra: dict[str, object] | None = None,
) -> UploadError:
    """413: ``what`` is over ``limit`` bytes, both shown in human units."""
    shown_size, shown_limit = sizes_human(size, limit)
    return UploadError(
        f"{what} is {shown_size}; the limit is {shown_limit}{per}.",
        code=code,
        status_code=413,
        extra=extra,
    )


def _sniff(name: str, head: bytes) -> str:
    try:
        return detect_format(name, head)
    except ReaderError as exc:
        raise UploadError(exc.detail, code=exc.code) from None


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    for block in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(block)
    stream.seek(0)
    return digest.hexdigest()


def duplicate_file_error(name: str) -> UploadError:
    """The same file (same SHA-256) was contributed to this dataset before: 409, as a conflict
    with what the server holds (the contribute page asks before uploading, from the hash)."""
    return UploadError(
        f"{name} was already contributed to this dataset (same SHA-256).",
        code="duplicate_file",
        status_code=409,
    )


def contribution_submit(
    *, dataset: Dataset, contributor: User, file: IO[bytes], filename: str, size: int
) -> Contribution:
    """Store ``file`` as a new contribution to ``dataset`` and queue its validation.

    Refusals (closed dataset, size, type, the same file twice) happen before anything is
    stored; if recording fails after the file was stored, the stored file is removed again.
    """
    from datasets_app.tasks import validate_contribution

    _check_dataset_open(dataset)
    name = _check_name_and_size(filename, size)
    file.seek(0)
    file_format = _sniff(name, file.read(HEAD_BYTES))
    sha256 = _sha256(file)
    if Contribution.objects.filter(dataset=dataset, sha256=sha256).exists():
        raise duplicate_file_error(name)
    stored_name = ""
    try:
        with transaction.atomic():
            contribution = Contribution(
                dataset=dataset,
                contributor=contributor,
                original_name=name,
                file_format=file_format,
                size_bytes=size,
                sha256=sha256,
            )
            contribution.file.save(name, File(file, name=name), save=False)
            stored_name = contribution.file.name or ""
            contribution.save()
            Dataset.objects.filter(pk=dataset.pk).update(
                contributions_count=F("contributions_count") + 1
            )
            audit_log_record(
                action="contribution.submitted",
                actor=contributor,
                target=contribution,
                data={"sha256": sha256, "size": size, "format": file_format},
            )
            transaction.on_commit(lambda: validate_contribution.delay(contribution.pk))
    except IntegrityError:
        if stored_name:
            default_storage.delete(stored_name)
        raise duplicate_file_error(name) from None
    except BaseException:
        if stored_name:
            default_storage.delete(stored_name)
        raise
    return contribution


# -- resumable chunked uploads ----------------------------------------------------------------


def _part_path(session: UploadSession) -> Path:
    return Path(settings.UPLOAD_TMP_DIR) / f"{session.pk}.part"


def upload_session_create(
    *, dataset: Dataset, user: User, filename: str, total_size: int
) -> UploadSession:
    _check_dataset_open(dataset)
    name = _check_name_and_size(filename, total_size)
    Path(settings.UPLOAD_TMP_DIR).mkdir(parents=True, exist_ok=True)
    session = UploadSession.objects.create(
        dataset=dataset,
        user=user,
        filename=name,
        total_size=total_size,
        file_format=EXTENSIONS[Path(name).suffix.lower()],
        expires_at=timezone.now() + timedelta(seconds=settings.UPLOAD_SESSION_TTL_SECONDS),
    )
    _part_path(session).touch()
    return session


def _locked_session(session_id: UUID | str, user: User) -> UploadSession:
    session = UploadSession.objects.select_for_update().filter(pk=session_id, user=user).first()
    if session is None:
        raise NotFoundError("No such upload (it may have expired): start the upload again.")
    if session.status != UploadStatus.RECEIVING:
        raise ConflictError(
            f"This upload is {session.get_status_display().lower()}.",
            code="upload_finished",
            extra={"received_bytes": session.received_bytes},
        )
    if session.expires_at <= timezone.now():
        raise ConflictError("This upload expired: start it again.", code="upload_expired")
    return session


def upload_chunk_size_check(*, size: int) -> None:
    """Refuse a chunk above ``UPLOAD_CHUNK_BYTES`` (the size the upload's start told the client
    to send), naming that limit; the API checks the declared length before reading the body."""
    if size > settings.UPLOAD_CHUNK_BYTES:
        raise _too_large(
            "The chunk",
            size,
            settings.UPLOAD_CHUNK_BYTES,
            code="chunk_too_large",
            per=" per chunk",
            extra={"chunk_size": settings.UPLOAD_CHUNK_BYTES},
        )


@transaction.atomic
def upload_chunk_append(
    *, session_id: UUID | str, user: User, offset: int, data: bytes
) -> UploadSession:
    """Write ``data`` at ``offset``. Chunks must arrive in order: a chunk at any other offset
    is refused with the offset to resume from, so a dropped connection resumes rather than
    restarts. The row lock serialises concurrent chunks of one upload."""
    session = _locked_session(session_id, user)
    if offset != session.received_bytes:
        raise ConflictError(
            f"Expected the chunk at byte {session.received_bytes}, got {offset}: resume there.",
            code="offset_mismatch",
            extra={"received_bytes": session.received_bytes},
        )
    if not data:
        raise UploadError("The chunk is empty.", code="empty_chunk")
    upload_chunk_size_check(size=len(data))
    if offset + len(data) > session.total_size:
        raise UploadError(
            f"The chunk runs past the declared size of {session.total_size} bytes.",
            code="too_large",
            status_code=413,
        )
    if offset == 0:
        detected = _sniff(session.filename, data[:HEAD_BYTES])
        if detected != session.file_format:
            raise UploadError(
                f"{session.filename} is not a {session.file_format} file.", code="format_mismatch"
            )
    path = _part_path(session)
    # Write at the offset and cut anything after it, so a chunk retried after a partial write
    # (the process died before the row was updated) leaves exactly one copy.
    with open(path, "r+b" if path.exists() else "w+b") as part:
        part.seek(offset)
        part.write(data)
        part.truncate()
        part.flush()
        os.fsync(part.fileno())
    session.received_bytes = offset + len(data)
    session.save(update_fields=["received_bytes", "updated_at"])
    return session


def upload_session_complete(*, session_id: UUID | str, user: User) -> Contribution:
    with transaction.atomic():
        session = _locked_session(session_id, user)
        if session.received_bytes != session.total_size:
            raise ConflictError(
                f"Only {session.received_bytes} of {session.total_size} bytes arrived: "
                "send the rest first.",
                code="upload_incomplete",
                extra={"received_bytes": session.received_bytes},
            )
        path = _part_path(session)
        with open(path, "rb") as part:
            contribution = contribution_submit(
                dataset=session.dataset,
                contributor=user,
                file=part,
                filename=session.filename,
                size=session.total_size,
            )
        session.status = UploadStatus.COMPLETE
        session.contribution = contribution
        session.save(update_fields=["status", "contribution", "updated_at"])
    path.unlink(missing_ok=True)
    return contribution


def upload_session_abort(*, session_id: UUID | str, user: User) -> None:
    with transaction.atomic():
        session = _locked_session(session_id, user)
        session.status = UploadStatus.ABORTED
        session.save(update_fields=["status", "updated_at"])
    _part_path(session).unlink(missing_ok=True)


def upload_sessions_expire() -> int:
    """Remove the part files of uploads left unfinished past their expiry (beat, hourly)."""
    expired = list(
        UploadSession.objects.filter(
            status=UploadStatus.RECEIVING, expires_at__lte=timezone.now()
        ).values_list("pk", flat=True)[:1000]
    )
    for pk in expired:
        (Path(settings.UPLOAD_TMP_DIR) / f"{pk}.part").unlink(missing_ok=True)
    return UploadSession.objects.filter(pk__in=expired).update(status=UploadStatus.ABORTED)
