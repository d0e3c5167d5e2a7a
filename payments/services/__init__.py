from payments.services.api_tokens import (
    CreatedToken,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
)
from payments.services.auth import IssuedNonce, siwe_login, siwe_nonce_issue, siwe_nonces_purge

__all__ = [
    "CreatedToken",
    "IssuedNonce",
    "api_token_authenticate",
    "api_token_create",
    "api_token_revoke",
    "siwe_login",
    "siwe_nonce_issue",
    "siwe_nonces_purge",
]
