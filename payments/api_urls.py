from django.urls import path

from payments import apis

urlpatterns = [
    path("bounties/", apis.BountyListCreateApi.as_view(), name="api-bounties"),
    path("bounties/<int:bounty_id>/", apis.BountyDetailApi.as_view(), name="api-bounty"),
    path("bounties/<int:bounty_id>/fund", apis.BountyFundApi.as_view(), name="api-bounty-fund"),
    path("rewards/", apis.RewardListApi.as_view(), name="api-rewards"),
    path("rewards/<int:reward_id>/", apis.RewardDetailApi.as_view(), name="api-reward"),
    path("payouts/", apis.PayoutListApi.as_view(), name="api-payouts"),
    path("licenses/", apis.LicenseTierListCreateApi.as_view(), name="api-licenses"),
    path("licenses/<int:tier_id>/claim", apis.LicenseClaimApi.as_view(), name="api-license-claim"),
    path("grants/", apis.LicenseGrantListApi.as_view(), name="api-grants"),
    path("purchases/", apis.PurchaseCreateApi.as_view(), name="api-purchases"),
    path("purchases/mine/", apis.PurchaseListApi.as_view(), name="api-my-purchases"),
    path("purchases/<int:purchase_id>/", apis.PurchaseDetailApi.as_view(), name="api-purchase"),
    path(
        "purchases/<int:purchase_id>/confirm",
        apis.PurchaseConfirmApi.as_view(),
        name="api-purchase-confirm",
    ),
    path("datasets/<slug:slug>/files/", apis.ReleaseFilesApi.as_view(), name="api-dataset-files"),
    path("files/<int:file_id>", apis.ReleaseFileApi.as_view(), name="api-file"),
]
