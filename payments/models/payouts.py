"""Bounty funding claims, credited transfers, payouts and the payout switch."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from payments.enums import FundingStatus, PayoutStatus
from payments.models.bounties import Bounty
from payments.models.ledger import Token, amount_field


class CreditedTransfer(models.Model):
    """One on-chain Transfer log credited to the platform. The unique key is what stops a
    transaction hash paying twice: for two bounties, two purchases, or one of each."""

    chain_id = models.PositiveBigIntegerField()
    tx_hash = models.CharField(max_length=66)  # 0x + 64 lowercase hex
    log_index = models.PositiveIntegerField()
    block_number = models.PositiveBigIntegerField()
    block_hash = models.CharField(max_length=66)
    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="+")
    sender = models.CharField(max_length=42)
    recipient = models.CharField(max_length=42)
    amount = amount_field()
    purpose = models.CharField(max_length=40)  # "bounty:12", "purchase:7"
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["chain_id", "tx_hash", "log_index"], name="credited_transfer_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tx_hash[:10]}…#{self.log_index} → {self.purpose}"


class BountyFunding(models.Model):
    """A sponsor's claim that a transaction funds a bounty, and what verifying it found."""

    bounty = models.ForeignKey(Bounty, on_delete=models.PROTECT, related_name="fundings")
    chain_id = models.PositiveBigIntegerField()
    tx_hash = models.CharField(max_length=66)
    status = models.CharField(
        max_length=12, choices=FundingStatus.choices, default=FundingStatus.VERIFYING
    )
    attempts = models.PositiveIntegerField(default=0)
    confirmations = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=40, blank=True)
    error_detail = models.CharField(max_length=500, blank=True)
    credited = models.OneToOneField(
        CreditedTransfer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        constraints: ClassVar = [
            # A hash submitted once stays with its first claim (refused or not).
            models.UniqueConstraint(fields=["chain_id", "tx_hash"], name="funding_hash_once"),
        ]

    def __str__(self) -> str:
        return f"funding of {self.bounty_id} by {self.tx_hash[:10]}…"


class Payout(models.Model):
    """An ERC-20 transfer from the hot wallet paying a user's rewards in one token.

    Exactly once: the signed transaction (nonce, hash, raw bytes) is recorded and committed
    before it is broadcast; after a crash the same bytes are re-broadcast (one nonce can be
    mined once), and a stuck transaction is replaced with the same nonce and a higher fee.
    Every hash ever sent is kept in ``attempts``; whichever is mined settles the payout.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts"
    )
    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="+")
    to_address = models.CharField(max_length=42)
    amount = amount_field()
    status = models.CharField(
        max_length=12, choices=PayoutStatus.choices, default=PayoutStatus.QUEUED, db_index=True
    )
    from_address = models.CharField(max_length=42, blank=True)
    nonce = models.PositiveBigIntegerField(null=True, blank=True)
    tx_hash = models.CharField(max_length=66, blank=True)  # the latest attempt
    raw_tx = models.TextField(blank=True)  # signed bytes of the latest attempt (no key in it)
    max_fee_per_gas = amount_field(null=True, blank=True)
    max_priority_fee_per_gas = amount_field(null=True, blank=True)
    attempts = models.JSONField(default=list, blank=True)  # [{hash, nonce, fees, at}]
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    mined_hash = models.CharField(max_length=66, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_positive"),
            # One nonce of the hot wallet pays one payout.
            models.UniqueConstraint(
                fields=["from_address", "nonce"],
                condition=Q(nonce__isnull=False),
                name="payout_nonce_once",
            ),
            models.CheckConstraint(
                condition=Q(status=PayoutStatus.QUEUED)
                | Q(nonce__isnull=False)
                | Q(status=PayoutStatus.FAILED),
                name="payout_sent_has_nonce",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"payout {self.pk} to {self.to_address[:8]}… ({self.status})"


class PayoutControl(models.Model):
    """The staff switch: while paused, no payout is created or sent (confirmations of those
    already sent are still tracked). One row, id 1."""

    paused = models.BooleanField(default=False)
    reason = models.CharField(max_length=255, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "payout switch"
        verbose_name_plural = "payout switch"

    def __str__(self) -> str:
        return "Payouts paused" if self.paused else "Payouts running"
