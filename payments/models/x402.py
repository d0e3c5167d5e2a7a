"""x402 payments: EIP-3009 authorizations an agent signs and we settle from the hot wallet."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q

from payments.enums import X402Status
from payments.models.ledger import Token, amount_field
from payments.models.licenses import LicenseTier, Purchase


class X402Payment(models.Model):
    """One ``transferWithAuthorization`` from a payer to the treasury, settled by us.

    Exactly once, like a payout: the row is claimed (unique per payer, token and
    authorization nonce) before anything is sent, and the signed settlement transaction (hot
    wallet nonce, hash, raw bytes) is recorded and committed before it is broadcast. Whatever
    happens to the request, the row says what was sent, and ``x402_reconcile`` finishes it from
    the chain: the same authorization sent twice, or to two files at once, settles once.
    """

    chain_id = models.PositiveBigIntegerField()
    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="+")
    tier = models.ForeignKey(LicenseTier, on_delete=models.PROTECT, related_name="+")
    payer = models.CharField(max_length=42)  # EIP-55; the authorization's ``from``
    pay_to = models.CharField(max_length=42)
    amount = amount_field()
    auth_nonce = models.CharField(max_length=66)  # the authorization's bytes32 nonce, 0x-hex
    valid_after = models.PositiveBigIntegerField()
    valid_before = models.PositiveBigIntegerField()
    payload = models.JSONField()  # the x402 payment payload as received (no secret in it)
    requirements = models.JSONField()  # what we asked for
    resource = models.CharField(max_length=500)
    status = models.CharField(
        max_length=12, choices=X402Status.choices, default=X402Status.VERIFYING, db_index=True
    )
    error_code = models.CharField(max_length=60, blank=True)
    error_detail = models.CharField(max_length=500, blank=True)
    # The settlement transaction, recorded before broadcast (as a payout's).
    from_address = models.CharField(max_length=42, blank=True)
    tx_nonce = models.PositiveBigIntegerField(null=True, blank=True)
    tx_hash = models.CharField(max_length=66, blank=True)
    raw_tx = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)  # settlement checks so far
    checked_at = models.DateTimeField(null=True, blank=True)  # the last one (the sweeper's cue)
    purchase = models.OneToOneField(
        Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="x402"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "x402 payment"
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="x402_positive"),
            # EIP-3009 nonces are per authorizer and token: one row per authorization.
            models.UniqueConstraint(
                fields=["chain_id", "token", "payer", "auth_nonce"], name="x402_authorization_once"
            ),
            models.UniqueConstraint(
                fields=["from_address", "tx_nonce"],
                condition=Q(tx_nonce__isnull=False),
                name="x402_tx_nonce_once",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[X402Status.BROADCAST, X402Status.SETTLED])
                | (Q(tx_nonce__isnull=False) & ~Q(raw_tx="")),
                name="x402_sent_is_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"x402 {self.pk} from {self.payer[:8]}… ({self.status})"
