"""Reward epochs: turning validated work into tokens owed, and reversing them.

For each closed epoch of an open bounty, ``reward_epoch_compute`` pays

* accepted rows: per contributor and contribution, the rows of contributions whose validation
  finished in the epoch, each weighted by its row quality score (0..1);
* agreeing labels: per labeler, the labels that match the consensus of items decided in the
  epoch, weighted by the labeler's accuracy ``a`` corrected for chance and squared:
  ``max(0, (a - 1/K) / (1 - 1/K)) ** 2`` for K classes (a labeler who agrees no more than
  guessing would is worth nothing). ``a`` is the labeler's credibility, capped by their gold
  answers when they have any: agreement with consensus can be manufactured by accounts that
  copy one another, gold answers cannot. Span and box labels agree by degree: each counts its
  F1 against the item's consensus instead of 1 (``reward_lines``).

``demand = rate * weighted units`` per line, in base units (weights are integer millionths, so
no floats reach money). When the epoch's demand exceeds what is left in the pool, every line
gets ``floor(demand * pool / total demand)``; the floors' remainder stays in the pool. Each
reward keeps its lines and a ``basis`` with every input, for the contributor's receipt, and
posts one ledger transaction (bounty pool → user).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from datasets_app.enums import ContributionStatus
from marketplace.core.models import User
from marketplace.core.services import audit_log_record
from marketplace.core.staff import staff_reason_check
from payments.enums import BountyStatus, LedgerKind, RewardLineKind, RewardStatus
from payments.exceptions import RewardError
from payments.models import Bounty, Reward, RewardEpoch, RewardLine
from payments.services.ledger import (
    FEES,
    Move,
    ledger_balance,
    ledger_post,
    ledger_post_many,
    user_code,
)
from payments.services.reward_lines import (
    MICRO,
    Line,
    label_accuracy,
    label_basis,
    label_lines,
    label_weight_micro,
    reward_lines_create,
)

logger = logging.getLogger(__name__)

FORMULA = (
    "line demand = rate * weighted units; "
    "rows weighted by row quality score, labels by the square of the labeler's accuracy "
    "corrected for chance (credibility, capped by gold accuracy when there is gold), "
    "span and box labels also by their F1 against consensus; "
    "if the epoch's demand exceeds the pool, each line gets floor(demand * pool / demand total)"
)


def epoch_bounds(bounty: Bounty) -> tuple[datetime, datetime]:
    """The next window to compute, [start, end). It starts where the last computed epoch ended
    (at ``starts_at`` before the first), never at ``starts_at + number * epoch_length``: staff
    may change the epoch length or the end of a running bounty, and each row or label must still
    fall in exactly one window (none paid twice, none skipped)."""
    start = bounty.starts_at
    if bounty.epochs_computed:
        start = (
            RewardEpoch.objects.filter(bounty=bounty, number=bounty.epochs_computed - 1)
            .values_list("period_end", flat=True)
            .get()
        )
    return start, min(start + bounty.epoch_length, bounty.ends_at)


def epochs_computed_until(bounty: Bounty) -> datetime | None:
    """Where the computed (and paid) windows end: the schedule cannot move before it."""
    if not bounty.epochs_computed:
        return None
    return epoch_bounds(bounty)[0]


def _row_lines(bounty: Bounty, start: datetime, end: datetime) -> list[Line]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.contributor_id, c.id, count(i.id),
                   sum(round(greatest(least(i.quality_score, 1), 0) * %s))::bigint
              FROM datasets_app_contribution c
              JOIN core_user u ON u.id = c.contributor_id AND u.is_active
              JOIN datasets_app_item i ON i.contribution_id = c.id
             WHERE c.dataset_id = %s AND c.validated_at >= %s AND c.validated_at < %s
               AND c.status = ANY(%s) AND NOT i.is_hidden AND NOT i.is_gold
             GROUP BY c.contributor_id, c.id
            """,
            [
                MICRO,
                bounty.dataset_id,
                start,
                end,
                [str(ContributionStatus.ACCEPTED), str(ContributionStatus.PARTIALLY_ACCEPTED)],
            ],
        )
        return [
            Line(user, RewardLineKind.ROWS, contribution, units, weighted, None)
            for user, contribution, units, weighted in cursor.fetchall()
        ]


def _price(lines: list[Line], bounty: Bounty, pool: int) -> tuple[int, bool]:
    """Set each line's demand and amount; returns (total demand, whether the pool capped it)."""
    for line in lines:
        rate = int(
            bounty.rate_per_row if line.kind == RewardLineKind.ROWS else bounty.rate_per_label
        )
        line.demand = rate * line.weighted_micro // MICRO
    total = sum(line.demand for line in lines)
    capped = total > pool
    for line in lines:
        line.amount = line.demand * pool // total if capped else line.demand
    return total, capped


