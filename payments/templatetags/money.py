"""Token amounts for people: base units shown with the token's decimals, exactly (no floats)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.conf import settings
from django.utils.html import format_html

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


# Places shown where an amount is read at a glance (lists, totals, balances); the exact amount is
# in the title attribute, and exact everywhere it is paid or signed (pay cards, prices, receipts).
DISPLAY_PLACES = 2


def format_amount_short(amount: int | Decimal, decimals: int, symbol: str = "") -> str:
    """``9950975006, 6, "DBT"`` → ``"9,950.98 DBT"``: rounded half up to two places when the
    token has more; a non-zero amount that rounds to nothing reads ``"<0.01 DBT"``. Amounts
    with at most two places come out exactly as ``format_amount`` writes them."""
    amount = int(amount)
    step = 10 ** max(decimals - DISPLAY_PLACES, 0)
    hundredths, rest = divmod(abs(amount), step)
    if decimals <= DISPLAY_PLACES or rest == 0:
        return format_amount(amount, decimals, symbol)
    hundredths += 1 if 2 * rest >= step else 0
    if hundredths == 0:
        return f"{'>-' if amount < 0 else '<'}0.{'0' * (DISPLAY_PLACES - 1)}1 {symbol}".strip()
    whole, fraction = divmod(hundredths, 10**DISPLAY_PLACES)
    sign = "-" if amount < 0 else ""
    return f"{sign}{whole:,}.{fraction:0{DISPLAY_PLACES}d} {symbol}".strip()


@register.filter(name="token_amount_short")
def token_amount_short(amount: Any, token: Any) -> str:
    """``{{ balance|token_amount_short:token }}``: two places at most, the exact amount on hover
    (``title``) where it was rounded."""
    if amount is None or amount == "":
        return "—"
    exact = format_amount(Decimal(amount), token.decimals, token.symbol)
    short = format_amount_short(Decimal(amount), token.decimals, token.symbol)
    if short == exact:
        return exact
    return format_html('<span class="amount" title="{} (exact)">{}</span>', exact, short)


@register.filter(name="share_percent")
def share_percent(value: Any) -> str:
    """A share in [0, 1] as a percentage with one place at most: 0.6667 → "66.7 %" (a
    no-break space before the sign)."""
    if value is None or value == "":
        return "—"
    text = f"{float(value) * 100:.1f}".removesuffix(".0")
    return f"{text}\N{NO-BREAK SPACE}%"  # never wrapped away from its number


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
