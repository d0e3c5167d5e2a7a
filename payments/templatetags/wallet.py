"""``{% dev_chain_rpc_url as url %}``: the dev wallet relay's address, or "" when the dev wallet
may not pay (DEBUG off, or not a local chain): templates/accounts/wallet_dialog.html."""

from __future__ import annotations

from django import template
from django.urls import reverse

from payments.integrations.dev_chain import dev_wallet_payments_enabled

register = template.Library()


@register.simple_tag
def dev_chain_rpc_url() -> str:
    return reverse("dev-chain-rpc") if dev_wallet_payments_enabled() else ""
