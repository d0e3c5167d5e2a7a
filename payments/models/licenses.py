"""License tiers, purchases paid on chain, and the license grants they give."""

from __future__ import annotations

import hashlib
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from datasets_app.models import Dataset, DatasetRelease
from marketplace.core.models import BaseModel
from payments.enums import LicenseCoverage, PurchaseStatus
from payments.models.ledger import Token, amount_field
from payments.models.payouts import CreditedTransfer


class LicenseTier(BaseModel):
    """One way to license a dataset: terms, commercial use, price, duration, versions."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="license_tiers")
    name = models.CharField(max_length=80)
    spdx_id = models.CharField(max_length=64, blank=True)  # e.g. "CC-BY-4.0"
    custom_terms = models.TextField(blank=True)
    commercial = models.BooleanField(default=False)
    price = amount_field(default=0)  # base units of ``token``; 0 is a free tier
    token = models.ForeignKey(
        Token, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    duration = models.DurationField(null=True, blank=True)  # None: perpetual
    covers = models.CharField(
        max_length=10, choices=LicenseCoverage.choices, default=LicenseCoverage.RELEASED
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ("dataset", "price", "name")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(price__gte=0), name="tier_price_not_negative"),
            models.CheckConstraint(
                condition=Q(price=0) | Q(token__isnull=False), name="tier_priced_in_a_token"
            ),
            models.CheckConstraint(
                condition=~Q(spdx_id="") | ~Q(custom_terms=""), name="tier_has_terms"
            ),
            models.UniqueConstraint(fields=["dataset", "name"], name="tier_name_once"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset}: {self.name}"

    @property
    def terms(self) -> str:
        return self.spdx_id or self.custom_terms

    @property
    def terms_hash(self) -> str:
        """sha256 of the terms as shown to the buyer: the receipt commits to them."""
        return hashlib.sha256(self.terms.encode()).hexdigest()

    @property
    def is_free(self) -> bool:
        return bool(self.price == 0)


class Purchase(models.Model):
    """An order for a license: what to pay, where, and what the chain showed."""

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="purchases"
    )
    tier = models.ForeignKey(LicenseTier, on_delete=models.PROTECT, related_name="purchases")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="+")
    amount = amount_field()
    pay_to = models.CharField(max_length=42)
    chain_id = models.PositiveBigIntegerField()
    status = models.CharField(
        max_length=20,
        choices=PurchaseStatus.choices,
        default=PurchaseStatus.AWAITING_PAYMENT,
        db_index=True,
    )
    expires_at = models.DateTimeField()
    tx_hash = models.CharField(max_length=66, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # When the payment was submitted or last checked: a confirming order left untouched for
    # long lost its task, and the sweeper sends another.
    checked_at = models.DateTimeField(null=True, blank=True)
    confirmations = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=40, blank=True)
    error_detail = models.CharField(max_length=500, blank=True)
    credited = models.OneToOneField(
        CreditedTransfer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Set when a credited payment is no longer on the canonical chain (a re-org): staff look.
    flagged = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    refund_tx_hash = models.CharField(max_length=66, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="purchase_positive"),
            models.UniqueConstraint(
                fields=["chain_id", "tx_hash"], condition=~Q(tx_hash=""), name="purchase_hash_once"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["buyer", "-created_at"])]

    def __str__(self) -> str:
        return f"purchase {self.pk} of {self.tier}"


class LicenseGrantQuerySet(models.QuerySet["LicenseGrant"]):
    def active(self) -> LicenseGrantQuerySet:
        """Grants that are neither revoked nor expired: the one rule every reader uses."""
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )


class LicenseGrant(models.Model):
    """The right to download: from a paid purchase, or a free tier. ``releases`` are the
    versions it covers (``covers_future``: and every later one)."""

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="license_grants"
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    tier = models.ForeignKey(LicenseTier, on_delete=models.PROTECT, related_name="grants")
    purchase = models.OneToOneField(
        Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="grant"
    )
    releases = models.ManyToManyField(DatasetRelease, related_name="+", blank=True)
    covers_future = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=255, blank=True)
    # The EIP-712 license receipt: the typed data, and the platform key's signature over it.
    receipt = models.JSONField(default=dict, blank=True)
    signature = models.CharField(max_length=140, blank=True)
    signer = models.CharField(max_length=42, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LicenseGrantQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        indexes: ClassVar = [models.Index(fields=["buyer", "dataset"])]

    def __str__(self) -> str:
        return f"{self.tier} → {self.buyer}"


class ChainCursor(models.Model):
    """How far a chain scanner has read (the last block it finished), by scanner name."""

    name = models.CharField(max_length=60, unique=True)
    block = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at block {self.block}"