def _basis(bounty: Bounty, lines: list[Line], epoch: dict[str, Any]) -> dict[str, Any]:
    rows = [line for line in lines if line.kind == RewardLineKind.ROWS]
    labels = [line for line in lines if line.kind == RewardLineKind.LABELS]
    basis: dict[str, Any] = {"formula": FORMULA, "epoch": epoch}
    if rows:
        basis["rows"] = {
            "rate": str(bounty.rate_per_row),
            "contributions": len(rows),
            "accepted_rows": sum(line.units for line in rows),
            "quality_weighted_rows": sum(line.weighted_micro for line in rows) / MICRO,
            "demand": str(sum(line.demand for line in rows)),
            "amount": str(sum(line.amount for line in rows)),
        }
    if labels:
        (line,) = labels
        basis["labels"] = label_basis(str(bounty.rate_per_label), line)
    return basis


@transaction.atomic
def reward_epoch_compute(*, bounty_id: int, now: datetime | None = None) -> RewardEpoch | None:
    """Compute the bounty's next epoch if it has ended; None when nothing is due.

    Safe to run twice and at once: the bounty row is locked, ``epochs_computed`` says which
    epoch is next, and ``(bounty, number)`` is unique.
    """
    now = now or timezone.now()
    bounty = (
        Bounty.objects.select_for_update()
        .select_related("dataset", "token")
        .filter(pk=bounty_id, status=BountyStatus.OPEN)
        .first()
    )
    if bounty is None:
        return None
    number = bounty.epochs_computed
    start, end = epoch_bounds(bounty)
    if start >= bounty.ends_at or end > now:
        return None
    pool = ledger_balance(token=bounty.token, code=bounty.ledger_code)
    lines = (_row_lines(bounty, start, end) if bounty.pays_rows else []) + (
        label_lines(bounty.dataset, start, end) if bounty.pays_labels else []
    )
    demand, capped = _price(lines, bounty, pool)
    by_user: dict[int, list[Line]] = defaultdict(list)
    for line in lines:
        if line.amount > 0:
            by_user[line.user_id].append(line)
    awarded = sum(line.amount for paid in by_user.values() for line in paid)
    summary = {
        "number": number + 1,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "pool_before": str(pool),
        "demand": str(demand),
        "capped_by_pool": capped,
    }
    epoch = RewardEpoch.objects.create(
        bounty=bounty,
        number=number,
        period_start=start,
        period_end=end,
        pool_before=pool,
        demand=demand,
        awarded=awarded,
        rewards_count=len(by_user),
        basis={**summary, "formula": FORMULA, "lines": len(lines)},
    )
    rewards = Reward.objects.bulk_create(
        Reward(
            epoch=epoch,
            bounty=bounty,
            user_id=user_id,
            token=bounty.token,
            amount=sum(line.amount for line in paid),
            basis=_basis(bounty, paid, summary),
        )
        for user_id, paid in sorted(by_user.items())
    )
    reward_lines_create((reward, line) for reward in rewards for line in by_user[reward.user_id])
    ledger_post_many(
        kind=LedgerKind.REWARD,
        token=bounty.token,
        postings=(
            (
                f"reward:{reward.pk}",
                Move(bounty.ledger_code, user_code(reward.user_id), int(reward.amount)),
            )
            for reward in rewards
        ),
        memo=f"bounty {bounty.pk} epoch {number + 1}",
    )
    bounty.epochs_computed = number + 1
    if end >= bounty.ends_at:
        bounty.status = BountyStatus.CLOSED
    bounty.save(update_fields=["epochs_computed", "status", "updated_at"])
    audit_log_record(
        action="bounty.epoch_computed",
        target=bounty,
        data={**summary, "awarded": str(awarded), "rewards": len(rewards)},
    )
    return epoch


def reward_epochs_compute_due(*, now: datetime | None = None) -> int:
    """Compute every due epoch of every open bounty (the beat task and the admin action).
    Each epoch commits on its own, so a failure keeps the epochs before it."""
    done = 0
    for bounty_id in Bounty.objects.filter(status=BountyStatus.OPEN).values_list("pk", flat=True):
        while reward_epoch_compute(bounty_id=bounty_id, now=now) is not None:
            done += 1
    return done


