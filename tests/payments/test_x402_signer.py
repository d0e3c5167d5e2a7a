"""The x402 settlement signer pays the same fees as a payout (``ChainClient.eip1559_fees``),
against the test's anvil: the same numbers where the node suggests a priority fee, and the
1 gwei fallback where it suggests none."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes

from payments.integrations.anvil import AnvilNode, DevAccount
from payments.integrations.chain import ChainClient
from payments.integrations.x402_signer import RecordingFacilitatorSigner, SignedCall

pytestmark = [pytest.mark.chain]

GWEI = 10**9
# What a node without fee suggestions refuses (web3 asks eth_feeHistory when the first fails).
NO_SUGGESTIONS = frozenset({"eth_maxPriorityFeePerGas", "eth_feeHistory"})


@contextmanager
def node_without_fee_suggestions(upstream: str) -> Iterator[str]:
    """A JSON-RPC endpoint that forwards to ``upstream`` but answers ``NO_SUGGESTIONS`` as
    a node that does not offer them ("method not found"), like some hosted nodes."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = json.loads(body)
            if request["method"] in NO_SUGGESTIONS:
                error = {"code": -32601, "message": "the method does not exist"}
                answer = json.dumps({"jsonrpc": "2.0", "id": request["id"], "error": error})
                content = answer.encode()
            else:
                forward = urllib.request.Request(  # noqa: S310 - the test's anvil
                    upstream, data=body, headers={"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(forward, timeout=10) as answered:  # noqa: S310
                    content = answered.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def sign_with(rpc_url: str, anvil: AnvilNode, key: str, to: str) -> SignedCall:
    signer = RecordingFacilitatorSigner(
        private_key=key,
        chain=ChainClient(rpc_url=rpc_url, chain_id=anvil.chain_id),
        send=None,
        confirmation_timeout_seconds=5,
    )
    return signer.sign_call(to=to, data="0x", nonce=0)


def signed_fees(call: SignedCall) -> tuple[int, int]:
    """The fees in the signed bytes themselves (what the node would be sent)."""
    tx = TypedTransaction.from_bytes(HexBytes(call.raw)).as_dict()
    return int(tx["maxFeePerGas"]), int(tx["maxPriorityFeePerGas"])


def base_fee(anvil: AnvilNode) -> int:
    return ChainClient(rpc_url=anvil.rpc_url, chain_id=anvil.chain_id).fee_suggestion()[0]


def test_a_settlement_is_signed_at_the_payouts_fees(
    anvil: AnvilNode, dev_wallets: list[DevAccount], settings: Any
) -> None:
    call = sign_with(anvil.rpc_url, anvil, settings.HOT_WALLET_PRIVATE_KEY, dev_wallets[3].address)
    fees = ChainClient(rpc_url=anvil.rpc_url, chain_id=anvil.chain_id).eip1559_fees()
    assert signed_fees(call) == fees == (call.max_fee_per_gas, call.max_priority_fee_per_gas)


def test_a_node_without_a_priority_fee_suggestion_gets_one_gwei(
    anvil: AnvilNode, dev_wallets: list[DevAccount], settings: Any
) -> None:
    with node_without_fee_suggestions(anvil.rpc_url) as url:
        call = sign_with(url, anvil, settings.HOT_WALLET_PRIVATE_KEY, dev_wallets[3].address)
    assert signed_fees(call) == (2 * base_fee(anvil) + GWEI, GWEI)
