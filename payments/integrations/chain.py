"""The chain client: the only module in the app that imports web3.

Everything the app does on an EVM chain goes through ``ChainClient``: read the token, deploy a
contract, send a token transfer or mint, wait for a receipt, read the ERC-20 ``Transfer`` logs of
a transaction or scan a block range for transfers to an address, ask a contract wallet whether it
vouches for a signature (EIP-1271). Amounts are ``int`` base units (``10 ** decimals`` per whole
token), addresses come back EIP-55 checksummed, and every failure is a ``ChainError`` with a
message a person can act on and a ``code`` a program can branch on.

Transactions are signed here with eth_account, so private keys never reach the node; the node
only sees signed raw transactions (``eth_sendRawTransaction``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

from django.conf import settings
from eth_abi.abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import (
    BadFunctionCallOutput,
    BadResponseFormat,
    ContractLogicError,
    ProviderConnectionError,
    TimeExhausted,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import FilterParams, LogReceipt, Nonce, TxParams, TxReceipt, Wei

from marketplace.core.addresses import InvalidAddressError, normalize_address
from marketplace.core.exceptions import ApplicationError
from payments.contracts import load_artifact

# The token contract whose ABI is used for TOKEN_ADDRESS: a superset of ERC-20, so any ERC-20
# token can be read and transferred with it; ``mint`` only works on our own test token.
TOKEN_ARTIFACT = "DataBountyToken"  # noqa: S105 - a contract name, not a secret
UINT256_MAX = 2**256 - 1
DEFAULT_RECEIPT_TIMEOUT_SECONDS = 120.0
_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")

# ERC-20 (https://eips.ethereum.org/EIPS/eip-20):
# event Transfer(address indexed from, address indexed to, uint256 value).
# ERC-721 emits the same signature with ``tokenId`` indexed too (four topics, no data), so a log
# is an ERC-20 transfer only with exactly three topics and 32 bytes of data.
TRANSFER_EVENT_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
# Blocks per eth_getLogs call: hosted nodes cap the range (often 2,000 to 10,000 blocks) or the
# answer size, so a long scan is split into chunks of this many blocks.
TRANSFER_LOG_CHUNK_BLOCKS = 2_000

# EIP-1271 (https://eips.ethereum.org/EIPS/eip-1271): only this exact return value means "valid";
# it is bytes4(keccak256("isValidSignature(bytes32,bytes)")).
ERC1271_MAGIC_VALUE = bytes.fromhex("1626ba7e")
# Just the one function, so any EIP-1271 wallet (Safe, Argent, ours, ...) can be asked.
_ERC1271_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "isValidSignature",
        "stateMutability": "view",
        "inputs": [
            {"name": "hash", "type": "bytes32"},
            {"name": "signature", "type": "bytes"},
        ],
        "outputs": [{"name": "magicValue", "type": "bytes4"}],
    }
]


class ChainError(ApplicationError):
    """A chain operation failed. Codes: ``chain_unavailable`` (node unreachable or answering
    garbage), ``wrong_chain`` (node's chain id is not CHAIN_ID), ``no_token`` (TOKEN_ADDRESS unset
    or no contract there), ``tx_failed`` (rejected or reverted), ``tx_timeout`` (not mined in time),
    ``invalid_address`` / ``invalid_amount`` / ``invalid_key`` / ``invalid_tx_hash`` /
    ``invalid_input`` (bad input), ``chain_error`` (any other error answer from the node)."""

    default_code = "chain_error"
    status_code = 503


class TokenMetadata(NamedTuple):
    name: str
    symbol: str
    decimals: int


@dataclass(frozen=True)
class LogInfo:
    address: str  # EIP-55, the contract that emitted the log
    topics: tuple[str, ...]  # 0x-prefixed 32-byte hex; topics[0] is the event signature hash
    data: str  # 0x-prefixed hex of the non-indexed arguments
    log_index: int  # position in the block; with chain_id and tx_hash it identifies the log


@dataclass(frozen=True)
class ReceiptInfo:
    tx_hash: str  # 0x-prefixed
    status: int  # 1 = success, 0 = reverted (EIP-658)
    block_number: int
    from_address: str  # EIP-55
    to_address: str | None  # EIP-55; None for a contract creation
    contract_address: str | None  # EIP-55; set only for a contract creation
    gas_used: int
    logs: tuple[LogInfo, ...]

    @property
    def succeeded(self) -> bool:
        return self.status == 1


@dataclass(frozen=True)
class TokenTransferLog:
    """One decoded ERC-20 ``Transfer`` log. ``(chain_id, tx_hash, log_index)`` identifies it."""

    tx_hash: str  # 0x-prefixed, lowercase
    log_index: int  # position in the block
    block_number: int
    block_hash: str  # 0x-prefixed, lowercase; changes if the block is reorganised away
    token_address: str  # EIP-55, the contract that emitted the log (not necessarily a token!)
    from_address: str  # EIP-55
    to_address: str  # EIP-55
    value: int  # base units


@dataclass(frozen=True)
class TransferReceipt:
    """A mined transaction's outcome with its ERC-20 transfers decoded, and the chain head when
    it was read, to count confirmations."""

    tx_hash: str  # 0x-prefixed, lowercase
    status: int  # 1 = success, 0 = reverted (EIP-658)
    block_number: int
    block_hash: str  # 0x-prefixed, lowercase
    from_address: str  # EIP-55, the account that signed the transaction
    to_address: str | None  # EIP-55; None for a contract creation
    head_block: int  # the node's latest block number, read just after the receipt
    transfers: tuple[TokenTransferLog, ...]  # every ERC-20 Transfer log, in log order

    @property
    def succeeded(self) -> bool:
        return self.status == 1

    @property
    def confirmations(self) -> int:
        """Blocks on top of and including the transaction's block: 1 once it is mined."""
        return max(self.head_block - self.block_number + 1, 0)


