"""Token amounts for people: base units shown with the token's decimals, exactly (no floats)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.conf import settings

register = template.Library()


def format_amount(amount: int | Decimal, decimals: int, symbol: str = "") -> str:
    """``1234500000000000000, 18, "DBT"`` → ``"1.2345 DBT"``; thousands grouped, trailing
    zeros dropped, never rounded."""
    amount = int(amount)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**decimals)
    text = f"{sign}{whole:,}"
    if decimals and fraction:
        text += "." + f"{fraction:0{decimals}d}".rstrip("0")
    return f"{text} {symbol}".strip()


@register.filter(name="token_amount")
def token_amount(amount: Any, token: Any) -> str:
    """``{{ reward.amount|token_amount:reward.token }}``"""
    if amount is None or amount == "":
        return "—"
    return format_amount(Decimal(amount), token.decimals, token.symbol)


@register.filter(name="millionths")
def millionths(value: Any) -> str:
    """A weight stored in integer millionths, as a decimal number (2500000 → "2.5")."""
    return format_amount(int(value or 0), 6)


@register.filter(name="tx_url")
def tx_url(tx_hash: str) -> str:
    """The explorer page of a transaction (``CHAIN_EXPLORER_TX_URL``), or "" when none is set."""
    template_url = settings.CHAIN_EXPLORER_TX_URL
    return template_url.replace("{hash}", tx_hash) if template_url and tx_hash else ""
