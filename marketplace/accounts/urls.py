from django.urls import path

from marketplace.accounts.views import tokens

urlpatterns = [
    path("account/tokens/", tokens.api_tokens, name="api-tokens"),
    path(
        "account/tokens/<int:token_id>/revoke",
        tokens.api_token_revoke_view,
        name="api-token-revoke",
    ),
]
