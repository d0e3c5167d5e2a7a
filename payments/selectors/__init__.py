"""Payments' reads, one module per domain (bounties, rewards, licenses, tokens), re-exported
here; new code imports the module."""

from payments.selectors.bounties import (
    FundingState,
    PoolProgress,
    bounty_funding_latest,
    bounty_funding_state,
    bounty_get,
    bounty_list,
    bounty_pool_progress,
)
from payments.selectors.licenses import (
    license_grant_active,
    license_tier_list,
    purchase_get,
    purchase_list,
    release_latest_ready,
)
from payments.selectors.rewards import (
    Balance,
    earnings_balances,
    payout_list,
    reward_get,
    reward_list,
)
from payments.selectors.tokens import (
    tokens_accepted,
)

__all__ = [
    "Balance",
    "FundingState",
    "PoolProgress",
    "bounty_funding_latest",
    "bounty_funding_state",
    "bounty_get",
    "bounty_list",
    "bounty_pool_progress",
    "earnings_balances",
    "license_grant_active",
    "license_tier_list",
    "payout_list",
    "purchase_get",
    "purchase_list",
    "release_latest_ready",
    "reward_get",
    "reward_list",
    "tokens_accepted",
]
