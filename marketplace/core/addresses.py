"""Ethereum addresses: stored EIP-55 checksummed, compared case-insensitively on input."""

from eth_utils import (
    is_address,
    is_checksum_address,
    is_checksum_formatted_address,
    to_checksum_address,
)

from marketplace.core.exceptions import ApplicationError


class InvalidAddressError(ApplicationError, code="invalid_address"): ...


def normalize_address(value: str) -> str:
    """Return the EIP-55 form of ``value``, or raise ``InvalidAddressError``.

    All-lowercase and all-uppercase hex carry no checksum and are accepted; mixed case must
    match its EIP-55 checksum, because a mismatch usually means a mistyped address.
    """
    text = (value or "").strip()
    if not is_address(text):
        raise InvalidAddressError(f"{value!r} is not a valid Ethereum address.")
    # eth_utils.is_address no longer enforces the checksum of mixed-case input: do it here.
    if is_checksum_formatted_address(text) and not is_checksum_address(text):
        raise InvalidAddressError(
            f"{value!r} has a wrong EIP-55 checksum: check the address for a typo.",
            code="bad_checksum",
        )
    return to_checksum_address(text)
