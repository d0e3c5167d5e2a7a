"""DRF authentication for API tokens (``Authorization: Bearer dbt_…``), scope checks included.

The scope is checked here rather than in a permission class: a view that sets its own
``permission_classes`` would silently drop a default permission, but no view can skip this."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from marketplace.accounts.exceptions import ApiTokenError
from marketplace.accounts.models import ApiToken
from marketplace.accounts.services.api_tokens import api_token_authenticate
from marketplace.core.models import User

SESSION_ONLY = None  # a view's ``token_scope`` that refuses API tokens


class ApiTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None  # not ours: let session authentication try
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the header as 'Authorization: Bearer <token>'.", code="invalid_token"
            )
        try:
            token = api_token_authenticate(secret=parts[1].decode("ascii", errors="replace"))
        except ApiTokenError as exc:
            raise exceptions.AuthenticationFailed(exc.detail, code=exc.code) from None
        check_token_scope(request, (request.parser_context or {}).get("view"), token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def check_token_scope(request: Request, view: Any, token: ApiToken) -> None:
    """A token needs the view's scope: ``view.token_scope``, or ``read`` for safe methods and
    ``write`` otherwise. Views with ``token_scope = SESSION_ONLY`` refuse tokens."""
    default = "read" if request.method in SAFE_METHODS else "write"
    scope = getattr(view, "token_scope", default)
    if scope is SESSION_ONLY:
        raise exceptions.PermissionDenied(
            "This needs a signed-in browser session; API tokens cannot do it.",
            code="session_required",
        )
    if scope not in token.scopes:
        raise exceptions.PermissionDenied(
            f"This API token lacks the '{scope}' scope.", code="missing_scope"
        )
