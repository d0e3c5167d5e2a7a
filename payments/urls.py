from django.urls import path

from payments import bounty_views, download_views, licence_views, views, wallet_views

urlpatterns = [
    path("account/tokens/", views.api_tokens, name="api-tokens"),
    path(
        "account/tokens/<int:token_id>/revoke", views.api_token_revoke_view, name="api-token-revoke"
    ),
    path("me/earnings/", views.earnings, name="earnings"),
    path("me/payouts/", views.payouts, name="payouts"),
    path("me/earnings/rewards/<int:reward_id>/", views.reward_receipt, name="reward-receipt"),
    path("datasets/<slug:slug>/bounties/new/", bounty_views.bounty_new, name="bounty-create"),
    path("bounties/<int:bounty_id>/", bounty_views.bounty_detail, name="bounty-detail"),
    path("bounties/<int:bounty_id>/fund", bounty_views.bounty_fund, name="bounty-fund"),
    path("me/library/", download_views.library, name="library"),
    path("downloads/<str:token>/", download_views.download, name="download"),
    path(
        "releases/<int:release_id>/downloads",
        download_views.release_downloads_fragment,
        name="release-downloads",
    ),
]

# Licences and purchases (payments/licence_views.py).
urlpatterns += [
    path("datasets/<slug:slug>/licences/", licence_views.licence_tiers, name="licence-tiers"),
    path("licences/tiers/<int:tier_id>/buy", licence_views.licence_buy, name="licence-buy"),
    path("licences/tiers/<int:tier_id>/claim", licence_views.licence_claim, name="licence-claim"),
    path(
        "licences/<int:grant_id>/receipt.json",
        licence_views.licence_receipt,
        name="licence-receipt",
    ),
    path("purchases/<int:purchase_id>/", licence_views.purchase_detail, name="purchase-detail"),
    path("purchases/<int:purchase_id>/pay", licence_views.purchase_pay, name="purchase-pay"),
    path("me/purchases/", licence_views.purchase_list, name="purchases"),
]

# The pay cards' JSON: a balance, and the DEBUG-only dev wallet relay (payments/wallet_views.py).
urlpatterns += [
    path("me/balances/<int:token_id>", wallet_views.token_balance, name="token-balance"),
    path("dev/chain-rpc", wallet_views.dev_chain_rpc, name="dev-chain-rpc"),
]