def _funded_from(reward: Reward) -> str:
    """Where a reversed reward goes back to: its bounty's pool; a share of a sale goes to the
    platform's fees account (the buyer paid; staff decide any refund)."""
    return reward.bounty.ledger_code if reward.bounty is not None else FEES


def _reverse_amount(
    reward: Reward, amount: int, *, key: str, actor: User | None, reason: str
) -> None:
    ledger_post(
        kind=LedgerKind.REVERSAL,
        token=reward.token,
        moves=[Move(user_code(reward.user_id), _funded_from(reward), amount)],
        idempotency_key=key,
        memo=reason,
        actor=actor,
    )
    reward.reversed_amount += amount  # the caller holds the row lock
    if reward.reversed_amount == reward.amount:
        reward.status = RewardStatus.REVERSED
    reward.save(update_fields=["reversed_amount", "status"])


@transaction.atomic
def rewards_reverse_for_contribution(
    *, contribution_id: int, actor: User | None, reason: str
) -> int:
    """A moderator rejected a contribution: the unpaid reward lines it earned go back to
    their bounty's pool. Returns the base units reversed; paid lines are left (and logged)."""
    lines = list(
        RewardLine.objects.select_for_update()
        .filter(contribution_id=contribution_id, reversed_at__isnull=True)
        .order_by("reward_id", "pk")
    )
    reversed_total = 0
    already_paid = []
    for line in lines:
        reward = (
            Reward.objects.select_for_update(of=("self",))
            .select_related("bounty")
            .get(pk=line.reward_id)
        )
        if reward.status != RewardStatus.EARNED or reward.payout_id is not None:
            already_paid.append(reward.pk)  # paid, or in a payout already on its way
            continue
        if line.amount > 0:
            _reverse_amount(
                reward,
                int(line.amount),
                key=f"reversal:line:{line.pk}",
                actor=actor,
                reason=reason,
            )
        line.reversed_at = timezone.now()
        line.save(update_fields=["reversed_at"])
        reversed_total += int(line.amount)
    if lines:
        audit_log_record(
            action="rewards.reversed_for_contribution",
            actor=actor,
            data={
                "contribution": contribution_id,
                "reversed": str(reversed_total),
                "already_paid_rewards": already_paid,
                "reason": reason,
            },
        )
    return reversed_total


@transaction.atomic
def reward_reverse(*, reward: Reward, actor: User, reason: str) -> Reward:
    """Staff reverse what is left of an unpaid reward (e.g. the work turned out to be fraud)."""
    staff_reason_check(
        actor=actor, reason=reason, denied="Only staff reverse rewards.", error=RewardError
    )
    reward = (
        Reward.objects.select_for_update(of=("self",)).select_related("bounty").get(pk=reward.pk)
    )
    if reward.status == RewardStatus.PAID:
        raise RewardError(
            "This reward is already paid: it can no longer be reversed.", code="already_paid"
        )
    if reward.status == RewardStatus.REVERSED:
        raise RewardError("This reward is already reversed.", code="already_reversed")
    if reward.payout_id is not None:
        raise RewardError(
            "This reward is in a payout already: it can no longer be reversed.",
            code="in_payout",
        )
    _reverse_rest(reward, actor=actor, reason=reason)
    return reward


def _reverse_rest(reward: Reward, *, actor: User | None, reason: str) -> None:
    remaining = reward.payable_amount
    _reverse_amount(
        reward, remaining, key=f"reversal:reward:{reward.pk}", actor=actor, reason=reason
    )
    RewardLine.objects.filter(reward=reward, reversed_at__isnull=True).update(
        reversed_at=timezone.now()
    )
    audit_log_record(
        action="reward.reversed",
        actor=actor,
        target=reward,
        data={"amount": str(remaining), "reason": reason},
    )


def reward_reverse_silently(*, reward: Reward, actor: User | None, reason: str) -> bool:
    """Reverse what is left of a reward if it is still unpaid and in no payout (a refund's
    shares); whether it did. The caller holds the transaction."""
    reward = (
        Reward.objects.select_for_update(of=("self",)).select_related("bounty").get(pk=reward.pk)
    )
    if reward.status != RewardStatus.EARNED or reward.payout_id is not None:
        return False
    if reward.payable_amount > 0:
        _reverse_rest(reward, actor=actor, reason=reason)
    return True


__all__ = [
    "epoch_bounds",
    "epochs_computed_until",
    "label_accuracy",
    "label_weight_micro",
    "reward_epoch_compute",
    "reward_epochs_compute_due",
    "reward_reverse",
    "rewards_reverse_for_contribution",
]
