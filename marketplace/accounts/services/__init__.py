"""Accounts' writes: Sign-In with Ethereum (``auth``) and API tokens (``api_tokens``)."""
