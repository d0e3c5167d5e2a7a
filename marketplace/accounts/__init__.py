"""Accounts: Sign-In with Ethereum, API tokens and the wallet's own endpoints. The models kept
their tables (``payments_siwenonce``, ``payments_apitoken``): they moved here from ``payments``
through a state-only migration."""
