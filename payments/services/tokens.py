"""The allow-list of ERC-20 tokens bounties and licenses are priced in: registered from the
contract, then only switched on or off (or their symbol fixed) by staff."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from marketplace.core.addresses import normalize_address
from marketplace.core.models import User
from marketplace.core.services import audit_log_record
from marketplace.core.staff import staff_reason_check
from payments.exceptions import TokenError
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


@transaction.atomic
def token_update(
    *,
    token: Token,
    actor: User,
    reason: str,
    is_active: bool | None = None,
    symbol: str | None = None,
) -> Token:
    """Staff accept or stop accepting a token, or fix how its symbol is shown, with a reason for
    the audit log. Its chain, address and decimals never change: every stored amount is in its
    base units, so a different address or decimals would change what those amounts mean."""
    reason = staff_reason_check(
        actor=actor, reason=reason, denied="Only staff change accepted tokens.", error=TokenError
    )
    token = Token.objects.select_for_update().get(pk=token.pk)
    changed: dict[str, dict[str, object]] = {}
    if symbol is not None:
        symbol = symbol.strip()
        if not symbol or len(symbol) > 16:
            raise TokenError(
                "A symbol has 1 to 16 characters.", code="bad_symbol", extra={"field": "symbol"}
            )
        if symbol != token.symbol:
            changed["symbol"] = {"from": token.symbol, "to": symbol}
            token.symbol = symbol
    if is_active is not None and is_active != token.is_active:
        changed["is_active"] = {"from": token.is_active, "to": is_active}
        token.is_active = is_active
    if changed:
        token.save(update_fields=list(changed))
        audit_log_record(
            action="token.updated",
            actor=actor,
            target=token,
            data={**changed, "reason": reason, "address": token.address},
        )
    return token
