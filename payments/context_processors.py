"""Template context payments adds to every page."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def dev_wallets(request: HttpRequest) -> dict[str, Any]:
    """The "dev wallet": anvil's public test keys, so a newcomer can sign in without installing
    a wallet. Only ever rendered with DEBUG on."""
    if not settings.DEBUG:
        return {}
    from payments.integrations.anvil import dev_accounts

    return {
        "DEV_WALLETS": [
            {"address": a.address, "private_key": a.private_key} for a in dev_accounts()[1:]
        ]
    }
