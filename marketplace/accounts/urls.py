from django.urls import path

from marketplace.accounts.views import tokens, wallet

urlpatterns = [
    path("account/tokens/", tokens.api_tokens, name="api-tokens"),
    path(
        "account/tokens/<int:token_id>/revoke",
        tokens.api_token_revoke_view,
        name="api-token-revoke",
    ),
    # The pay cards' JSON: a balance, and the DEBUG-only dev wallet relay (views/wallet.py).
    path("me/balances/<int:token_id>", wallet.token_balance, name="token-balance"),
    path("dev/chain-rpc", wallet.dev_chain_rpc, name="dev-chain-rpc"),
]
