from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from marketplace.core.admin_actions import ModerationAdmin, ServiceChangeAdmin, run_with_reason
from marketplace.core.exceptions import ApplicationError
from payments.enums import BountyStatus
from payments.models import (
    Bounty,
    BountyFunding,
    CreditedTransfer,
    LedgerEntry,
    LedgerTransaction,
    LicenseGrant,
    LicenseTier,
    Payout,
    PayoutControl,
    Purchase,
    Reward,
    RewardEpoch,
    RewardLine,
    Token,
)
from payments.services.bounties import bounty_schedule_change
from payments.services.licenses import license_grant_revoke
from payments.services.payouts import payout_retry, payouts_set_paused
from payments.services.purchases import purchase_refund
from payments.services.rewards import reward_epochs_compute_due, reward_reverse
from payments.services.tokens import token_register, token_update
from payments.templatetags.money import format_amount


def _amount_display(field: str, token_path: str, description: str) -> Callable[..., SafeString]:
    token_of = attrgetter(token_path)

    @admin.display(description=description, ordering=field)
    def show(modeladmin: Any, obj: Any) -> SafeString:
        value = getattr(obj, field)
        if value is None:
            return format_html("{}", "—")
        token = token_of(obj)
        shown = format_amount(value, token.decimals, token.symbol) if token else f"{value:,}"
        return format_html('<span class="amount" title="{} base units">{}</span>', value, shown)

    return show


