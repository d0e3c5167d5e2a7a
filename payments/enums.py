from django.db import models


class BountyStatus(models.TextChoices):
    AWAITING_FUNDING = "awaiting_funding", "Awaiting funding"
    VERIFYING = "verifying", "Verifying the funding transaction"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class BountyPaysFor(models.TextChoices):
    ROWS = "rows", "Accepted rows"
    LABELS = "labels", "Consensus-agreeing labels"
    BOTH = "both", "Rows and labels"


class RewardStatus(models.TextChoices):
    EARNED = "earned", "Earned (payable)"
    PAID = "paid", "Paid"
    REVERSED = "reversed", "Reversed"


class RewardLineKind(models.TextChoices):
    ROWS = "rows", "Accepted rows"
    LABELS = "labels", "Agreeing labels"
    OWNER = "owner", "Dataset owner's share"


class LedgerKind(models.TextChoices):
    """What moved: each ledger transaction has one kind."""

    FUNDING = "funding", "Bounty funding"
    REWARD = "reward", "Reward"
    REVERSAL = "reversal", "Reward reversal"
    PAYOUT = "payout", "Payout"
    PAYOUT_RETURN = "payout_return", "Failed payout returned"
    SALE = "sale", "License sale"
    FEE = "fee", "Platform fee"
    REFUND = "refund", "Refund"


class FundingStatus(models.TextChoices):
    VERIFYING = "verifying", "Verifying on chain"
    VERIFIED = "verified", "Verified"
    REFUSED = "refused", "Refused"


class PayoutStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    CONFIRMED = "confirmed", "Confirmed"
    FAILED = "failed", "Failed"


class LicenseCoverage(models.TextChoices):
    ALL = "all", "Every version, including future ones"
    RELEASED = "released", "The versions released when bought"
    LATEST = "latest", "The latest version when bought"


class PurchaseStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
    CONFIRMING = "confirming", "Confirming on chain"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


class RewardSource(models.TextChoices):
    BOUNTY = "bounty", "Bounty epoch"
    SALE = "sale", "Share of a sale"


class X402Status(models.TextChoices):
    """Where an x402 payment (an EIP-3009 authorization we settle) stands."""

    VERIFYING = "verifying", "Verifying"  # claimed by a request; nothing sent yet
    BROADCAST = "broadcast", "Sent, awaiting its receipt"  # signed, recorded, then broadcast
    SETTLED = "settled", "Settled"  # mined, credited, licensed
    REJECTED = "rejected", "Rejected"  # failed verification: nothing sent, may be sent again
    FAILED = "failed", "Failed"  # sent and reverted, or its nonce went to another transaction
