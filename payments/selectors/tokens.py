from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from marketplace.core.exceptions import NotFoundError
from payments.models import Token


def tokens_accepted() -> QuerySet[Token]:
    """The tokens bounties and licenses may be priced in, on our chain."""
    return Token.objects.filter(is_active=True, chain_id=settings.CHAIN_ID).order_by("symbol")


def token_by_address(*, address: str) -> Token:
    """The registered token at ``address`` on our chain (any letter case); another reads as
    "not accepted here". Whether it is active is the services' to check."""
    token = Token.objects.filter(chain_id=settings.CHAIN_ID, address__iexact=address).first()
    if token is None:
        raise NotFoundError("This token is not accepted here.", code="token_not_accepted")
    return token
