"""The chain client: with its helpers (chain_decoding, chain_errors, dev_tools) the only code in the
app that imports web3.

Everything the app does on an EVM chain goes through ``ChainClient``: read the token, send a token
transfer, sign a transfer to broadcast later, read a receipt, read the ERC-20 ``Transfer`` logs of
a transaction or scan a block range for transfers to an address, ask a contract wallet whether it
vouches for a signature (EIP-1271). Amounts are ``int`` base units (``10 ** decimals`` per whole
token), addresses come back EIP-55 checksummed, and every failure is a ``ChainError`` with a
message a person can act on and a ``code`` a program can branch on. The values it returns are
decoded in ``chain_decoding``, its errors made in ``chain_errors``; deploying contracts, minting
and waiting for receipts are development tools (``dev_tools.DevChainClient``).

Transactions are signed here with eth_account, so private keys never reach the node; the node
only sees signed raw transactions (``eth_sendRawTransaction``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Self, cast

from django.conf import settings
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import (
    BadFunctionCallOutput,
    ContractLogicError,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import FilterParams, Nonce, TxParams, Wei

from payments.contracts import load_artifact
from payments.integrations.chain_decoding import (
    ERC1271_ABI,
    ERC1271_MAGIC_VALUE,
    TRANSFER_EVENT_TOPIC,
    ReceiptInfo,
    SignedTransfer,
    TokenMetadata,
    TokenTransferLog,
    TransferReceipt,
    eip191_message_hash,
    hex_str,
    receipt_info,
    transfer_log,
    transfer_receipt,
)
from payments.integrations.chain_errors import (
    ChainError,
    checked_amount,
    checked_block_range,
    checked_signature_input,
    checked_tx_hash,
    checksummed,
    local_account,
    redacted_url,
    rpc_errors,
)

__all__ = [
    "TOKEN_ARTIFACT",
    "TRANSFER_LOG_CHUNK_BLOCKS",
    "ChainClient",
    "ChainError",
    "ReceiptInfo",
    "SignedTransfer",
    "TokenMetadata",
    "TokenTransferLog",
    "TransferReceipt",
    "eip191_message_hash",
]

# The token contract whose ABI is used for TOKEN_ADDRESS: a superset of ERC-20, so any ERC-20
# token can be read and transferred with it; ``mint`` only works on our own test token.
TOKEN_ARTIFACT = "DataBountyToken"  # noqa: S105 - a contract name, not a secret

# Blocks per eth_getLogs call: hosted nodes cap the range (often 2,000 to 10,000 blocks) or the
# answer size, so a long scan is split into chunks of this many blocks.
TRANSFER_LOG_CHUNK_BLOCKS = 2_000


class ChainClient:
    """One EVM node (``rpc_url``) on one expected chain, optionally with the payment token.

    Not safe for two processes sending from the same key at once: nonces come from the node's
    pending transaction count, so callers must serialize sends per key (one sender or a lock).
    Nothing retries here; the Celery task around the call retries transient ``chain_unavailable``.
    """

    def __init__(
        self,
        *,
        rpc_url: str,
        chain_id: int,
        token_address: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.rpc_url = rpc_url
        self.expected_chain_id = chain_id
        self.token_address = token_address
        self.timeout = timeout  # seconds per RPC request
        self._w3 = Web3(
            Web3.HTTPProvider(
                rpc_url,
                request_kwargs={"timeout": timeout},
                # Fail fast: retries with backoff belong to the task that called us.
                exception_retry_configuration=None,
            )
        )
        self._chain_verified = False
        self._token_abi: list[dict[str, Any]] | None = None

    @classmethod
    def from_settings(cls) -> Self:
        return cls(
            rpc_url=settings.CHAIN_RPC_URL,
            chain_id=settings.CHAIN_ID,
            token_address=settings.TOKEN_ADDRESS,
            timeout=settings.CHAIN_RPC_TIMEOUT_SECONDS,
        )

    def with_token(self, token_address: str) -> Self:
        """The same node and chain with another token, e.g. one just deployed."""
        return type(self)(
            rpc_url=self.rpc_url,
            chain_id=self.expected_chain_id,
            token_address=token_address,
            timeout=self.timeout,
        )

    @staticmethod
    def address_for_key(private_key: str) -> str:
        """The EIP-55 address a private key signs for (computed locally)."""
        return str(local_account(private_key).address)

    def __repr__(self) -> str:
        return (
            f"ChainClient(rpc_url={redacted_url(self.rpc_url)!r}, "
            f"chain_id={self.expected_chain_id}, token_address={self.token_address!r})"
        )

    # -- reads -------------------------------------------------------------------------------

    def block_number(self) -> int:
        with self._rpc("Reading the block number"):
            return int(self._w3.eth.block_number)

    def is_contract(self, address: str) -> bool:
        """Whether ``address`` holds code on this chain (a token, not a wallet or nothing)."""
        contract = checksummed(address, what="Contract address")
        with self._rpc("Reading contract code"):
            self._require_chain(once=True)
            return len(self._w3.eth.get_code(contract)) > 0

    def token_metadata(self) -> TokenMetadata:
        token = self._token()
        with self._rpc("Reading the token's name, symbol and decimals", token=True):
            self._require_chain(once=True)
            return TokenMetadata(
                name=str(token.functions.name().call()),
                symbol=str(token.functions.symbol().call()),
                decimals=int(token.functions.decimals().call()),
            )

    def token_balance(self, address: str) -> int:
        """``address``'s token balance in base units."""
        owner = checksummed(address, what="Balance owner")
        token = self._token()
        with self._rpc("Reading a token balance", token=True):
            self._require_chain(once=True)
            return int(token.functions.balanceOf(owner).call())

    def receipt(self, tx_hash: str) -> ReceiptInfo | None:
        """The receipt of a mined transaction, or None while it is pending or unknown."""
        with self._rpc("Reading a transaction receipt"):
            try:
                receipt = self._w3.eth.get_transaction_receipt(checked_tx_hash(tx_hash))
            except TransactionNotFound:
                return None
        return receipt_info(receipt)

    def transfer_receipt(self, tx_hash: str) -> TransferReceipt | None:
        """The receipt of a mined transaction with its ERC-20 ``Transfer`` logs decoded (of any
        emitting contract: callers check ``token_address``), and the current head block for
        counting confirmations; None while the transaction is pending or unknown to the node.

        Checks the node's chain id first: a payment must never verify against another chain."""
        checked_hash = checked_tx_hash(tx_hash)
        with self._rpc("Reading a transaction receipt"):
            self._require_chain(once=True)
            try:
                receipt = self._w3.eth.get_transaction_receipt(checked_hash)
            except TransactionNotFound:
                return None
            # Read after the receipt, so the head is never below the receipt's block.
            head = int(self._w3.eth.block_number)
        return transfer_receipt(receipt, head=head)

    def transfer_logs(
        self,
        *,
        token_address: str,
        to_address: str,
        from_block: int,
        to_block: int,
        chunk_blocks: int = TRANSFER_LOG_CHUNK_BLOCKS,
    ) -> list[TokenTransferLog]:
        """The ERC-20 ``Transfer`` logs that ``token_address`` emitted to ``to_address`` in blocks
        ``from_block`` to ``to_block`` (both included), oldest first. The range is asked for in
        chunks of ``chunk_blocks`` blocks (``eth_getLogs`` filtered by the emitting contract,
        the event topic and the recipient topic).

        ``to_block`` must not be above the chain head (``block_number()``): nodes refuse such
        ranges or answer them partially, and a caller that then moved its scan cursor past the
        head would skip transfers; it is refused with ``invalid_input``. Logs of recent blocks
        can still be reorganised away: scan only up to a block with enough confirmations, or
        keep ``block_hash`` and check it again later."""
        token = checksummed(token_address, what="Token address")
        recipient = checksummed(to_address, what="Transfer recipient")
        first, last = checked_block_range(from_block, to_block, chunk_blocks=chunk_blocks)
        recipient_topic = HexBytes(bytes(12) + bytes.fromhex(recipient[2:]))
        transfers: list[TokenTransferLog] = []
        with self._rpc("Reading token transfer logs"):
            self._require_chain(once=True)
            head = int(self._w3.eth.block_number)
            if last > head:
                raise ChainError(
                    f"to_block {last} is above the chain head {head}: scan up to the head at most.",
                    code="invalid_input",
                    status_code=400,
                )
            for start in range(first, last + 1, chunk_blocks):
                end = min(start + chunk_blocks - 1, last)
                params: FilterParams = {
                    "address": token,
                    "fromBlock": start,
                    "toBlock": end,
                    "topics": [HexBytes(TRANSFER_EVENT_TOPIC), None, recipient_topic],
                }
                for log in self._w3.eth.get_logs(params):
                    transfer = transfer_log(log)
                    # The node filtered already; checked again rather than trusted.
                    if (
                        transfer is not None
                        and transfer.token_address == token
                        and transfer.to_address == recipient
                    ):
                        transfers.append(transfer)
        transfers.sort(key=lambda transfer: (transfer.block_number, transfer.log_index))
        return transfers

    def erc1271_is_valid_signature(
        self, *, wallet: str, message_hash: bytes, signature: bytes
    ) -> bool:
        """Whether the contract wallet at ``wallet`` accepts ``signature`` over ``message_hash``
        (EIP-1271: ``isValidSignature`` returns exactly the magic value ``0x1626ba7e``).

        False for any other answer, a revert, or an undecodable one (an EOA or an address with
        no code answers "0x"): none of these is a signature the wallet vouches for. Raises
        ``ChainError`` only when the node cannot be asked (``chain_unavailable``,
        ``wrong_chain``, ``chain_error``) or the input is malformed."""
        address = checksummed(wallet, what="Wallet address")
        checked_signature_input(message_hash, signature)
        contract = self._w3.eth.contract(address=address, abi=ERC1271_ABI)
        with self._rpc("Checking a contract wallet's signature (EIP-1271)"):
            self._require_chain(once=True)
            try:
                result = contract.functions.isValidSignature(message_hash, signature).call(
                    # No EIP-3668 offchain lookups: a wallet contract must not make this server
                    # fetch URLs of its choosing. The lookup's revert counts as "not valid".
                    ccip_read_enabled=False
                )
            except (ContractLogicError, BadFunctionCallOutput):
                return False
        return isinstance(result, bytes) and result == ERC1271_MAGIC_VALUE

    # -- writes ------------------------------------------------------------------------------

    def token_transfer(self, *, private_key: str, to: str, amount: int) -> str:
        """Sends ``amount`` base units from the key's address to ``to``; returns the tx hash
        without waiting (``wait_for_receipt`` confirms it). A transfer the token would refuse,
        e.g. more than the balance, fails before sending with ``tx_failed``."""
        return self._send_to(
            "transfer", action="The token transfer", private_key=private_key, to=to, amount=amount
        )

    def transaction_count(self, address: str, *, pending: bool = False) -> int:
        """The address's next nonce as the node sees it: mined only, or with its pool."""
        owner = checksummed(address, what="Address")
        with self._rpc("Reading a nonce"):
            return int(
                self._w3.eth.get_transaction_count(owner, "pending" if pending else "latest")
            )

    def fee_suggestion(self) -> tuple[int, int]:
        """(base fee of the latest block, suggested priority fee), in wei."""
        with self._rpc("Reading gas fees"):
            block = self._w3.eth.get_block("latest")
            base = int(block.get("baseFeePerGas", 0) or 0)
            try:
                priority = int(self._w3.eth.max_priority_fee)
            except Web3RPCError:
                priority = 10**9
        return base, priority

    def eip1559_fees(self) -> tuple[int, int]:
        """(max fee, max priority fee) per gas in wei for a transaction sent now: the suggested
        priority fee on top of twice the base fee, so it stays includable while the base fee
        doubles. The one fee rule: payouts and x402 settlements both pay this."""
        base, priority = self.fee_suggestion()
        return 2 * base + priority, priority

    def token_transfer_sign(
        self,
        *,
        private_key: str,
        to: str,
        amount: int,
        nonce: int,
        max_fee_per_gas: int,
        max_priority_fee_per_gas: int,
        gas: int | None = None,
    ) -> SignedTransfer:
        """Build and sign (never send) an ERC-20 transfer with the given nonce and fees, so
        the caller can record the hash and raw bytes before broadcasting them."""
        account = local_account(private_key)
        recipient = checksummed(to, what="Transfer recipient")
        token = self._token()
        call = token.functions.transfer(recipient, checked_amount(amount))
        with self._rpc("Signing a token transfer", abi=self._token_contract_abi(), token=True):
            self._require_chain(once=True)
            params: TxParams = {
                "from": account.address,
                "chainId": self.expected_chain_id,
                "nonce": Nonce(nonce),
                "maxFeePerGas": Wei(max_fee_per_gas),
                "maxPriorityFeePerGas": Wei(max_priority_fee_per_gas),
            }
            if gas is not None:
                params["gas"] = gas
            built = call.build_transaction(params)
            signed = account.sign_transaction(cast(dict[str, Any], built))
        return SignedTransfer(
            tx_hash=hex_str(signed.hash),
            raw="0x" + bytes(signed.raw_transaction).hex(),
            nonce=nonce,
            gas=int(built["gas"]),
        )

    def broadcast(self, raw: str) -> str:
        """Send signed bytes; sending bytes the node already has is not an error (a restart
        re-broadcasts what it recorded). A nonce already used is ``nonce_used``."""
        data = HexBytes(raw)
        with self._rpc("Broadcasting a transaction", sending=True):
            try:
                return hex_str(self._w3.eth.send_raw_transaction(data))
            except Web3RPCError as exc:
                message = (exc.message or str(exc)).lower()
                if "already known" in message or "already imported" in message:
                    return hex_str(keccak(data))
                if "nonce too low" in message or "nonce has already been used" in message:
                    raise ChainError(
                        "This nonce was already used by another transaction.",
                        code="nonce_used",
                        status_code=409,
                    ) from exc
                raise

    def transaction_value(self, tx_hash: str) -> int:
        """The ether (wei) a transaction sent along: not in its receipt, so read from the
        transaction itself; 0 for one the node does not know."""
        with self._rpc("Reading a transaction"):
            try:
                transaction = self._w3.eth.get_transaction(checked_tx_hash(tx_hash))
            except TransactionNotFound:
                return 0
        return int(transaction.get("value", 0))

    def transaction_known(self, tx_hash: str) -> bool:
        """Whether the node has the transaction (in its pool or mined)."""
        with self._rpc("Reading a transaction"):
            try:
                self._w3.eth.get_transaction(checked_tx_hash(tx_hash))
            except TransactionNotFound:
                return False
        return True

    # -- internals ---------------------------------------------------------------------------

    def _send(
        self,
        *,
        action: str,
        private_key: str,
        call: ContractFunction | ContractConstructor,
        abi: Sequence[dict[str, Any]],
        token: bool = False,
    ) -> str:
        account = local_account(private_key)
        with self._rpc(action, sending=True, abi=abi, token=token):
            # Checked on every send: signing for the wrong chain id would fail at best, and a
            # replayable transaction on another chain at worst.
            self._require_chain(once=False)
            if token:
                # A call to an address without code "succeeds" and moves nothing.
                self._require_token_code()
            transaction: TxParams = {
                "from": account.address,
                "chainId": self.expected_chain_id,
                # "pending" counts our own unmined transactions, so back-to-back sends from one
                # key get consecutive nonces.
                "nonce": self._w3.eth.get_transaction_count(account.address, "pending"),
            }
            # Fills gas (eth_estimateGas, which also runs the call, so a revert surfaces here
            # before anything is sent) and the EIP-1559 fee fields.
            built = call.build_transaction(transaction)
            signed = account.sign_transaction(cast(dict[str, Any], built))
            tx_hash = self._w3.eth.send_raw_transaction(signed.raw_transaction)
        return hex_str(tx_hash)

    def _send_to(
        self, function: str, *, action: str, private_key: str, to: str, amount: int
    ) -> str:
        """Sends the token's ``function(to, amount)`` (``transfer``, or the test token's
        ``mint``) signed with ``private_key``; returns the tx hash without waiting."""
        what = "Mint recipient" if function == "mint" else "Transfer recipient"
        recipient = checksummed(to, what=what)
        token = self._token()
        return self._send(
            action=action,
            private_key=private_key,
            call=token.functions[function](recipient, checked_amount(amount)),
            abi=self._token_contract_abi(),
            token=True,
        )

    def _require_chain(self, *, once: bool) -> None:
        if once and self._chain_verified:
            return
        actual = int(self._w3.eth.chain_id)
        if actual != self.expected_chain_id:
            raise ChainError(
                f"The node at {redacted_url(self.rpc_url)} is on chain {actual}, but CHAIN_ID "
                f"is {self.expected_chain_id}: point CHAIN_RPC_URL at the right network or fix "
                "CHAIN_ID.",
                code="wrong_chain",
            )
        self._chain_verified = True

    def _token_contract_abi(self) -> list[dict[str, Any]]:
        if self._token_abi is None:
            self._token_abi = load_artifact(TOKEN_ARTIFACT)["abi"]
        return self._token_abi

    def _token(self) -> Contract:
        if not self.token_address:
            raise ChainError(
                "TOKEN_ADDRESS is not set: deploy the token with `manage.py chain_deploy_token` "
                "and set TOKEN_ADDRESS to the address it prints.",
                code="no_token",
            )
        address = checksummed(self.token_address, what="TOKEN_ADDRESS")
        return self._w3.eth.contract(address=address, abi=self._token_contract_abi())

    def _require_token_code(self) -> None:
        address = checksummed(self.token_address, what="TOKEN_ADDRESS")
        if len(self._w3.eth.get_code(address)) == 0:
            raise self._no_token_code()

    def _no_token_code(self) -> ChainError:
        return ChainError(
            f"There is no contract at TOKEN_ADDRESS {self.token_address} on chain "
            f"{self.expected_chain_id}: the chain was reset or the address is wrong; run "
            "`manage.py chain_deploy_token` again.",
            code="no_token",
        )

    def _rpc(
        self,
        action: str,
        *,
        sending: bool = False,
        abi: Sequence[dict[str, Any]] = (),
        token: bool = False,
    ) -> AbstractContextManager[None]:
        """Turns web3 and transport exceptions into ``ChainError``s that say what failed."""
        return rpc_errors(
            action,
            rpc_url=self.rpc_url,
            sending=sending,
            abi=abi,
            no_token=self._no_token_code if token else None,
        )
