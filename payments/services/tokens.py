"""The allow-list of ERC-20 tokens bounties and licences are priced in."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from marketplace.core.addresses import normalize_address
from marketplace.core.services import audit_log_record
from payments.integrations.chain import ChainClient
from payments.models import Token


@transaction.atomic
def token_register(*, address: str, client: ChainClient | None = None) -> Token:
    """Accept a token: its symbol and decimals are read from the contract on our chain (never
    typed in, so amounts are always shown right). Registering it again changes nothing."""
    address = normalize_address(address)
    client = (client or ChainClient.from_settings()).with_token(address)
    metadata = client.token_metadata()
    token, created = Token.objects.get_or_create(
        chain_id=settings.CHAIN_ID,
        address=address,
        defaults={"symbol": metadata.symbol[:16], "decimals": metadata.decimals},
    )
    if created:
        audit_log_record(
            action="token.registered",
            target=token,
            data={"symbol": token.symbol, "decimals": token.decimals},
        )
    return token
