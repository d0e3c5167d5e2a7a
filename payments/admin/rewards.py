"""Reward epochs and rewards with their lines."""

from typing import Any, ClassVar

from django.contrib import admin
from django.http import HttpRequest

from marketplace.core.admin_actions import ModerationAdmin, service_action
from marketplace.core.admin_readonly import ReadOnlyAdmin
from payments.admin.common import MoneyAdmin
from payments.models import (
    Reward,
    RewardEpoch,
    RewardLine,
)
from payments.services.rewards import reward_reverse


@admin.register(RewardEpoch)
class RewardEpochAdmin(MoneyAdmin, ReadOnlyAdmin, admin.ModelAdmin[RewardEpoch]):
    money: ClassVar[dict[str, str]] = {
        "pool_before": "bounty.token",
        "demand": "bounty.token",
        "awarded": "bounty.token",
    }
    list_display = (
        "bounty",
        "number",
        "period_start",
        "period_end",
        "pool_before",
        "demand",
        "awarded",
        "rewards_count",
    )
    list_select_related = ("bounty__token",)


class RewardLineInline(MoneyAdmin, admin.TabularInline[RewardLine, Reward]):
    money: ClassVar[dict[str, str]] = {"demand": "reward.token", "amount": "reward.token"}
    model = RewardLine
    extra = 0
    can_delete = False
    fields = ("kind", "contribution", "units", "weighted_micro", "demand", "amount", "reversed_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Reward)
class RewardAdmin(MoneyAdmin, ModerationAdmin):
    money: ClassVar[dict[str, str]] = {"amount": "token", "reversed_amount": "token"}
    list_display = ("pk", "user", "bounty", "epoch", "amount", "reversed_amount", "status")
    list_filter = ("status",)
    search_fields = ("user__address",)
    list_select_related = ("user", "bounty", "epoch__bounty", "token")
    readonly_fields = (
        "epoch",
        "bounty",
        "user",
        "token",
        "amount",
        "reversed_amount",
        "status",
        "basis",
        "created_at",
    )
    inlines = (RewardLineInline,)
    actions = ("reverse",)

    reverse = service_action("Reverse before payout (needs a reason)", reward_reverse, "reward")
