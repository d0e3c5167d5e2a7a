"""Accounts' pages: API tokens (``tokens``) and the wallet's JSON endpoints (``wallet``)."""
