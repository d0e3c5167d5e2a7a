from django.urls import URLPattern, URLResolver, include, path

from payments.views import bounties as bounty_views
from payments.views import downloads as download_views
from payments.views import earnings as views
from payments.views import licenses as license_views
from payments.views import wallet as wallet_views

# One bounty's pages, below bounties/<bounty_id>/.
bounty_routes: list[URLPattern | URLResolver] = [
    path("", bounty_views.bounty_detail, name="bounty-detail"),
    path("fund", bounty_views.bounty_fund, name="bounty-fund"),
]

urlpatterns = [
    path("me/earnings/", views.earnings, name="earnings"),
    path("me/payouts/", views.payouts, name="payouts"),
    path("me/earnings/rewards/<int:reward_id>/", views.reward_receipt, name="reward-receipt"),
    path("datasets/<slug:slug>/bounties/new/", bounty_views.bounty_new, name="bounty-create"),
    path("bounties/<int:bounty_id>/", include(bounty_routes)),
    path("me/library/", download_views.library, name="library"),
    path("downloads/<str:token>/", download_views.download, name="download"),
    path(
        "releases/<int:release_id>/downloads",
        download_views.release_downloads_fragment,
        name="release-downloads",
    ),
]

# Licenses and purchases (payments/views/licenses.py): a tier's actions, below
# licenses/tiers/<tier_id>/, and a purchase's pages, below purchases/<purchase_id>/.
tier_routes: list[URLPattern | URLResolver] = [
    path("buy", license_views.license_buy, name="license-buy"),
    path("claim", license_views.license_claim, name="license-claim"),
]
purchase_routes: list[URLPattern | URLResolver] = [
    path("", license_views.purchase_detail, name="purchase-detail"),
    path("pay", license_views.purchase_pay, name="purchase-pay"),
]

urlpatterns += [
    path("datasets/<slug:slug>/licenses/", license_views.license_tiers, name="license-tiers"),
    path("licenses/tiers/<int:tier_id>/", include(tier_routes)),
    path(
        "licenses/<int:grant_id>/receipt.json",
        license_views.license_receipt,
        name="license-receipt",
    ),
    path("purchases/<int:purchase_id>/", include(purchase_routes)),
    path("me/purchases/", license_views.purchase_list, name="purchases"),
]

# The pay cards' JSON: a balance, and the DEBUG-only dev wallet relay (payments/views/wallet.py).
urlpatterns += [
    path("me/balances/<int:token_id>", wallet_views.token_balance, name="token-balance"),
    path("dev/chain-rpc", wallet_views.dev_chain_rpc, name="dev-chain-rpc"),
]
