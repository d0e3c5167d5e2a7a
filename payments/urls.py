from django.urls import path

from payments import bounty_views, views

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
]
