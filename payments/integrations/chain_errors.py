"""The chain client's failures: ``ChainError``, the checks of its inputs, and the translation of
web3 and transport exceptions into ``ChainError``s that say what failed."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from eth_abi.abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import (
    BadFunctionCallOutput,
    BadResponseFormat,
    ContractLogicError,
    ProviderConnectionError,
    Web3RPCError,
)

from marketplace.core.addresses import InvalidAddressError, normalize_address
from marketplace.core.exceptions import ApplicationError

UINT256_MAX = 2**256 - 1
_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


class ChainError(ApplicationError, code="chain_error", status_code=503):
    """A chain operation failed. Codes: ``chain_unavailable`` (node unreachable or answering
    garbage), ``wrong_chain`` (node's chain id is not CHAIN_ID), ``no_token`` (TOKEN_ADDRESS unset
    or no contract there), ``tx_failed`` (rejected or reverted), ``tx_timeout`` (not mined in time),
    ``invalid_address`` / ``invalid_amount`` / ``invalid_key`` / ``invalid_tx_hash`` /
    ``invalid_input`` (bad input), ``chain_error`` (any other error answer from the node)."""


def redacted_url(url: str) -> str:
    """Scheme, host and port only: hosted RPC URLs often carry an API key in the path or query."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}" if parts.hostname else "the configured URL"


def checksummed(address: str, *, what: str) -> ChecksumAddress:
    try:
        return to_checksum_address(normalize_address(address))
    except InvalidAddressError as exc:
        raise ChainError(f"{what}: {exc.detail}", code="invalid_address", status_code=400) from exc


def checked_amount(amount: int) -> int:
    # bool is an int subclass; True tokens is a bug, not an amount.
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= UINT256_MAX:
        raise ChainError(
            f"Token amount must be an int of base units between 0 and 2**256-1, got {amount!r}",
            code="invalid_amount",
            status_code=400,
        )
    return amount


def block_number_arg(value: int, *, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ChainError(
            f"{what} must be a block number (an int >= 0), got {value!r}",
            code="invalid_input",
            status_code=400,
        )
    return value


def checked_block_range(from_block: int, to_block: int, *, chunk_blocks: int) -> tuple[int, int]:
    """``(from_block, to_block)`` of a log scan, checked with its chunk size."""
    first = block_number_arg(from_block, what="from_block")
    last = block_number_arg(to_block, what="to_block")
    if first > last:
        raise ChainError(
            f"from_block {first} is after to_block {last}",
            code="invalid_input",
            status_code=400,
        )
    if isinstance(chunk_blocks, bool) or not isinstance(chunk_blocks, int) or chunk_blocks < 1:
        raise ChainError(
            f"chunk_blocks must be an int >= 1, got {chunk_blocks!r}",
            code="invalid_input",
            status_code=400,
        )
    return first, last


def checked_signature_input(message_hash: bytes, signature: bytes) -> None:
    """Refuses an EIP-1271 question that is not a 32-byte digest and a bytes signature."""
    if not isinstance(message_hash, bytes) or len(message_hash) != 32:
        got = (
            f"{len(message_hash)} bytes"
            if isinstance(message_hash, bytes)
            else type(message_hash).__name__
        )
        raise ChainError(
            f"The message hash must be a 32-byte digest, got {got}",
            code="invalid_input",
            status_code=400,
        )
    if not isinstance(signature, bytes):
        raise ChainError(
            f"The signature must be bytes, got {type(signature).__name__}",
            code="invalid_input",
            status_code=400,
        )


def local_account(private_key: str) -> LocalAccount:
    if not private_key:
        raise ChainError("No private key to sign with.", code="invalid_key", status_code=400)
    try:
        account: LocalAccount = Account.from_key(private_key)
    except Exception:
        # "from None": the original exception may quote the key, and tracebacks get logged.
        raise ChainError(
            "The private key is not a valid 32-byte hex key.",
            code="invalid_key",
            status_code=400,
        ) from None
    return account


def checked_tx_hash(tx_hash: str) -> HexBytes:
    if not isinstance(tx_hash, str) or not _TX_HASH.fullmatch(tx_hash):
        raise ChainError(
            f"Not a transaction hash (0x and 64 hex digits): {tx_hash!r}",
            code="invalid_tx_hash",
            status_code=400,
        )
    return HexBytes(tx_hash)


def describe_custom_error(data: str, abi: Sequence[dict[str, Any]]) -> str:
    """``ERC20InsufficientBalance(sender=0x.., balance=5, needed=9)`` for a revert's custom-error
    data (a 4-byte selector then ABI-encoded arguments), or the raw hex if the ABI lacks it."""
    raw = data.removeprefix("0x")
    for entry in abi:
        if entry.get("type") != "error":
            continue
        inputs = entry.get("inputs", [])
        types = [str(item["type"]) for item in inputs]
        signature = f"{entry['name']}({','.join(types)})"
        if Web3.keccak(text=signature)[:4].hex() != raw[:8]:
            continue
        try:
            values = abi_decode(types, bytes.fromhex(raw[8:]))
        except Exception:  # malformed arguments: the name alone still helps
            return str(entry["name"])
        arguments = ", ".join(
            f"{item.get('name') or index}="
            f"{to_checksum_address(value) if item['type'] == 'address' else value}"
            for index, (item, value) in enumerate(zip(inputs, values, strict=True))
        )
        return f"{entry['name']}({arguments})"
    return data


@contextlib.contextmanager
def rpc_errors(
    action: str,
    *,
    rpc_url: str,
    sending: bool = False,
    abi: Sequence[dict[str, Any]] = (),
    no_token: Callable[[], ChainError] | None = None,
) -> Iterator[None]:
    """Turns web3 and transport exceptions into ``ChainError``s that say what failed.
    ``no_token``, given for calls to the token, builds the error for an address without code."""
    try:
        yield
    except ChainError:
        raise
    except ContractLogicError as exc:
        data = exc.data if isinstance(exc.data, str) else None
        reason = describe_custom_error(data, abi) if data else (exc.message or "reverted")
        raise ChainError(
            f"{action} was rejected by the contract: {reason}",
            code="tx_failed",
            status_code=400,
        ) from exc
    except BadFunctionCallOutput as exc:
        # eth_call on an address without code answers "0x", which cannot be decoded.
        if no_token is not None:
            raise no_token() from exc
        raise ChainError(f"{action} failed: {exc}") from exc
    except Web3RPCError as exc:
        # The node refused: for a send that is nonce, funds or gas; otherwise a bad request.
        raise ChainError(
            f"{action} failed: the node answered {exc.message!r}",
            code="tx_failed" if sending else "chain_error",
            status_code=400 if sending else 503,
        ) from exc
    except (OSError, ProviderConnectionError, BadResponseFormat) as exc:
        # requests' errors (refused, timeout, HTTP 5xx) are OSErrors.
        error = ChainError(
            f"{action} failed: the chain node at {redacted_url(rpc_url)} is "
            f"unreachable or not answering JSON-RPC ({type(exc).__name__}). Is it running?",
            code="chain_unavailable",
        )
        # requests quotes the full URL, and a hosted node's URL carries its API key: keep
        # the cause (for the logged traceback) only when the URL holds nothing secret.
        if redacted_url(rpc_url) == rpc_url.rstrip("/"):
            raise error from exc
        raise error from None
