"""Accounts: Sign-In with Ethereum and API tokens. The models kept their tables
(``payments_siwenonce``, ``payments_apitoken``): they moved here from ``payments`` through a
state-only migration."""
