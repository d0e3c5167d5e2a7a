"""Payments models: the ledger, bounties and rewards, payouts, licenses and purchases,
x402 payments."""

from payments.models.bounties import Bounty, Reward, RewardEpoch, RewardLine
from payments.models.ledger import LedgerAccount, LedgerEntry, LedgerTransaction, Token
from payments.models.licenses import ChainCursor, LicenseGrant, LicenseTier, Purchase
from payments.models.payouts import BountyFunding, CreditedTransfer, Payout, PayoutControl
from payments.models.x402 import X402Payment

__all__ = [
    "Bounty",
    "BountyFunding",
    "ChainCursor",
    "CreditedTransfer",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "LicenseGrant",
    "LicenseTier",
    "Payout",
    "PayoutControl",
    "Purchase",
    "Reward",
    "RewardEpoch",
    "RewardLine",
    "Token",
    "X402Payment",
]
