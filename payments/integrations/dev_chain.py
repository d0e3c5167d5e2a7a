"""The DEBUG-only "dev wallet" pays from the browser: it signs an ERC-20 transfer with one of
anvil's public test keys (already in the page for signing in, only with DEBUG on) and sends it
through a same-origin JSON-RPC relay to our node, so a newcomer buys and funds without a browser
extension. The payment then goes through the usual verification on chain (``purchase_verify``,
``bounty_funding_verify``): nothing here credits anything.

The relay exists only while ``DEBUG`` is on *and* the chain is a local development chain, and it
forwards only the handful of methods a wallet needs to send one transaction; a raw transaction
must be signed by the signed-in account. Production settings force ``DEBUG = False``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from eth_account import Account

# anvil's and Hardhat's default chain ids: development chains, never a network with real funds.
LOCAL_CHAIN_IDS = frozenset({31337, 1337})

# What ethers' Wallet + JsonRpcProvider ask while reading a balance and sending one transaction.
RELAYED_METHODS = frozenset(
    {
        "eth_chainId",
        "net_version",
        "eth_blockNumber",
        "eth_call",
        "eth_estimateGas",
        "eth_gasPrice",
        "eth_maxPriorityFeePerGas",
        "eth_feeHistory",
        "eth_getBlockByNumber",
        "eth_getBalance",
        "eth_getTransactionCount",
        "eth_getTransactionByHash",
        "eth_getTransactionReceipt",
        "eth_sendRawTransaction",
    }
)

# JSON-RPC 2.0 error codes (https://www.jsonrpc.org/specification#error_object).
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
UNAUTHORIZED = 4100  # EIP-1193: not authorized for this account


def dev_wallet_payments_enabled() -> bool:
    """Whether the dev wallet may pay: DEBUG on and a local development chain."""
    return bool(settings.DEBUG) and int(settings.CHAIN_ID) in LOCAL_CHAIN_IDS


@dataclass(eq=False)  # eq=False: an exception is equal only to itself, and stays hashable
class RelayRefused(Exception):
    """A request the relay does not forward: answered as a JSON-RPC error ``{code, message}``."""

    code: int
    message: str

    def __str__(self) -> str:
        return self.message


class NodeUnavailable(Exception):
    """The node did not answer (down, or not HTTP)."""


def _raw_transaction_sender(raw: object) -> str:
    if not isinstance(raw, str) or not raw.startswith("0x"):
        raise RelayRefused(INVALID_PARAMS, "eth_sendRawTransaction takes one 0x-hex transaction.")
    try:
        return str(Account.recover_transaction(raw))
    except Exception as exc:  # eth-account raises several types for undecodable bytes
        raise RelayRefused(INVALID_PARAMS, f"Not a signed transaction: {exc}") from exc


def relay_check(*, payload: object, sender: str) -> tuple[Any, str, list[Any]]:
    """``(id, method, params)`` of one JSON-RPC request the relay forwards for ``sender`` (the
    signed-in address); raises ``RelayRefused`` for anything else (batches included)."""
    if not isinstance(payload, dict):
        raise RelayRefused(INVALID_REQUEST, "Send one JSON-RPC request object (no batches).")
    request_id = payload.get("id")
    method = payload.get("method")
    params = payload.get("params", [])
    if not isinstance(method, str) or not isinstance(params, list):
        raise RelayRefused(INVALID_REQUEST, "A JSON-RPC request has a method and a params list.")
    if method not in RELAYED_METHODS:
        raise RelayRefused(METHOD_NOT_FOUND, f"The dev wallet relay does not forward {method}.")
    if method == "eth_sendRawTransaction":
        signer = _raw_transaction_sender(params[0] if params else None)
        if signer.lower() != sender.lower():
            raise RelayRefused(
                UNAUTHORIZED,
                f"The transaction is signed by {signer}, not by the signed-in account {sender}.",
            )
    return request_id, method, params


def relay_forward(*, request_id: Any, method: str, params: list[Any]) -> dict[str, Any]:
    """The node's JSON-RPC answer (result or error) to one request, as the node gave it."""
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
    request = urllib.request.Request(  # noqa: S310 - our own node, from settings
        settings.CHAIN_RPC_URL,
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=settings.CHAIN_RPC_TIMEOUT_SECONDS
        ) as response:
            answer = json.loads(response.read())
    except (OSError, ValueError) as exc:  # URLError and timeouts are OSErrors
        raise NodeUnavailable(str(exc)) from exc
    if not isinstance(answer, dict):
        raise NodeUnavailable("The node's answer is not a JSON-RPC object.")
    answer["id"] = request_id
    return answer
