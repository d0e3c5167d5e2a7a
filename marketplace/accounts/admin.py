from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from marketplace.accounts.models import ApiToken, SiweNonce
from marketplace.accounts.services.api_tokens import api_token_revoke
from marketplace.core.admin_readonly import ReadOnlyAdmin
from marketplace.core.exceptions import ApplicationError


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Staff see every token (never its secret: only a hash exists) and can revoke one."""

    list_display = (
        "name",
        "prefix",
        "user",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("name", "prefix", "user__address")
    list_select_related = ("user",)
    readonly_fields = (
        "user",
        "name",
        "prefix",
        "digest",
        "scopes",
        "created_at",
        "updated_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are created by their owners, who see the secret once

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the row and its audit trail stay

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            try:
                api_token_revoke(
                    user=request.user,  # type: ignore[arg-type]
                    token_id=token.pk,
                    reason="revoked by staff in admin",
                )
            except ApplicationError as exc:
                self.message_user(request, exc.detail, messages.ERROR)
        self.message_user(request, f"Revoked {queryset.count()} token(s).", messages.SUCCESS)


@admin.register(SiweNonce)
class SiweNonceAdmin(ReadOnlyAdmin, admin.ModelAdmin[SiweNonce]):
    """Read-only: for looking into sign-in problems (expired nonces are purged by a task)."""

    list_display = ("nonce", "created_at", "expires_at", "used_at", "used_by")
    list_filter = ("used_at",)
    search_fields = ("nonce", "used_by__address")
    list_select_related = ("used_by",)
