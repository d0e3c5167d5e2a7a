from django.urls import path

from marketplace.accounts import apis

urlpatterns = [
    path("auth/nonce", apis.NonceApi.as_view(), name="auth-nonce"),
    path("auth/login", apis.LoginApi.as_view(), name="auth-login"),
    path("auth/logout", apis.LogoutApi.as_view(), name="auth-logout"),
    path("auth/tokens", apis.ApiTokenListCreateApi.as_view(), name="auth-tokens"),
    path("auth/tokens/<int:token_id>", apis.ApiTokenRevokeApi.as_view(), name="auth-token"),
    path("me", apis.MeApi.as_view(), name="me"),
]
