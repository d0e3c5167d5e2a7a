from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from payments.models import Token


def tokens_accepted() -> QuerySet[Token]:
    """The tokens bounties and licenses may be priced in, on our chain."""
    return Token.objects.filter(is_active=True, chain_id=settings.CHAIN_ID).order_by("symbol")
