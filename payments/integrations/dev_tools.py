"""Development tools on the chain: deploy a contract, mint the test token, wait for a receipt,
read the chain id the node reports. Used by the ``chain_deploy_token`` command, ``seed_demo``,
the benchmarks and the tests; no request, service or task calls them, so they stay out of the
production client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from web3.exceptions import TimeExhausted

from payments.contracts import load_artifact
from payments.integrations.chain import ChainClient
from payments.integrations.chain_decoding import ReceiptInfo, receipt_info
from payments.integrations.chain_errors import (
    ChainError,
    checked_tx_hash,
)

DEFAULT_RECEIPT_TIMEOUT_SECONDS = 120.0


class DevChainClient(ChainClient):
    """``ChainClient`` with the tools a local chain needs: deploying, minting, waiting."""

    def chain_id(self) -> int:
        """The chain id the node reports (not the configured one: see ``expected_chain_id``)."""
        with self._rpc("Reading the chain id"):
            return int(self._w3.eth.chain_id)

    def wait_for_receipt(
        self, tx_hash: str, *, timeout: float = DEFAULT_RECEIPT_TIMEOUT_SECONDS
    ) -> ReceiptInfo:
        """Polls until the transaction is mined; a reverted one comes back with ``status == 0``
        (check ``succeeded``) because callers record failed payouts rather than lose them."""
        with self._rpc("Waiting for a transaction receipt"):
            try:
                receipt = self._w3.eth.wait_for_transaction_receipt(
                    checked_tx_hash(tx_hash), timeout=timeout, poll_latency=0.1
                )
            except TimeExhausted as exc:
                raise ChainError(
                    f"Transaction {tx_hash} was not mined within {timeout:g} seconds; it may "
                    "still be pending, so check it again before sending a replacement.",
                    code="tx_timeout",
                    status_code=504,
                ) from exc
        return receipt_info(receipt)

    def deploy_contract(self, *, artifact: str, args: Sequence[Any], private_key: str) -> str:
        """Deploys the build artefact ``artifact`` and waits for it; returns its EIP-55 address."""
        receipt = self.deploy_contract_with_receipt(
            artifact=artifact, args=args, private_key=private_key
        )
        return cast(str, receipt.contract_address)  # never None: checked by the callee

    def deploy_contract_with_receipt(
        self,
        *,
        artifact: str,
        args: Sequence[Any],
        private_key: str,
        timeout: float = DEFAULT_RECEIPT_TIMEOUT_SECONDS,
    ) -> ReceiptInfo:
        """Like ``deploy_contract``, returning the mined receipt (``contract_address``,
        ``block_number``) for callers that record where the contract appeared."""
        compiled = load_artifact(artifact)
        factory = self._w3.eth.contract(abi=compiled["abi"], bytecode=compiled["bytecode"])
        tx_hash = self._send(
            action=f"Deploying {artifact}",
            private_key=private_key,
            call=factory.constructor(*args),
            abi=compiled["abi"],
        )
        receipt = self.wait_for_receipt(tx_hash, timeout=timeout)
        if not receipt.succeeded or receipt.contract_address is None:
            raise ChainError(
                f"Deploying {artifact} reverted in transaction {tx_hash}.",
                code="tx_failed",
                status_code=400,
            )
        return receipt

    def token_mint(self, *, private_key: str, to: str, amount: int) -> str:
        """Mints ``amount`` base units to ``to`` (test token only; the key must be its owner);
        returns the tx hash without waiting."""
        return self._send_to(
            "mint", action="Minting tokens", private_key=private_key, to=to, amount=amount
        )
