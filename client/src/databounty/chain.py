"""Paying a license order from a local key: one ERC-20 ``transfer`` on the configured RPC.

The signed transaction (its hash and raw bytes) is saved before it is broadcast, so a run that
stops after sending never pays twice: the next run re-sends the same bytes (the node already has
them, or has mined them) and confirms that hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import requests
from eth_account import Account
from web3 import Web3
from web3.exceptions import TimeExhausted, Web3Exception

from databounty.errors import ClientError

ERC20_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "transfer",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
]


@dataclass
class SignedTransfer:
    tx_hash: str
    raw: str


class Chain:
    def __init__(self, rpc_url: str, *, chain_id: int, timeout: float = 30.0) -> None:
        self.rpc_url = rpc_url
        self.chain_id = chain_id
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))

    def _call(self, what: str, action: Any) -> Any:
        try:
            return action()
        except requests.RequestException:
            raise ClientError(
                f"Cannot reach the chain at {self.rpc_url} ({what}).", code="rpc_unreachable"
            ) from None
        except (Web3Exception, ValueError) as exc:
            raise ClientError(f"{what} failed: {exc}", code="rpc_error") from None

    def check_chain(self) -> None:
        actual = int(self._call("Reading the chain id", lambda: self.w3.eth.chain_id))
        if actual != self.chain_id:
            raise ClientError(
                f"The RPC at {self.rpc_url} is chain {actual}; the order is on chain "
                f"{self.chain_id}. Set DATABOUNTY_RPC_URL (or --rpc-url) to that chain's RPC.",
                code="wrong_chain",
            )

    def balance(self, token: str, owner: str) -> int:
        contract = self.w3.eth.contract(address=Web3.to_checksum_address(token), abi=ERC20_ABI)
        call = contract.functions.balanceOf(Web3.to_checksum_address(owner))
        return int(self._call("Reading the token balance", call.call))

    def sign_transfer(
        self, *, private_key: str, token: str, to: str, amount: int
    ) -> SignedTransfer:
        account = Account.from_key(private_key)
        contract = self.w3.eth.contract(address=Web3.to_checksum_address(token), abi=ERC20_ABI)
        call = contract.functions.transfer(Web3.to_checksum_address(to), amount)

        def build() -> Any:
            nonce = self.w3.eth.get_transaction_count(account.address, "pending")
            return call.build_transaction(
                {"from": account.address, "chainId": self.chain_id, "nonce": nonce}
            )

        built = self._call("Preparing the token transfer", build)
        signed = account.sign_transaction(cast(dict[str, Any], built))
        return SignedTransfer(
            tx_hash="0x" + bytes(signed.hash).hex(), raw="0x" + bytes(signed.raw_transaction).hex()
        )

    def send(self, transfer: SignedTransfer, *, timeout: float = 120.0) -> None:
        """Broadcasts (again, harmlessly, when the node has it) and waits until it is mined."""
        if self.receipt(transfer.tx_hash) is None:
            try:
                self.w3.eth.send_raw_transaction(cast(Any, transfer.raw))
            except requests.RequestException:
                raise ClientError(
                    f"Cannot reach the chain at {self.rpc_url} (sending the payment).",
                    code="rpc_unreachable",
                ) from None
            except (Web3Exception, ValueError) as exc:
                if "already known" not in str(exc) and "nonce too low" not in str(exc):
                    raise ClientError(
                        f"The node refused the payment: {exc}", code="rpc_error"
                    ) from None
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(
                cast(Any, transfer.tx_hash), timeout=timeout, poll_latency=0.5
            )
        except TimeExhausted:
            raise ClientError(
                f"Payment {transfer.tx_hash} is not mined yet; run the same command again.",
                code="not_mined",
            ) from None
        except requests.RequestException:
            raise ClientError(
                f"Cannot reach the chain at {self.rpc_url} (waiting for the payment).",
                code="rpc_unreachable",
            ) from None
        if receipt["status"] != 1:
            raise ClientError(f"Payment {transfer.tx_hash} reverted.", code="tx_reverted")

    def receipt(self, tx_hash: str) -> Any:
        from web3.exceptions import TransactionNotFound

        try:
            return self.w3.eth.get_transaction_receipt(cast(Any, tx_hash))
        except TransactionNotFound:
            return None
        except requests.RequestException:
            raise ClientError(
                f"Cannot reach the chain at {self.rpc_url}.", code="rpc_unreachable"
            ) from None
