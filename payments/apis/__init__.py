"""The payments API: sign-in and tokens (``auth``); bounties, rewards and payouts (``money``);
licensed release files (``downloads``)."""

from payments.apis.auth import (
    ApiTokenListCreateApi,
    ApiTokenRevokeApi,
    LoginApi,
    LogoutApi,
    MeApi,
    NonceApi,
)
from payments.apis.downloads import ReleaseFileApi, ReleaseFilesApi
from payments.apis.licenses import (
    LicenseClaimApi,
    LicenseGrantListApi,
    LicenseTierListCreateApi,
    PurchaseConfirmApi,
    PurchaseCreateApi,
    PurchaseDetailApi,
    PurchaseListApi,
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
    "LicenseClaimApi",
    "LicenseGrantListApi",
    "LicenseTierListCreateApi",
    "LoginApi",
    "LogoutApi",
    "MeApi",
    "NonceApi",
    "PayoutListApi",
    "PurchaseConfirmApi",
    "PurchaseCreateApi",
    "PurchaseDetailApi",
    "PurchaseListApi",
    "ReleaseFileApi",
    "ReleaseFilesApi",
    "RewardDetailApi",
    "RewardListApi",
]
