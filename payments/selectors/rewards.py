"""Reads of what people earn: rewards with their lines, balances owed, payouts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet, Sum

from marketplace.core.exceptions import NotFoundError
from marketplace.core.models import User
from payments.models import LedgerEntry, Payout, Reward, RewardLine, Token


def reward_list(*, user: User) -> QuerySet[Reward]:
    """The person's rewards, newest first (the model's ordering)."""
    return Reward.objects.filter(user=user).select_related(
        "bounty__dataset", "purchase__dataset", "epoch", "token"
    )


def reward_get(*, user: User, reward_id: int) -> Reward:
    """One of the person's rewards with its lines; someone else's is "not found" (staff see
    every reward in admin)."""
    reward = (
        reward_list(user=user)
        .filter(pk=reward_id)
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
    """What the platform owes the person, per token: the sum of their ledger account. Only a
    person's own account (``user:<id>``) has its ``user`` set, so no code is spelt here."""
    rows = (
        LedgerEntry.objects.filter(account__user=user)
        .values("account__token")
        .annotate(total=Sum("amount"))
    )
    totals = {row["account__token"]: int(row["total"]) for row in rows}
    tokens = Token.objects.in_bulk(list(totals))
    return [Balance(tokens[pk], total) for pk, total in sorted(totals.items())]


def payout_list(*, user: User) -> QuerySet[Payout]:
    return Payout.objects.filter(user=user).select_related("token").order_by("-created_at", "-id")
