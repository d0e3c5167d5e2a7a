from django.db import models


class BountyStatus(models.TextChoices):
    AWAITING_FUNDING = "awaiting_funding", "Awaiting funding"
    VERIFYING = "verifying", "Verifying the funding transaction"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class BountyPaysFor(models.TextChoices):
    ROWS = "rows", "Accepted rows"
    LABELS = "labels", "Consensus-agreeing labels"
    BOTH = "both", "Rows and labels"


class RewardStatus(models.TextChoices):
    EARNED = "earned", "Earned (payable)"
    PAID = "paid"
    REVERSED = "reversed"


class RewardLineKind(models.TextChoices):
    ROWS = "rows", "Accepted rows"
    LABELS = "labels", "Agreeing labels"
    OWNER = "owner", "Dataset owner's share"


class LedgerKind(models.TextChoices):
    """What moved: each ledger transaction has one kind."""

    FUNDING = "funding", "Bounty funding"
    REWARD = "reward"
    REVERSAL = "reversal", "Reward reversal"
    PAYOUT = "payout"
    PAYOUT_RETURN = "payout_return", "Failed payout returned"
    SALE = "sale", "License sale"
    FEE = "fee", "Platform fee"
    REFUND = "refund"


class FundingStatus(models.TextChoices):
    VERIFYING = "verifying", "Verifying on chain"
    VERIFIED = "verified"
    REFUSED = "refused"


class PayoutStatus(models.TextChoices):
    """A payout's transfer from the hot wallet: queued until it is signed and broadcast, then sent
    until it is mined (confirmed), or reverts or loses its nonce to another transaction (failed:
    the amount returns to the earner's balance, and staff may queue it again)."""

    QUEUED = "queued"
    SENT = "sent"
    CONFIRMED = "confirmed"
    FAILED = "failed"


class LicenseCoverage(models.TextChoices):
    ALL = "all", "Every version, including future ones"
    RELEASED = "released", "The versions released when bought"
    LATEST = "latest", "The latest version when bought"


class PurchaseStatus(models.TextChoices):
    """A license order: awaiting payment until the buyer names its transaction, confirming while
    that transfer is checked on chain, then paid (the license granted) or failed; an order unpaid
    in time expires. Expired and failed orders can still be paid (``services.purchases.OPEN``)."""

    AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
    CONFIRMING = "confirming", "Confirming on chain"
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"


class RewardSource(models.TextChoices):
    BOUNTY = "bounty", "Bounty epoch"
    SALE = "sale", "Share of a sale"


class X402Status(models.TextChoices):
    """Where an x402 payment (an EIP-3009 authorization we settle) stands."""

    VERIFYING = "verifying"  # claimed by a request; nothing sent yet
    BROADCAST = "broadcast", "Sent, awaiting its receipt"  # signed, recorded, then broadcast
    SETTLED = "settled"  # mined, credited, licensed
    REJECTED = "rejected"  # failed verification: nothing sent, may be sent again
    FAILED = "failed"  # sent and reverted, or its nonce went to another transaction
