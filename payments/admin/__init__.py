"""Payments admin, one module per domain; importing them here registers their ModelAdmins."""

from payments.admin import bounties, ledger, licenses, payouts, rewards, x402

__all__ = ["bounties", "ledger", "licenses", "payouts", "rewards", "x402"]
