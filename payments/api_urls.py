from django.urls import URLPattern, URLResolver, include, path

from payments.apis import bounties, downloads, licenses, rewards

# One bounty's routes, below bounties/<bounty_id>/.
bounty_routes: list[URLPattern | URLResolver] = [
    path("", bounties.BountyDetailApi.as_view(), name="api-bounty"),
    path("fund", bounties.BountyFundApi.as_view(), name="api-bounty-fund"),
]

# One purchase's routes, below purchases/<purchase_id>/.
purchase_routes: list[URLPattern | URLResolver] = [
    path("", licenses.PurchaseDetailApi.as_view(), name="api-purchase"),
    path("confirm", licenses.PurchaseConfirmApi.as_view(), name="api-purchase-confirm"),
]

urlpatterns = [
    path("bounties/", bounties.BountyListCreateApi.as_view(), name="api-bounties"),
    path("bounties/<int:bounty_id>/", include(bounty_routes)),
    path("rewards/", rewards.RewardListApi.as_view(), name="api-rewards"),
    path("rewards/<int:reward_id>/", rewards.RewardDetailApi.as_view(), name="api-reward"),
    path("payouts/", rewards.PayoutListApi.as_view(), name="api-payouts"),
    path("licenses/", licenses.LicenseTierListCreateApi.as_view(), name="api-licenses"),
    path(
        "licenses/<int:tier_id>/claim",
        licenses.LicenseClaimApi.as_view(),
        name="api-license-claim",
    ),
    path("grants/", licenses.LicenseGrantListApi.as_view(), name="api-grants"),
    path("purchases/", licenses.PurchaseCreateApi.as_view(), name="api-purchases"),
    path("purchases/mine/", licenses.PurchaseListApi.as_view(), name="api-my-purchases"),
    path("purchases/<int:purchase_id>/", include(purchase_routes)),
    path(
        "datasets/<slug:slug>/files/",
        downloads.ReleaseFilesApi.as_view(),
        name="api-dataset-files",
    ),
    path("files/<int:file_id>", downloads.ReleaseFileApi.as_view(), name="api-file"),
]
