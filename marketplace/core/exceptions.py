"""Errors raised by services. The API's exception handler and the pages' helper turn them into
``{"detail", "code"}`` answers and messages; services never raise DRF or HTTP errors."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent

from marketplace.core.sizes import size_human


class ApplicationError(Exception):
    """A failure a person can act on: ``detail`` is shown to them, ``code`` is for programs.

    A kind of failure is a subclass naming its code and HTTP status as class arguments:
    ``class NotFoundError(ApplicationError, code="not_found", status_code=404): ...``; a raise
    may still override either."""

    default_code = "error"
    status_code = 400

    def __init_subclass__(
        cls, *, code: str | None = None, status_code: int | None = None, **kwargs: object
    ) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.default_code = code
        if status_code is not None:
            cls.status_code = status_code

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra or {}


class NotFoundError(ApplicationError, code="not_found", status_code=404): ...


class PermissionDeniedError(ApplicationError, code="permission_denied", status_code=403): ...


class ConflictError(ApplicationError, code="conflict", status_code=409): ...


def request_limit_error(exc: BaseException) -> ApplicationError | None:
    """Django's own limits on a request, raised lazily wherever the body, form or query string is
    first read (a parser, the CSRF check, a view), as the refusal they are, naming the limit.
    Django would answer them as a bare "Bad Request (400)", even for a body that is too large."""
    if isinstance(exc, RequestDataTooBig):
        limit = size_human(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return ApplicationError(
            f"The request body is larger than the limit of {limit}.",
            code="request_too_large",
            status_code=413,
        )
    if isinstance(exc, TooManyFieldsSent):
        return ApplicationError(
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields.",
            code="too_many_fields",
        )
    if isinstance(exc, TooManyFilesSent):
        return ApplicationError(
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files.",
            code="too_many_files",
        )
    return None
