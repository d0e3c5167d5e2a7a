"""What the chain client reads, as plain values: receipts, logs and ERC-20 ``Transfer`` logs
decoded from web3's answers, token metadata and signed transfers. Nothing here talks to a node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3.types import LogReceipt, TxReceipt

# ERC-20 (https://eips.ethereum.org/EIPS/eip-20):
# event Transfer(address indexed from, address indexed to, uint256 value).
# ERC-721 emits the same signature with ``tokenId`` indexed too (four topics, no data), so a log
# is an ERC-20 transfer only with exactly three topics and 32 bytes of data.
TRANSFER_EVENT_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()

# EIP-1271 (https://eips.ethereum.org/EIPS/eip-1271): only this exact return value means "valid";
# it is bytes4(keccak256("isValidSignature(bytes32,bytes)")).
ERC1271_MAGIC_VALUE = bytes.fromhex("1626ba7e")
# Just the one function, so any EIP-1271 wallet (Safe, Argent, ours, ...) can be asked.
ERC1271_ABI: list[dict[str, Any]] = [
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
class MinedTransaction:
    """What the receipt of any mined transaction says about it."""

    tx_hash: str  # 0x-prefixed, lowercase
    status: int  # 1 = success, 0 = reverted (EIP-658)
    block_number: int
    from_address: str  # EIP-55, the account that signed the transaction
    to_address: str | None  # EIP-55; None for a contract creation

    @property
    def succeeded(self) -> bool:
        return self.status == 1


@dataclass(frozen=True)
class ReceiptInfo(MinedTransaction):
    contract_address: str | None  # EIP-55; set only for a contract creation
    gas_used: int
    logs: tuple[LogInfo, ...]


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
class TransferReceipt(MinedTransaction):
    """A mined transaction's outcome with its ERC-20 transfers decoded, and the chain head when
    it was read, to count confirmations."""

    block_hash: str  # 0x-prefixed, lowercase
    head_block: int  # the node's latest block number, read just after the receipt
    transfers: tuple[TokenTransferLog, ...]  # every ERC-20 Transfer log, in log order

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


def hex_str(value: bytes) -> str:
    return HexBytes(value).to_0x_hex()


def _mined_transaction(receipt: TxReceipt) -> dict[str, Any]:
    """``MinedTransaction``'s fields from ``receipt``."""
    to_address = receipt.get("to")
    return {
        "tx_hash": hex_str(receipt["transactionHash"]),
        "status": int(receipt["status"]),
        "block_number": int(receipt["blockNumber"]),
        "from_address": to_checksum_address(receipt["from"]),
        "to_address": to_checksum_address(to_address) if to_address else None,
    }


def receipt_info(receipt: TxReceipt) -> ReceiptInfo:
    contract_address = receipt.get("contractAddress")
    return ReceiptInfo(
        **_mined_transaction(receipt),
        contract_address=to_checksum_address(contract_address) if contract_address else None,
        gas_used=int(receipt["gasUsed"]),
        logs=tuple(
            LogInfo(
                address=to_checksum_address(log["address"]),
                topics=tuple(hex_str(topic) for topic in log["topics"]),
                data=hex_str(log["data"]),
                log_index=int(log["logIndex"]),
            )
            for log in receipt["logs"]
        ),
    )


def topic_address(topic: bytes) -> ChecksumAddress | None:
    """The address in an indexed ``address`` topic, or None if the topic is not a well-formed
    ABI-encoded address (left-padded with 12 zero bytes)."""
    if len(topic) != 32 or any(topic[:12]):
        return None
    return to_checksum_address(topic[12:])


def transfer_log(log: LogReceipt) -> TokenTransferLog | None:
    """The ERC-20 Transfer in ``log``, or None if it is another event (or ERC-721's Transfer)
    or a log a reorganisation removed."""
    topics = [bytes(topic) for topic in log["topics"]]
    data = bytes(log["data"])
    if log.get("removed") or len(topics) != 3 or len(data) != 32:
        return None
    if hex_str(topics[0]) != TRANSFER_EVENT_TOPIC:
        return None
    sender, recipient = topic_address(topics[1]), topic_address(topics[2])
    if sender is None or recipient is None:
        return None
    return TokenTransferLog(
        tx_hash=hex_str(log["transactionHash"]),
        log_index=int(log["logIndex"]),
        block_number=int(log["blockNumber"]),
        block_hash=hex_str(log["blockHash"]),
        token_address=to_checksum_address(log["address"]),
        from_address=sender,
        to_address=recipient,
        value=int.from_bytes(data, "big"),
    )


def transfer_receipt(receipt: TxReceipt, *, head: int) -> TransferReceipt:
    """``receipt`` with its ERC-20 ``Transfer`` logs decoded, and the chain head ``head``."""
    return TransferReceipt(
        **_mined_transaction(receipt),
        block_hash=hex_str(receipt["blockHash"]),
        head_block=head,
        transfers=tuple(
            transfer for log in receipt["logs"] if (transfer := transfer_log(log)) is not None
        ),
    )


def eip191_message_hash(message: str) -> bytes:
    """The 32-byte hash that personal_sign signs for ``message`` (EIP-191 version 0x45,
    https://eips.ethereum.org/EIPS/eip-191): keccak256 of "\\x19Ethereum Signed Message:\\n",
    the UTF-8 byte length in decimal, then the UTF-8 bytes. A SIWE (EIP-4361) signature is over
    this hash, whether an EOA made it or a contract wallet vouches for it (EIP-1271)."""
    data = message.encode("utf-8")
    return keccak(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode("ascii") + data)
