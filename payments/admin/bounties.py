"""Bounties and their fundings."""

from typing import Any, ClassVar

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from marketplace.core.admin_actions import ServiceChangeAdmin
from marketplace.core.admin_readonly import ReadOnlyAdmin
from payments.admin.common import MoneyAdmin
from payments.enums import BountyStatus
from payments.models import (
    Bounty,
    BountyFunding,
)
from payments.services.bounties import bounty_schedule_change
from payments.services.rewards import reward_epochs_compute_due

# The money and dataset of a bounty are fixed at creation: the sponsor funds exactly this pool on
# chain, and rewards already computed were priced at these rates (a bigger pool is another
# on-chain funding). Only the schedule changes, through ``bounty_schedule_change``.
BOUNTY_FIXED_FIELDS = (
    "dataset",
    "sponsor",
    *Bounty.TERMS,
    "status",
    "funded_at",
    "epochs_computed",
    "created_at",
    "updated_at",
)
BOUNTY_SCHEDULE_FIELDS = Bounty.SCHEDULE


@admin.register(Bounty)
class BountyAdmin(MoneyAdmin, ServiceChangeAdmin):
    """Everything but the schedule is read-only; a schedule change needs a reason and goes
    through ``bounty_schedule_change``, which keeps epoch windows contiguous. Sponsors create
    bounties on the site and fund them on chain, never here."""

    list_display = (
        "title",
        "dataset",
        "sponsor",
        "status",
        "pays_for",
        "pool_amount",
        "starts_at",
        "ends_at",
        "epochs_computed",
    )
    list_filter = ("status", "pays_for")
    search_fields = ("title", "dataset__title", "sponsor__address")
    list_select_related = ("dataset", "sponsor", "token")
    fields = (*BOUNTY_SCHEDULE_FIELDS, "reason", *BOUNTY_FIXED_FIELDS)
    actions = ("compute_epochs",)
    money: ClassVar[dict[str, str]] = {
        "pool_amount": "token",
        "rate_per_row": "token",
        "rate_per_label": "token",
    }

    def get_readonly_fields(self, request: HttpRequest, obj: Bounty | None = None) -> Any:
        if obj is not None and obj.status in (BountyStatus.CLOSED, BountyStatus.CANCELLED):
            return self.with_money((*BOUNTY_SCHEDULE_FIELDS, *BOUNTY_FIXED_FIELDS))
        if obj is not None and obj.epochs_computed:
            return self.with_money(("starts_at", *BOUNTY_FIXED_FIELDS))
        return self.with_money(BOUNTY_FIXED_FIELDS)

    def apply_changes(self, obj: Bounty, **audited_changes: Any) -> None:
        bounty_schedule_change(bounty=obj, **audited_changes)

    @admin.action(description="Compute due reward epochs now")
    def compute_epochs(self, request: HttpRequest, queryset: QuerySet[Bounty]) -> None:
        done = reward_epochs_compute_due()
        self.message_user(request, f"Computed {done} due epoch(s).", messages.SUCCESS)


@admin.register(BountyFunding)
class BountyFundingAdmin(ReadOnlyAdmin, admin.ModelAdmin[BountyFunding]):
    list_display = ("bounty", "tx_hash", "status", "confirmations", "attempts", "error_code")
    list_filter = ("status",)
    search_fields = ("tx_hash", "bounty__title")
    list_select_related = ("bounty",)
