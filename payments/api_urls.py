from django.urls import path

from payments import apis

urlpatterns = [
    path("auth/nonce", apis.NonceApi.as_view(), name="auth-nonce"),
    path("auth/login", apis.LoginApi.as_view(), name="auth-login"),
    path("auth/logout", apis.LogoutApi.as_view(), name="auth-logout"),
    path("auth/tokens", apis.ApiTokenListCreateApi.as_view(), name="auth-tokens"),
    path("auth/tokens/<int:token_id>", apis.ApiTokenRevokeApi.as_view(), name="auth-token"),
    path("me", apis.MeApi.as_view(), name="me"),
    path("bounties/", apis.BountyListCreateApi.as_view(), name="api-bounties"),
    path("bounties/<int:bounty_id>/", apis.BountyDetailApi.as_view(), name="api-bounty"),
    path("bounties/<int:bounty_id>/fund", apis.BountyFundApi.as_view(), name="api-bounty-fund"),
    path("rewards/", apis.RewardListApi.as_view(), name="api-rewards"),
    path("rewards/<int:reward_id>/", apis.RewardDetailApi.as_view(), name="api-reward"),
    path("payouts/", apis.PayoutListApi.as_view(), name="api-payouts"),
]
