"""Payouts and the payout switch."""

from typing import ClassVar

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from marketplace.core.admin_actions import ModerationAdmin, service_action
from marketplace.core.admin_readonly import ReadOnlyAdmin
from marketplace.core.exceptions import ApplicationError
from payments.admin.common import MoneyAdmin
from payments.models import (
    Payout,
    PayoutControl,
)
from payments.services.payouts import payout_retry, payouts_set_paused


@admin.register(Payout)
class PayoutAdmin(MoneyAdmin, ModerationAdmin):
    money: ClassVar[dict[str, str]] = {"amount": "token"}
    list_display = ("pk", "user", "amount", "token", "status", "nonce", "tx_hash", "created_at")
    list_filter = ("status", "token")
    search_fields = ("user__address", "tx_hash", "mined_hash", "to_address")
    list_select_related = ("user", "token")
    readonly_fields = (
        "user",
        "token",
        "to_address",
        "amount",
        "status",
        "from_address",
        "nonce",
        "tx_hash",
        "mined_hash",
        "block_number",
        "max_fee_per_gas",
        "max_priority_fee_per_gas",
        "attempts",
        "error",
        "created_at",
        "sent_at",
        "confirmed_at",
    )
    exclude = ("raw_tx",)
    actions = ("retry", "pause_all", "resume_all")

    retry = service_action(
        "Retry the selected failed payouts (needs a reason)", payout_retry, "payout"
    )

    def _switch(self, request: HttpRequest, *, paused: bool) -> None:
        try:
            payouts_set_paused(
                actor=request.user,  # type: ignore[arg-type]
                paused=paused,
                reason=request.POST.get("reason", ""),
            )
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
        else:
            state = "paused" if paused else "running"
            self.message_user(request, f"Payouts are {state}.", messages.SUCCESS)

    @admin.action(description="Pause all payouts (needs a reason; select any row)")
    def pause_all(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        self._switch(request, paused=True)

    @admin.action(description="Resume payouts (needs a reason; select any row)")
    def resume_all(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        self._switch(request, paused=False)


@admin.register(PayoutControl)
class PayoutControlAdmin(ReadOnlyAdmin, admin.ModelAdmin[PayoutControl]):
    """Shows the switch; it is flipped with the payout list's actions, which audit it."""

    list_display = ("__str__", "reason", "changed_by", "changed_at")
