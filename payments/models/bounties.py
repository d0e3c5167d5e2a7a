"""Bounties, their reward epochs, and the rewards (with the lines they were computed from)."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from datasets_app.models import Contribution, Dataset
from marketplace.core.models import BaseModel
from payments.enums import (
    BountyPaysFor,
    BountyStatus,
    RewardLineKind,
    RewardSource,
    RewardStatus,
)
from payments.models.ledger import Token, amount_field


class Bounty(BaseModel):
    """A sponsor's pool of tokens paying for accepted rows and/or agreeing labels of a
    dataset, computed epoch by epoch between ``starts_at`` and ``ends_at``."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="bounties")
    sponsor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bounties"
    )
    title = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="+")
    pays_for = models.CharField(max_length=8, choices=BountyPaysFor.choices)
    rate_per_row = amount_field(default=0)
    rate_per_label = amount_field(default=0)
    pool_amount = amount_field()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    epoch_length = models.DurationField(default=timedelta(days=1))
    status = models.CharField(
        max_length=20,
        choices=BountyStatus.choices,
        default=BountyStatus.AWAITING_FUNDING,
        db_index=True,
    )
    funded_at = models.DateTimeField(null=True, blank=True)
    # Epochs 0 .. epochs_computed-1 are done; the next epoch to compute is this number.
    epochs_computed = models.PositiveIntegerField(default=0)

    # The terms the sponsor sets at creation and nobody changes after (the pool is funded on
    # chain at these rates), and the schedule, which staff may move (``bounty_schedule_change``).
    TERMS: ClassVar[tuple[str, ...]] = (
        "title",
        "description",
        "token",
        "pays_for",
        "rate_per_row",
        "rate_per_label",
        "pool_amount",
    )
    SCHEDULE: ClassVar[tuple[str, ...]] = ("starts_at", "ends_at", "epoch_length")

    class Meta:
        verbose_name_plural = "bounties"
        ordering = ("-created_at",)
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(pool_amount__gt=0), name="bounty_pool_positive"),
            models.CheckConstraint(
                condition=Q(rate_per_row__gte=0) & Q(rate_per_label__gte=0),
                name="bounty_rates_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="bounty_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(epoch_length__gte=timedelta(minutes=1)), name="bounty_epoch_length"
            ),
            models.CheckConstraint(
                condition=(
                    Q(pays_for=BountyPaysFor.ROWS, rate_per_row__gt=0, rate_per_label=0)
                    | Q(pays_for=BountyPaysFor.LABELS, rate_per_label__gt=0, rate_per_row=0)
                    | Q(pays_for=BountyPaysFor.BOTH, rate_per_row__gt=0, rate_per_label__gt=0)
                ),
                name="bounty_rates_match_what_it_pays_for",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def pays_rows(self) -> bool:
        return self.pays_for in (BountyPaysFor.ROWS, BountyPaysFor.BOTH)

    @property
    def pays_labels(self) -> bool:
        return self.pays_for in (BountyPaysFor.LABELS, BountyPaysFor.BOTH)

    @property
    def ledger_code(self) -> str:
        return f"bounty:{self.pk}"


class RewardEpoch(models.Model):
    """One computed period of a bounty: what was asked of the pool and what it paid."""

    bounty = models.ForeignKey(Bounty, on_delete=models.PROTECT, related_name="epochs")
    number = models.PositiveIntegerField()
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    pool_before = amount_field()
    demand = amount_field()  # what the work was worth at the bounty's rates
    awarded = amount_field()  # what was paid out of the pool (≤ pool_before)
    rewards_count = models.PositiveIntegerField(default=0)
    basis = models.JSONField(default=dict)
    computed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("bounty", "number")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["bounty", "number"], name="epoch_once"),
            models.CheckConstraint(
                condition=Q(awarded__lte=F("pool_before")), name="epoch_within_pool"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bounty} · epoch {self.number + 1}"


class Reward(models.Model):
    """What one user earned from one bounty in one epoch. ``basis`` keeps every input of the
    computation, so the receipt can explain it; ``(epoch, user)`` is its unique key."""

    source = models.CharField(
        max_length=8, choices=RewardSource.choices, default=RewardSource.BOUNTY
    )
    # A bounty epoch's reward, or a share of a sale (``purchase``): exactly one of the two.
    epoch = models.ForeignKey(
        RewardEpoch, null=True, blank=True, on_delete=models.PROTECT, related_name="rewards"
    )
    bounty = models.ForeignKey(
        Bounty, null=True, blank=True, on_delete=models.PROTECT, related_name="rewards"
    )
    purchase = models.ForeignKey(
        "payments.Purchase", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rewards"
    )
    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="+")
    amount = amount_field()
    reversed_amount = amount_field(default=0)
    status = models.CharField(
        max_length=12, choices=RewardStatus.choices, default=RewardStatus.EARNED, db_index=True
    )
    basis = models.JSONField(default=dict)
    # The payout that pays it: a foreign key, so one reward is paid by at most one payout.
    payout = models.ForeignKey(
        "payments.Payout", null=True, blank=True, on_delete=models.PROTECT, related_name="rewards"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["epoch", "user"], name="reward_once_per_epoch"),
            models.UniqueConstraint(fields=["purchase", "user"], name="reward_once_per_sale"),
            models.CheckConstraint(
                condition=(
                    Q(
                        source="bounty",
                        epoch__isnull=False,
                        bounty__isnull=False,
                        purchase__isnull=True,
                    )
                    | Q(
                        source="sale",
                        purchase__isnull=False,
                        epoch__isnull=True,
                        bounty__isnull=True,
                    )
                ),
                name="reward_has_one_source",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="reward_positive"),
            models.CheckConstraint(
                condition=Q(reversed_amount__gte=0) & Q(reversed_amount__lte=F("amount")),
                name="reward_reversal_within_amount",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"reward {self.pk} to {self.user}"

    @property
    def payable_amount(self) -> int:
        return int(self.amount - self.reversed_amount)


class RewardLine(models.Model):
    """One part of a reward: the accepted rows of one contribution, or the user's agreeing
    labels of the epoch. A moderator's rejection reverses the lines of that contribution."""

    reward = models.ForeignKey(Reward, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=8, choices=RewardLineKind.choices)
    contribution = models.ForeignKey(
        Contribution, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    units = models.PositiveIntegerField()  # rows, or agreeing labels
    # units times their weight (quality score or credibility), in millionths
    weighted_micro = models.PositiveBigIntegerField()
    demand = amount_field()  # rate * weighted units, before the pool cap
    amount = amount_field()  # after the pool cap
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("reward", "kind", "id")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(kind__in=[RewardLineKind.LABELS, RewardLineKind.OWNER])
                | Q(contribution__isnull=False),
                name="reward_line_rows_name_a_contribution",
            ),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["contribution"],
                name="reward_line_contribution",
                condition=Q(contribution__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.units}"
