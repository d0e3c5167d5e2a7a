"""The payments API: bounties, rewards and payouts (``money``);
licensed release files (``downloads``)."""

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
    "BountyDetailApi",
    "BountyFundApi",
    "BountyListCreateApi",
    "LicenseClaimApi",
    "LicenseGrantListApi",
    "LicenseTierListCreateApi",
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
