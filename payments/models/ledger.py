"""Tokens we accept, and the double-entry ledger every movement of value goes through.

An account is a named bucket of one token (``world``, ``bounty:12``, ``user:5``,
``payouts:pending``, ``fees``). A ledger transaction moves value between accounts with signed
entries that sum to zero; a balance is the sum of an account's entries. ``world`` stands for
every wallet outside the platform, so minus its balance is what the treasury and hot wallet
should hold on chain. The database refuses an unbalanced transaction and any UPDATE or DELETE
(migration ``0003_ledger_rules``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from payments.enums import LedgerKind

if TYPE_CHECKING:
    from marketplace.core.models import User

# Account codes (see the docstring above): ``user_code`` names a person's account.
WORLD = "world"  # every wallet outside the platform
PAYOUTS_PENDING = "payouts:pending"  # payouts queued or sent, not yet confirmed on chain
FEES = "fees"


def user_code(user: User | int) -> str:
    """``user:<id>`` for a user or a user id."""
    return f"user:{user if isinstance(user, int) else user.pk}"


def amount_field(**kwargs: Any) -> models.DecimalField[Any, Any]:
    """A token amount: an integer up to uint256 in base units (never a float)."""
    return models.DecimalField(max_digits=78, decimal_places=0, **kwargs)


class Token(models.Model):
    """An ERC-20 the platform takes for bounties and licenses (an allow-list)."""

    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)  # EIP-55
    symbol = models.CharField(max_length=16)
    decimals = models.PositiveSmallIntegerField()
    # The EIP-712 domain its EIP-3009 authorizations are signed in (x402 payments): read from
    # the contract (ERC-5267) the first time a 402 names the token, then kept.
    eip712_name = models.CharField(max_length=100, blank=True)
    eip712_version = models.CharField(max_length=20, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("symbol",)
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="token_unique_address"),
            models.CheckConstraint(condition=Q(decimals__lte=36), name="token_decimals_range"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} ({self.address[:8]}… on {self.chain_id})"


class LedgerAccount(models.Model):
    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=64)
    # Set for a user's account, so pages find it without parsing codes.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["token", "code"], name="ledger_account_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} [{self.token.symbol}]"


class LedgerTransaction(models.Model):
    kind = models.CharField(max_length=16, choices=LedgerKind.choices)
    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="+")
    # One business event posts once: "reward:41", "payout:7:confirmed", ...
    idempotency_key = models.CharField(max_length=120, unique=True)
    memo = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.idempotency_key}"


class LedgerEntry(models.Model):
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount = amount_field()  # signed: + into the account, - out of it

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints: ClassVar = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_not_zero"),
        ]
        indexes: ClassVar = [models.Index(fields=["account", "transaction"])]

    def __str__(self) -> str:
        return f"{self.amount:+} {self.account.code}"
