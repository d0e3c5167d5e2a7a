"""Payments models: sign-in, tokens and ledger, bounties and rewards."""

from payments.models.auth import ApiToken, ApiTokenScope, SiweNonce
from payments.models.bounties import Bounty, Reward, RewardEpoch, RewardLine
from payments.models.ledger import LedgerAccount, LedgerEntry, LedgerTransaction, Token

__all__ = [
    "ApiToken",
    "ApiTokenScope",
    "Bounty",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "Reward",
    "RewardEpoch",
    "RewardLine",
    "SiweNonce",
    "Token",
]
