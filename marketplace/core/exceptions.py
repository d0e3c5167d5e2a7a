"""Errors raised by services. The API's exception handler and the pages' helper turn them into
``{"detail", "code"}`` answers and messages; services never raise DRF or HTTP errors."""


class ApplicationError(Exception):
    """A failure a person can act on: ``detail`` is shown to them, ``code`` is for programs."""

    default_code = "error"
    status_code = 400

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


class NotFoundError(ApplicationError):
    default_code = "not_found"
    status_code = 404


class PermissionDeniedError(ApplicationError):
    default_code = "permission_denied"
    status_code = 403


class ConflictError(ApplicationError):
    default_code = "conflict"
    status_code = 409
