"""Reads of bounties: a dataset's list, one bounty (as the visibility policy allows), its
funding state and its pool's progress from the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Concat

from datasets_app.models import Dataset
from marketplace.core.exceptions import NotFoundError
from marketplace.core.models import User
from marketplace.core.policy import bounty_insider, bounty_visible
from payments.enums import BountyStatus, LedgerKind
from payments.models import Bounty, BountyFunding, LedgerEntry


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


def bounty_get(*, bounty_id: int, user: User | Any) -> Bounty:
    """The bounty if this person may see it (``policy.bounty_visible``: wherever its dataset is
    seen), for its page and the API alike; anything else reads as not found."""
    bounty = (
        Bounty.objects.filter(pk=bounty_id)
        .select_related("dataset__owner", "token", "sponsor")
        .first()
    )
    if bounty is None or not bounty_visible(user, bounty):
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
    if not bounty_insider(user, bounty) or not funding.error_code:
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
