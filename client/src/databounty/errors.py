"""The errors the client raises; the CLI prints them without a traceback."""

from __future__ import annotations


class ClientError(Exception):
    """Something the user can act on: ``detail`` says what, ``code`` is stable for scripts."""

    def __init__(self, detail: str, *, code: str = "error", status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.status = status

    def __str__(self) -> str:
        where = f"HTTP {self.status}, " if self.status else ""
        return f"{self.detail} ({where}{self.code})"


class ApiError(ClientError):
    """The server refused: its JSON ``{"detail", "code"}`` and the status."""


class PaymentRequiredError(ApiError):
    """402: the resource is for sale (x402) and this request did not pay for it."""