class MoneyAdmin:
    """Shows token amounts (integers in base units) with their token's decimals and symbol:
    each field of ``money`` (field -> attribute path to its Token) is replaced, in lists and
    forms alike, by a read-only ``<field>_shown``. Amounts are never edited in admin."""

    money: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        opts = cls.__dict__.get("model") or getattr(cls, "model", None)
        for field, token_path in cls.money.items():
            description = field.replace("_", " ")
            if opts is not None:
                description = str(opts._meta.get_field(field).verbose_name)
            setattr(cls, f"{field}_shown", _amount_display(field, token_path, description))

    def _shown(self, names: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for name in names:
            name = f"{name}_shown" if name in self.money else name
            if name not in out:
                out.append(name)
        return out

    def get_list_display(self, request: HttpRequest) -> Any:
        return self._shown(super().get_list_display(request))  # type: ignore[misc]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self._shown(super().get_fields(request, obj))  # type: ignore[misc]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.with_money(super().get_readonly_fields(request, obj))  # type: ignore[misc]

    def with_money(self, readonly: Sequence[str]) -> list[str]:
        """``readonly`` plus the shown amounts, and the raw ones (kept out of every form)."""
        extra = [f"{field}_shown" for field in self.money] + list(self.money)
        return [*readonly, *(name for name in extra if name not in readonly)]


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Money rows are written by services only; admin shows them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Token)
class TokenAdmin(ServiceChangeAdmin):
    """Adding a token registers it from its contract (symbol and decimals read on chain); after
    that only its symbol and whether it is accepted change, through ``token_update`` with a
    reason. Chain, address and decimals are fixed: stored amounts are in its base units."""

    list_display = ("symbol", "address", "chain_id", "decimals", "is_active")
    list_filter = ("chain_id", "is_active")
    actions = ("deactivate", "activate")

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
        changes = form.changes()
        if changes:
            token_update(
                token=obj,
                actor=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data["reason"],
                **changes,
            )

    @admin.action(description="Stop accepting the selected tokens (needs a reason)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Token]) -> None:
        run_with_reason(
            self,
            request,
            queryset,
            lambda t, actor, reason: token_update(
                token=t, actor=actor, reason=reason, is_active=False
            ),
        )

    @admin.action(description="Accept the selected tokens again (needs a reason)")
    def activate(self, request: HttpRequest, queryset: QuerySet[Token]) -> None:
        run_with_reason(
            self,
            request,
            queryset,
            lambda t, actor, reason: token_update(
                token=t, actor=actor, reason=reason, is_active=True
            ),
        )


# The money and dataset of a bounty are fixed at creation: the sponsor funds exactly this pool on
# chain, and rewards already computed were priced at these rates (a bigger pool is another
# on-chain funding). Only the schedule changes, through ``bounty_schedule_change``.
BOUNTY_FIXED_FIELDS = (
    "dataset",
    "sponsor",
    "title",
    "description",
    "token",
    "pays_for",
    "rate_per_row",
    "rate_per_label",
    "pool_amount",
    "status",
    "funded_at",
    "epochs_computed",
    "created_at",
    "updated_at",
)
BOUNTY_SCHEDULE_FIELDS = ("starts_at", "ends_at", "epoch_length")


@admin.register(Bounty)
class BountyAdmin(MoneyAdmin, ServiceChangeAdmin):
    """Everything but the schedule is read-only; a schedule change needs a reason and goes
    through ``bounty_schedule_change``, which keeps epoch windows contiguous."""

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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # sponsors create bounties on the site, and fund them on chain

    def save_model(self, request: HttpRequest, obj: Bounty, form: Any, change: bool) -> None:
        changes = form.changes()
        if changes:
            bounty_schedule_change(
                bounty=obj,
                actor=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data["reason"],
                **changes,
            )

    @admin.action(description="Compute due reward epochs now")
    def compute_epochs(self, request: HttpRequest, queryset: QuerySet[Bounty]) -> None:
        done = reward_epochs_compute_due()
        self.message_user(request, f"Computed {done} due epoch(s).", messages.SUCCESS)


@admin.register(RewardEpoch)
class RewardEpochAdmin(MoneyAdmin, ReadOnlyAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Reverse before payout (needs a reason)")
    def reverse(self, request: HttpRequest, queryset: QuerySet[Reward]) -> None:
        run_with_reason(
            self,
            request,
            queryset,
            lambda r, actor, reason: reward_reverse(reward=r, actor=actor, reason=reason),
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
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "idempotency_key", "token", "memo", "actor")
    list_filter = ("kind", "token")
    search_fields = ("idempotency_key", "memo")
    list_select_related = ("token", "actor")
    inlines = (LedgerEntryInline,)


@admin.register(BountyFunding)
class BountyFundingAdmin(ReadOnlyAdmin):
    list_display = ("bounty", "tx_hash", "status", "confirmations", "attempts", "error_code")
    list_filter = ("status",)
    search_fields = ("tx_hash", "bounty__title")
    list_select_related = ("bounty",)


@admin.register(CreditedTransfer)
class CreditedTransferAdmin(MoneyAdmin, ReadOnlyAdmin):
    money: ClassVar[dict[str, str]] = {"amount": "token"}
    list_display = ("tx_hash", "log_index", "purpose", "sender", "amount", "block_number")
    list_select_related = ("token",)
    search_fields = ("tx_hash", "sender", "purpose")


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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry the selected failed payouts (needs a reason)")
    def retry(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        run_with_reason(
            self,
            request,
            queryset,
            lambda p, actor, reason: payout_retry(payout=p, actor=actor, reason=reason),
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
class PayoutControlAdmin(ReadOnlyAdmin):
    """Shows the switch; it is flipped with the payout list's actions, which audit it."""

    list_display = ("__str__", "reason", "changed_by", "changed_at")


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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Refund on chain and revoke the license (needs a reason)")
    def refund(self, request: HttpRequest, queryset: QuerySet[Purchase]) -> None:
        run_with_reason(
            self,
            request,
            queryset,
            lambda p, actor, reason: purchase_refund(purchase=p, actor=actor, reason=reason),
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke (downloads stop at once; needs a reason)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[LicenseGrant]) -> None:
        run_with_reason(
            self,
            request,
            queryset,
            lambda g, actor, reason: license_grant_revoke(grant=g, actor=actor, reason=reason),
        )
