"""Tokens, ledger transactions and the on-chain transfers credited to them."""

from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from marketplace.core.admin_actions import ServiceChangeAdmin, service_action
from marketplace.core.admin_readonly import ReadOnlyAdmin
from payments.admin.common import MoneyAdmin
from payments.models import (
    CreditedTransfer,
    LedgerEntry,
    LedgerTransaction,
    Token,
)
from payments.services.tokens import token_register, token_update


@admin.register(Token)
class TokenAdmin(ServiceChangeAdmin):
    """Adding a token registers it from its contract (symbol and decimals read on chain); after
    that only its symbol and whether it is accepted change, through ``token_update`` with a
    reason. Chain, address and decimals are fixed: stored amounts are in its base units."""

    list_display = ("symbol", "address", "chain_id", "decimals", "is_active")
    list_filter = ("chain_id", "is_active")
    actions = ("deactivate", "activate")
    can_add = True  # registers a token from its contract

    def get_fields(self, request: HttpRequest, obj: Token | None = None) -> Any:
        if obj is None:
            return ("address",)
        return ("symbol", "is_active", "reason", "address", "chain_id", "decimals", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Token | None = None) -> Any:
        if obj is None:
            return ()
        return ("address", "chain_id", "decimals", "created_at")

    def save_model(self, request: HttpRequest, obj: Token, form: Any, change: bool) -> None:
        if not change:
            registered = token_register(address=form.cleaned_data["address"])
            obj.pk, obj.chain_id, obj.symbol, obj.decimals = (
                registered.pk,
                registered.chain_id,
                registered.symbol,
                registered.decimals,
            )
            return
        super().save_model(request, obj, form, change)

    def apply_changes(self, obj: Token, **audited_changes: Any) -> None:
        token_update(token=obj, **audited_changes)

    deactivate = service_action(
        "Stop accepting the selected tokens (needs a reason)",
        token_update,
        "token",
        is_active=False,
    )
    activate = service_action(
        "Accept the selected tokens again (needs a reason)", token_update, "token", is_active=True
    )


class LedgerEntryInline(MoneyAdmin, admin.TabularInline[LedgerEntry, LedgerTransaction]):
    money: ClassVar[dict[str, str]] = {"amount": "account.token"}
    model = LedgerEntry
    extra = 0
    can_delete = False
    fields = ("account", "amount")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerEntry]:
        return super().get_queryset(request).select_related("account__token")


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin, admin.ModelAdmin[LedgerTransaction]):
    list_display = ("created_at", "kind", "idempotency_key", "token", "memo", "actor")
    list_filter = ("kind", "token")
    search_fields = ("idempotency_key", "memo")
    list_select_related = ("token", "actor")
    inlines = (LedgerEntryInline,)


@admin.register(CreditedTransfer)
class CreditedTransferAdmin(MoneyAdmin, ReadOnlyAdmin, admin.ModelAdmin[CreditedTransfer]):
    money: ClassVar[dict[str, str]] = {"amount": "token"}
    list_display = ("tx_hash", "log_index", "purpose", "sender", "amount", "block_number")
    list_select_related = ("token",)
    search_fields = ("tx_hash", "sender", "purpose")
