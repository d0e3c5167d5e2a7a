"""Accounts' pages: API tokens (``tokens``)."""
