"""License tiers, purchases and grants."""

from typing import Any, ClassVar

from django.contrib import admin
from django.http import HttpRequest

from marketplace.core.admin_actions import ModerationAdmin, service_action
from payments.admin.common import MoneyAdmin
from payments.models import (
    LicenseGrant,
    LicenseTier,
    Purchase,
)
from payments.services.licenses import license_grant_revoke
from payments.services.purchases import purchase_refund


@admin.register(LicenseTier)
class LicenseTierAdmin(MoneyAdmin, admin.ModelAdmin[LicenseTier]):
    money: ClassVar[dict[str, str]] = {"price": "token"}
    list_display = ("name", "dataset", "spdx_id", "commercial", "price", "token", "is_active")
    list_filter = ("commercial", "is_active", "covers")
    search_fields = ("name", "dataset__title", "spdx_id")
    list_select_related = ("dataset", "token")
    fields = ("dataset", "name", "spdx_id", "custom_terms", "commercial", "price", "token",
              "duration", "covers", "is_active")  # fmt: skip
    readonly_fields = ("dataset", "price", "token", "covers", "spdx_id", "custom_terms")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # owners offer tiers on the site; staff may only deactivate one here

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Purchase)
class PurchaseAdmin(MoneyAdmin, ModerationAdmin):
    money: ClassVar[dict[str, str]] = {"amount": "token"}
    list_display = ("pk", "buyer", "tier", "amount", "status", "flagged", "paid_at", "refunded_at")
    list_filter = ("status",)
    search_fields = ("buyer__address", "tx_hash", "tier__name", "dataset__title")
    list_select_related = ("buyer", "tier", "token")
    readonly_fields = tuple(f.name for f in Purchase._meta.fields)
    actions = ("refund",)

    refund = service_action(
        "Refund on chain and revoke the license (needs a reason)", purchase_refund, "purchase"
    )


@admin.register(LicenseGrant)
class LicenseGrantAdmin(ModerationAdmin):
    list_display = ("pk", "buyer", "dataset", "tier", "expires_at", "revoked_at", "created_at")
    list_filter = ("revoked_at",)
    search_fields = ("buyer__address", "dataset__title")
    list_select_related = ("buyer", "dataset", "tier")
    readonly_fields = (
        "buyer",
        "dataset",
        "tier",
        "purchase",
        "covers_future",
        "expires_at",
        "revoked_at",
        "revoke_reason",
        "receipt",
        "signature",
        "signer",
        "created_at",
    )
    exclude = ("releases",)
    actions = ("revoke",)

    revoke = service_action(
        "Revoke (downloads stop at once; needs a reason)", license_grant_revoke, "grant"
    )
