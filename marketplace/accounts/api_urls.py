from django.urls import URLPattern, URLResolver, include, path

from marketplace.accounts import apis

# Sign-in with Ethereum (EIP-4361) and API tokens, below auth/.
auth_routes: list[URLPattern | URLResolver] = [
    path("nonce", apis.NonceApi.as_view(), name="auth-nonce"),
    path("login", apis.LoginApi.as_view(), name="auth-login"),
    path("logout", apis.LogoutApi.as_view(), name="auth-logout"),
    path("tokens", apis.ApiTokenListCreateApi.as_view(), name="auth-tokens"),
    path("tokens/<int:token_id>", apis.ApiTokenRevokeApi.as_view(), name="auth-token"),
]

urlpatterns = [
    path("auth/", include(auth_routes)),
    path("me", apis.MeApi.as_view(), name="me"),
]
