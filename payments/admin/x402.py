"""x402 payments: what each authorization became (staff look; the reconciler writes)."""

from typing import ClassVar

from django.contrib import admin

from marketplace.core.admin_readonly import ReadOnlyAdmin
from payments.admin.common import MoneyAdmin
from payments.models import X402Payment


@admin.register(X402Payment)
class X402PaymentAdmin(ReadOnlyAdmin, MoneyAdmin, admin.ModelAdmin[X402Payment]):
    money: ClassVar[dict[str, str]] = {"amount": "token"}
    list_display = ("pk", "payer", "tier", "amount", "token", "status", "tx_hash", "created_at")
    list_filter = ("status", "token")
    search_fields = ("payer", "tx_hash", "auth_nonce")
    list_select_related = ("tier__dataset", "token")
    exclude = ("raw_tx", "payload")