@dataclass(frozen=True)
class SignedTransfer:
    tx_hash: str
    raw: str  # 0x-prefixed signed bytes: safe to store, they hold no key
    nonce: int
    gas: int


def eip191_message_hash(message: str) -> bytes:
    """The 32-byte hash that personal_sign signs for ``message`` (EIP-191 version 0x45,
    https://eips.ethereum.org/EIPS/eip-191): keccak256 of "\\x19Ethereum Signed Message:\\n",
    the UTF-8 byte length in decimal, then the UTF-8 bytes. A SIWE (EIP-4361) signature is over
    this hash, whether an EOA made it or a contract wallet vouches for it (EIP-1271)."""
    data = message.encode("utf-8")
    return keccak(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode("ascii") + data)


def _redacted_url(url: str) -> str:
    """Scheme, host and port only: hosted RPC URLs often carry an API key in the path or query."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}" if parts.hostname else "the configured URL"


def _checksummed(address: str, *, what: str) -> ChecksumAddress:
    try:
        return to_checksum_address(normalize_address(address))
    except InvalidAddressError as exc:
        raise ChainError(f"{what}: {exc.detail}", code="invalid_address", status_code=400) from exc


def _checked_amount(amount: int) -> int:
    # bool is an int subclass; True tokens is a bug, not an amount.
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= UINT256_MAX:
        raise ChainError(
            f"Token amount must be an int of base units between 0 and 2**256-1, got {amount!r}",
            code="invalid_amount",
            status_code=400,
        )
    return amount


def _hex(value: bytes) -> str:
    return HexBytes(value).to_0x_hex()


def _receipt_info(receipt: TxReceipt) -> ReceiptInfo:
    contract_address = receipt.get("contractAddress")
    to_address = receipt.get("to")
    return ReceiptInfo(
        tx_hash=_hex(receipt["transactionHash"]),
        status=int(receipt["status"]),
        block_number=int(receipt["blockNumber"]),
        from_address=to_checksum_address(receipt["from"]),
        to_address=to_checksum_address(to_address) if to_address else None,
        contract_address=to_checksum_address(contract_address) if contract_address else None,
        gas_used=int(receipt["gasUsed"]),
        logs=tuple(
            LogInfo(
                address=to_checksum_address(log["address"]),
                topics=tuple(_hex(topic) for topic in log["topics"]),
                data=_hex(log["data"]),
                log_index=int(log["logIndex"]),
            )
            for log in receipt["logs"]
        ),
    )


def _topic_address(topic: bytes) -> ChecksumAddress | None:
    """The address in an indexed ``address`` topic, or None if the topic is not a well-formed
    ABI-encoded address (left-padded with 12 zero bytes)."""
    if len(topic) != 32 or any(topic[:12]):
        return None
    return to_checksum_address(topic[12:])


def _transfer_log(log: LogReceipt) -> TokenTransferLog | None:
    """The ERC-20 Transfer in ``log``, or None if it is another event (or ERC-721's Transfer)
    or a log a reorganisation removed."""
    topics = [bytes(topic) for topic in log["topics"]]
    data = bytes(log["data"])
    if log.get("removed") or len(topics) != 3 or len(data) != 32:
        return None
    if _hex(topics[0]) != TRANSFER_EVENT_TOPIC:
        return None
    sender, recipient = _topic_address(topics[1]), _topic_address(topics[2])
    if sender is None or recipient is None:
        return None
    return TokenTransferLog(
        tx_hash=_hex(log["transactionHash"]),
        log_index=int(log["logIndex"]),
        block_number=int(log["blockNumber"]),
        block_hash=_hex(log["blockHash"]),
        token_address=to_checksum_address(log["address"]),
        from_address=sender,
        to_address=recipient,
        value=int.from_bytes(data, "big"),
    )


def _block_number_arg(value: int, *, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ChainError(
            f"{what} must be a block number (an int >= 0), got {value!r}",
            code="invalid_input",
            status_code=400,
        )
    return value


def _describe_custom_error(data: str, abi: Sequence[dict[str, Any]]) -> str:
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
    def from_settings(cls) -> ChainClient:
        return cls(
            rpc_url=settings.CHAIN_RPC_URL,
            chain_id=settings.CHAIN_ID,
            token_address=settings.TOKEN_ADDRESS,
            timeout=settings.CHAIN_RPC_TIMEOUT_SECONDS,
        )

    def with_token(self, token_address: str) -> ChainClient:
        """The same node and chain with another token, e.g. one just deployed."""
        return ChainClient(
            rpc_url=self.rpc_url,
            chain_id=self.expected_chain_id,
            token_address=token_address,
            timeout=self.timeout,
        )

    @staticmethod
    def address_for_key(private_key: str) -> str:
        """The EIP-55 address a private key signs for (computed locally)."""
        return str(ChainClient._account(private_key).address)

    def __repr__(self) -> str:
        return (
            f"ChainClient(rpc_url={_redacted_url(self.rpc_url)!r}, "
            f"chain_id={self.expected_chain_id}, token_address={self.token_address!r})"
        )

    # -- reads -------------------------------------------------------------------------------

    def chain_id(self) -> int:
        """The chain id the node reports (not the configured one: see ``expected_chain_id``)."""
        with self._rpc("Reading the chain id"):
            return int(self._w3.eth.chain_id)

    def block_number(self) -> int:
        with self._rpc("Reading the block number"):
            return int(self._w3.eth.block_number)

    def is_contract(self, address: str) -> bool:
        """Whether ``address`` holds code on this chain (a token, not a wallet or nothing)."""
        checksummed = _checksummed(address, what="Contract address")
        with self._rpc("Reading contract code"):
            self._require_chain(once=True)
            return len(self._w3.eth.get_code(checksummed)) > 0

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
        owner = _checksummed(address, what="Balance owner")
        token = self._token()
        with self._rpc("Reading a token balance", token=True):
            self._require_chain(once=True)
            return int(token.functions.balanceOf(owner).call())

    def receipt(self, tx_hash: str) -> ReceiptInfo | None:
        """The receipt of a mined transaction, or None while it is pending or unknown."""
        with self._rpc("Reading a transaction receipt"):
            try:
                receipt = self._w3.eth.get_transaction_receipt(self._tx_hash(tx_hash))
            except TransactionNotFound:
                return None
        return _receipt_info(receipt)

    def transfer_receipt(self, tx_hash: str) -> TransferReceipt | None:
        """The receipt of a mined transaction with its ERC-20 ``Transfer`` logs decoded (of any
        emitting contract: callers check ``token_address``), and the current head block for
        counting confirmations; None while the transaction is pending or unknown to the node.

        Checks the node's chain id first: a payment must never verify against another chain."""
        checked_hash = self._tx_hash(tx_hash)
        with self._rpc("Reading a transaction receipt"):
            self._require_chain(once=True)
            try:
                receipt = self._w3.eth.get_transaction_receipt(checked_hash)
            except TransactionNotFound:
                return None
            # Read after the receipt, so the head is never below the receipt's block.
            head = int(self._w3.eth.block_number)
        to_address = receipt.get("to")
        return TransferReceipt(
            tx_hash=_hex(receipt["transactionHash"]),
            status=int(receipt["status"]),
            block_number=int(receipt["blockNumber"]),
            block_hash=_hex(receipt["blockHash"]),
            from_address=to_checksum_address(receipt["from"]),
            to_address=to_checksum_address(to_address) if to_address else None,
            head_block=head,
            transfers=tuple(
                transfer for log in receipt["logs"] if (transfer := _transfer_log(log)) is not None
            ),
        )

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
        token = _checksummed(token_address, what="Token address")
        recipient = _checksummed(to_address, what="Transfer recipient")
        first = _block_number_arg(from_block, what="from_block")
        last = _block_number_arg(to_block, what="to_block")
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
                    transfer = _transfer_log(log)
                    # The node filtered already; checked again rather than trusted.
                    if (
                        transfer is not None
                        and transfer.token_address == token
                        and transfer.to_address == recipient
                    ):
                        transfers.append(transfer)
        transfers.sort(key=lambda transfer: (transfer.block_number, transfer.log_index))
        return transfers

    def wait_for_receipt(
        self, tx_hash: str, *, timeout: float = DEFAULT_RECEIPT_TIMEOUT_SECONDS
    ) -> ReceiptInfo:
        """Polls until the transaction is mined; a reverted one comes back with ``status == 0``
        (check ``succeeded``) because callers record failed payouts rather than lose them."""
        with self._rpc("Waiting for a transaction receipt"):
            try:
                receipt = self._w3.eth.wait_for_transaction_receipt(
                    self._tx_hash(tx_hash), timeout=timeout, poll_latency=0.1
                )
            except TimeExhausted as exc:
                raise ChainError(
                    f"Transaction {tx_hash} was not mined within {timeout:g} seconds; it may "
                    "still be pending, so check it again before sending a replacement.",
                    code="tx_timeout",
                    status_code=504,
                ) from exc
        return _receipt_info(receipt)

    def erc1271_is_valid_signature(
        self, *, wallet: str, message_hash: bytes, signature: bytes
    ) -> bool:
        """Whether the contract wallet at ``wallet`` accepts ``signature`` over ``message_hash``
        (EIP-1271: ``isValidSignature`` returns exactly the magic value ``0x1626ba7e``).

        False for any other answer, a revert, or an undecodable one (an EOA or an address with
        no code answers "0x"): none of these is a signature the wallet vouches for. Raises
        ``ChainError`` only when the node cannot be asked (``chain_unavailable``,
        ``wrong_chain``, ``chain_error``) or the input is malformed."""
        address = _checksummed(wallet, what="Wallet address")
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
        contract = self._w3.eth.contract(address=address, abi=_ERC1271_ABI)
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

    def token_transfer(self, *, private_key: str, to: str, amount: int) -> str:
        """Sends ``amount`` base units from the key's address to ``to``; returns the tx hash
        without waiting (``wait_for_receipt`` confirms it). A transfer the token would refuse,
        e.g. more than the balance, fails before sending with ``tx_failed``."""
        recipient = _checksummed(to, what="Transfer recipient")
        token = self._token()
        return self._send(
            action="The token transfer",
            private_key=private_key,
            call=token.functions.transfer(recipient, _checked_amount(amount)),
            abi=self._token_contract_abi(),
            token=True,
        )

    def transaction_count(self, address: str, *, pending: bool = False) -> int:
        """The address's next nonce as the node sees it: mined only, or with its pool."""
        owner = _checksummed(address, what="Address")
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
        account = self._account(private_key)
        recipient = _checksummed(to, what="Transfer recipient")
        token = self._token()
        call = token.functions.transfer(recipient, _checked_amount(amount))
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
            tx_hash=_hex(signed.hash),
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
                return _hex(self._w3.eth.send_raw_transaction(data))
            except Web3RPCError as exc:
                message = (exc.message or str(exc)).lower()
                if "already known" in message or "already imported" in message:
                    return _hex(keccak(data))
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
                transaction = self._w3.eth.get_transaction(self._tx_hash(tx_hash))
            except TransactionNotFound:
                return 0
        return int(transaction.get("value", 0))

    def transaction_known(self, tx_hash: str) -> bool:
        """Whether the node has the transaction (in its pool or mined)."""
        with self._rpc("Reading a transaction"):
            try:
                self._w3.eth.get_transaction(self._tx_hash(tx_hash))
            except TransactionNotFound:
                return False
        return True

    def token_mint(self, *, private_key: str, to: str, amount: int) -> str:
        """Mints ``amount`` base units to ``to`` (test token only; the key must be its owner);
        returns the tx hash without waiting."""
        recipient = _checksummed(to, what="Mint recipient")
        token = self._token()
        return self._send(
            action="Minting tokens",
            private_key=private_key,
            call=token.functions.mint(recipient, _checked_amount(amount)),
            abi=self._token_contract_abi(),
            token=True,
        )

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
        account = self._account(private_key)
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
        return _hex(tx_hash)

    @staticmethod
    def _account(private_key: str) -> LocalAccount:
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

    def _tx_hash(self, tx_hash: str) -> HexBytes:
        if not isinstance(tx_hash, str) or not _TX_HASH.fullmatch(tx_hash):
            raise ChainError(
                f"Not a transaction hash (0x and 64 hex digits): {tx_hash!r}",
                code="invalid_tx_hash",
                status_code=400,
            )
        return HexBytes(tx_hash)

    def _require_chain(self, *, once: bool) -> None:
        if once and self._chain_verified:
            return
        actual = int(self._w3.eth.chain_id)
        if actual != self.expected_chain_id:
            raise ChainError(
                f"The node at {_redacted_url(self.rpc_url)} is on chain {actual}, but CHAIN_ID "
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
        address = _checksummed(self.token_address, what="TOKEN_ADDRESS")
        return self._w3.eth.contract(address=address, abi=self._token_contract_abi())

    def _require_token_code(self) -> None:
        address = _checksummed(self.token_address, what="TOKEN_ADDRESS")
        if len(self._w3.eth.get_code(address)) == 0:
            raise self._no_token_code()

    def _no_token_code(self) -> ChainError:
        return ChainError(
            f"There is no contract at TOKEN_ADDRESS {self.token_address} on chain "
            f"{self.expected_chain_id}: the chain was reset or the address is wrong; run "
            "`manage.py chain_deploy_token` again.",
            code="no_token",
        )

    @contextlib.contextmanager
    def _rpc(
        self,
        action: str,
        *,
        sending: bool = False,
        abi: Sequence[dict[str, Any]] = (),
        token: bool = False,
    ) -> Iterator[None]:
        """Turns web3 and transport exceptions into ``ChainError``s that say what failed."""
        try:
            yield
        except ChainError:
            raise
        except ContractLogicError as exc:
            data = exc.data if isinstance(exc.data, str) else None
            reason = _describe_custom_error(data, abi) if data else (exc.message or "reverted")
            raise ChainError(
                f"{action} was rejected by the contract: {reason}",
                code="tx_failed",
                status_code=400,
            ) from exc
        except BadFunctionCallOutput as exc:
            # eth_call on an address without code answers "0x", which cannot be decoded.
            if token:
                raise self._no_token_code() from exc
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
                f"{action} failed: the chain node at {_redacted_url(self.rpc_url)} is "
                f"unreachable or not answering JSON-RPC ({type(exc).__name__}). Is it running?",
                code="chain_unavailable",
            )
            # requests quotes the full URL, and a hosted node's URL carries its API key: keep
            # the cause (for the logged traceback) only when the URL holds nothing secret.
            if _redacted_url(self.rpc_url) == self.rpc_url.rstrip("/"):
                raise error from exc
            raise error from None
