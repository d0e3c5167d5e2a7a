from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {
        "SITE_NAME": "DataBounty",
        "DEBUG": settings.DEBUG,
        "CHAIN_ID": settings.CHAIN_ID,
    }
    return context
