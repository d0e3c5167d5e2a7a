"""The payments API: sign-in and tokens (``auth``); bounties, rewards and payouts (``money``)."""

from payments.apis.auth import (
    ApiTokenListCreateApi,
    ApiTokenRevokeApi,
    LoginApi,
    LogoutApi,
    MeApi,
    NonceApi,
)
from payments.apis.money import (
    BountyDetailApi,
    BountyFundApi,
    BountyListCreateApi,
    PayoutListApi,
    RewardDetailApi,
    RewardListApi,
)

__all__ = [
    "ApiTokenListCreateApi",
    "ApiTokenRevokeApi",
    "BountyDetailApi",
    "BountyFundApi",
    "BountyListCreateApi",
    "LoginApi",
    "LogoutApi",
    "MeApi",
    "NonceApi",
    "PayoutListApi",
    "RewardDetailApi",
    "RewardListApi",
]
