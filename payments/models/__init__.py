"""Payments models: sign-in, tokens and ledger, bounties and rewards."""

from payments.models.auth import ApiToken, ApiTokenScope, SiweNonce
from payments.models.bounties import Bounty, Reward, RewardEpoch, RewardLine
from payments.models.ledger import LedgerAccount, LedgerEntry, LedgerTransaction, Token
from payments.models.licenses import ChainCursor, LicenseGrant, LicenseTier, Purchase
from payments.models.payouts import BountyFunding, CreditedTransfer, Payout, PayoutControl

__all__ = [
    "ApiToken",
    "ApiTokenScope",
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
    "SiweNonce",
    "Token",
]
