from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {
        "SITE_NAME": "DataBounty",
        "DEBUG": settings.DEBUG,
        "CHAIN_ID": settings.CHAIN_ID,
    }
    if settings.DEBUG:
        # The "dev wallet": anvil's public test keys, so a newcomer can sign in without
        # installing a wallet. Only ever rendered with DEBUG on.
        from payments.integrations.anvil import dev_accounts

        context["DEV_WALLETS"] = [
            {"address": a.address, "private_key": a.private_key} for a in dev_accounts()[1:]
        ]
    return context
