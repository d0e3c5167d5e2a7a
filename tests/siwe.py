"""Builds and signs real EIP-4361 messages for tests, with the siwe package and eth_account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eth_account import Account
from eth_account.messages import encode_defunct
from siwe import SiweMessage


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_message(
    *,
    address: str,
    nonce: str,
    domain: str = "testserver",
    uri: str | None = None,
    chain_id: int = 31337,
    issued_at: datetime | None = None,
    expiration_time: datetime | None = None,
    not_before: datetime | None = None,
    statement: str | None = "Sign in to DataBounty.",
) -> str:
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "domain": domain,
        "address": address,
        "uri": uri or f"http://{domain}",
        "version": "1",
        "chain_id": chain_id,
        "nonce": nonce,
        "issued_at": iso(issued_at or now),
        "statement": statement,
    }
    fields["expiration_time"] = iso(expiration_time or now + timedelta(minutes=10))
    if not_before is not None:
        fields["not_before"] = iso(not_before)
    return SiweMessage(**fields).prepare_message()


def sign(text: str, private_key: str) -> str:
    signed = Account.sign_message(encode_defunct(text=text), private_key=private_key)
    return "0x" + signed.signature.hex().removeprefix("0x")
