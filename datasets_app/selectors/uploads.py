"""Reads for resumable uploads: one of a user's upload sessions, for the upload API's progress
read."""

from __future__ import annotations

from uuid import UUID

from datasets_app.models import UploadSession
from marketplace.core.exceptions import NotFoundError
from marketplace.core.models import User


def upload_session_get(*, upload_id: UUID | str, user: User) -> UploadSession:
    """``user``'s upload ``upload_id``, whatever its status; someone else's is not found."""
    session = UploadSession.objects.filter(pk=upload_id, user=user).first()
    if session is None:
        raise NotFoundError("No such upload.")
    return session
