from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import (
    CharField,
    Count,
    DecimalField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat

from datasets_app.models import Dataset, DatasetRelease, ReleaseStatus
from marketplace.core.exceptions import NotFoundError
from marketplace.core.models import User
from payments.enums import BountyStatus, LedgerKind
from payments.models import (
    Bounty,
    BountyFunding,
    LedgerEntry,
    LicenseGrant,
    LicenseTier,
    Payout,
    Purchase,
    Reward,
    RewardLine,
    Token,
)
from payments.services.ledger import user_code


def reward_list(*, user: User) -> QuerySet[Reward]:
    return (
        Reward.objects.filter(user=user)
        .select_related("bounty__dataset", "purchase__dataset", "epoch", "token")
        .order_by("-created_at", "-id")
    )


def reward_get(*, user: User, reward_id: int) -> Reward:
    """One of the person's rewards with its lines; someone else's is "not found" (staff see
    every reward in admin)."""
    reward = (
        Reward.objects.filter(pk=reward_id, user=user)
        .select_related("bounty__dataset", "purchase__dataset", "epoch", "token")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=RewardLine.objects.select_related("contribution").order_by("kind", "id"),
            )
        )
        .first()
    )
    if reward is None:
        raise NotFoundError("No such reward.")
    return reward


@dataclass(frozen=True)
class Balance:
    token: Token
    pending: int  # earned and not yet paid out


def earnings_balances(*, user: User) -> list[Balance]:
    """What the platform owes the person, per token: the sum of their ledger account."""
    rows = (
        LedgerEntry.objects.filter(account__user=user, account__code=user_code(user))
        .values("account__token")
        .annotate(total=Sum("amount"))
    )
    totals = {row["account__token"]: int(row["total"]) for row in rows}
    tokens = Token.objects.in_bulk(list(totals))
    return [Balance(tokens[pk], total) for pk, total in sorted(totals.items())]


def payout_list(*, user: User) -> QuerySet[Payout]:
    return Payout.objects.filter(user=user).select_related("token").order_by("-created_at", "-id")


def bounty_list(*, dataset: Dataset) -> QuerySet[Bounty]:
    """A dataset's bounties people can see, newest first, each with ``pool_left`` (base
    units, its pool's ledger balance) from the same query: no query per bounty."""
    balance = (
        LedgerEntry.objects.filter(
            account__token=OuterRef("token"),
            account__code=Concat(Value("bounty:"), Cast(OuterRef("pk"), CharField())),
        )
        .values("account")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    zero = Value(0, output_field=DecimalField(max_digits=78, decimal_places=0))
    return (
        Bounty.objects.filter(dataset=dataset)
        .exclude(status=BountyStatus.CANCELLED)
        .select_related("token", "sponsor")
        .annotate(pool_left=Coalesce(Subquery(balance), zero))
        .order_by("-created_at")
    )


def bounty_get(*, bounty_id: int) -> Bounty:
    bounty = (
        Bounty.objects.filter(pk=bounty_id)
        .select_related("dataset__owner", "token", "sponsor")
        .first()
    )
    if bounty is None:
        raise NotFoundError("No such bounty.")
    return bounty


def bounty_funding_latest(*, bounty: Bounty) -> BountyFunding | None:
    """The bounty's most recent funding claim: the one its page and API report on."""
    return bounty.fundings.order_by("-created_at", "-id").first()


@dataclass(frozen=True)
class FundingState:
    """Where a bounty's funding stands for one reader: ``status`` of the latest claim (None
    before any), and its error code and detail (a refusal, or while verifying the last
    transient reason) for the sponsor and staff only. Another sponsor's refusals are theirs."""

    status: str | None
    error_code: str = ""
    error_detail: str = ""


def bounty_funding_state(*, bounty: Bounty, user: User | Any) -> FundingState:
    funding = bounty_funding_latest(bounty=bounty)
    if funding is None:
        return FundingState(status=None)
    insider = bool(
        user is not None
        and user.is_authenticated
        and (user.is_staff or user.pk == bounty.sponsor_id)
    )
    if not insider or not funding.error_code:
        return FundingState(status=funding.status)
    return FundingState(
        status=funding.status, error_code=funding.error_code, error_detail=funding.error_detail
    )


@dataclass(frozen=True)
class PoolProgress:
    funded: int  # credited to the pool on chain
    awarded: int  # rewarded to contributors, net of reversals
    left: int  # what the pool still holds (its ledger balance)
    epochs: list[dict[str, object]]  # per computed epoch: number, end, awarded, left after


def bounty_pool_progress(*, bounty: Bounty) -> PoolProgress:
    """Spent and left of a bounty's pool, from the ledger, with a point per epoch for a chart."""
    rows = (
        LedgerEntry.objects.filter(account__token=bounty.token, account__code=bounty.ledger_code)
        .values_list("transaction__kind")
        .annotate(total=Sum("amount"))
    )
    by_kind = {kind: int(total) for kind, total in rows}
    funded = by_kind.get(LedgerKind.FUNDING, 0)
    left = sum(by_kind.values())
    running = funded
    epochs: list[dict[str, object]] = []
    for epoch in bounty.epochs.order_by("number"):
        running -= int(epoch.awarded)
        epochs.append(
            {
                "number": epoch.number + 1,
                "end": epoch.period_end.isoformat(),
                "awarded": int(epoch.awarded),
                "left": running,
            }
        )
    return PoolProgress(funded=funded, awarded=funded - left, left=left, epochs=epochs)


def tokens_accepted() -> QuerySet[Token]:
    """The tokens bounties and licenses may be priced in, on our chain."""
    return Token.objects.filter(is_active=True, chain_id=settings.CHAIN_ID).order_by("symbol")


def license_tier_list(*, dataset: Dataset, active_only: bool = True) -> QuerySet[LicenseTier]:
    """A dataset's license tiers with their token (and how many grants each has made)."""
    tiers = LicenseTier.objects.filter(dataset=dataset).select_related("token")
    if active_only:
        return tiers.filter(is_active=True).order_by("price", "name")
    return tiers.annotate(grant_count=Count("grants")).order_by("-is_active", "price", "name")


def license_grant_active(*, user: User | Any, dataset: Dataset) -> LicenseGrant | None:
    """The person's newest license on the dataset that is neither revoked nor expired."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        LicenseGrant.objects.active()
        .filter(buyer=user, dataset=dataset)
        .select_related("tier")
        .order_by("-created_at", "-id")
        .first()
    )


def purchase_list(*, user: User) -> QuerySet[Purchase]:
    """The person's orders, newest first, with what their pages and the API show."""
    return (
        Purchase.objects.filter(buyer=user)
        .select_related("dataset", "token", "tier", "grant")
        .order_by("-created_at", "-id")
    )


def purchase_get(*, user: User, purchase_id: int) -> Purchase:
    """One of the person's orders; anyone else's does not exist."""
    purchase = purchase_list(user=user).filter(pk=purchase_id).first()
    if purchase is None:
        raise NotFoundError("No such purchase.")
    return purchase


def release_latest_ready(*, dataset: Dataset) -> DatasetRelease | None:
    """The dataset's newest ready release: the version a license bought now covers (whatever
    its tier's coverage). One query."""
    return (
        DatasetRelease.objects.filter(dataset=dataset, status=ReleaseStatus.READY)
        .order_by("-number")
        .first()
    )
