"""The x402 facilitator's signer: the official web3 signer, except that it never broadcasts on
its own. Each settlement transaction is signed with a nonce and fees the caller chooses, handed
to the caller to record (and commit), and only then broadcast by the caller: the payout rule
(payments/services/payouts.py), so a crash between sending and knowing leaves a record that
the reconciler finishes from the chain instead of a payment nobody knows was settled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_typing import HexStr
from web3 import Web3
from x402.mechanisms.evm.signers import FacilitatorWeb3Signer

from payments.contracts import load_artifact
from payments.integrations.chain import ChainClient
from payments.integrations.chain_errors import ChainError

SETTLE_GAS_HEADROOM_PERCENT = 20
# ERC-5267's eip712Domain(): the token's own word for the domain its authorizations are signed in.
# Any ERC-5267 token answers it; our token's artefact has the standard ABI entry (OpenZeppelin's).
_EIP712_DOMAIN_ABI = [
    entry
    for entry in load_artifact("DataBountyToken")["abi"]
    if entry.get("name") == "eip712Domain"
]


@dataclass(frozen=True)
class SignedCall:
    """A signed contract call, not yet sent: record it, then broadcast ``raw``."""

    to: str
    nonce: int
    tx_hash: str
    raw: str
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


# Given a way to sign at a nonce, the caller picks the nonce, signs, records, broadcasts, and
# returns the transaction hash.
Sender = Callable[[Callable[[int], SignedCall]], str]


class RecordingFacilitatorSigner(FacilitatorWeb3Signer):
    """``FacilitatorWeb3Signer`` whose writes go through ``send`` (see the module doc)."""

    def __init__(
        self,
        *,
        private_key: str,
        chain: ChainClient,
        send: Sender | None,
        confirmation_timeout_seconds: float,
    ) -> None:
        super().__init__(
            private_key=private_key,
            rpc_url=chain.rpc_url,
            confirmation_timeout_seconds=confirmation_timeout_seconds,
        )
        self._chain = chain  # the fees it pays are the payouts' (ChainClient.eip1559_fees)
        self._chain_id = chain.expected_chain_id  # ours, never the node's word for it
        self._send = send

    def eip712_domain(self, token_address: str) -> dict[str, str]:
        """The token's EIP-712 domain ``{name, version}`` (ERC-5267), for the requirements'
        ``extra``: the payer signs over them, and a wrong name invalidates every signature."""
        try:
            domain = self.read_contract(token_address, _EIP712_DOMAIN_ABI, "eip712Domain")
        except Exception as exc:  # unreachable node, or a token without ERC-5267
            raise ChainError(
                f"Could not read the token's EIP-712 domain: {exc}", code="chain_unavailable"
            ) from exc
        return {"name": str(domain[1]), "version": str(domain[2])}

    def sign_call(self, *, to: str, data: str, nonce: int) -> SignedCall:
        """Sign a call of ``to`` with ``data`` at ``nonce`` (EIP-1559, at the payouts' fees; gas
        estimated, which runs the call: a revert surfaces here, before anything is recorded or
        sent)."""
        target = Web3.to_checksum_address(to)
        try:
            gas = self._w3.eth.estimate_gas(
                {"from": self.address, "to": target, "data": HexStr(data)}
            )
        except Exception as exc:  # web3 raises several types; the facilitator maps the text
            raise ChainError(f"The settlement would fail: {exc}", code="tx_failed") from exc
        max_fee, priority = self._chain.eip1559_fees()
        transaction: dict[str, Any] = {
            "from": self.address,
            "to": target,
            "data": data,
            "nonce": nonce,
            "chainId": self._chain_id,
            "gas": gas * (100 + SETTLE_GAS_HEADROOM_PERCENT) // 100,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": priority,
            "type": 2,
        }
        signed = self._account.sign_transaction(transaction)
        return SignedCall(
            to=target,
            nonce=nonce,
            tx_hash="0x" + bytes(signed.hash).hex(),
            raw="0x" + bytes(signed.raw_transaction).hex(),
            max_fee_per_gas=max_fee,
            max_priority_fee_per_gas=priority,
        )

    def write_contract(
        self,
        address: str,
        abi: list[dict[str, Any]],
        function_name: str,
        *args: Any,
        data_suffix: str | None = None,
    ) -> str:
        if self._send is None:
            raise ChainError("This signer only verifies.", code="read_only")
        contract = self._w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)
        data = contract.encode_abi(function_name, args=list(args))
        if data_suffix:
            data = data + data_suffix.removeprefix("0x")
        return self._send(lambda nonce: self.sign_call(to=address, data=data, nonce=nonce))

    def send_transaction(self, to: str, data: bytes) -> str:
        # Only used to deploy counterfactual (ERC-6492) smart wallets through a factory, which
        # we do not allow (ExactEvmSchemeConfig.eip6492_allowed_factories stays empty).
        raise ChainError("Deploying smart wallets is not offered.", code="not_supported")
