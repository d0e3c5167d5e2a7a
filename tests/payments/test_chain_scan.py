"""ChainClient's Transfer-log readers against a real anvil chain: one transaction's decoded
transfers, and a scan of a block range for transfers to an address."""

from __future__ import annotations

import pytest

from payments.integrations.anvil import AnvilNode, DevAccount
from payments.integrations.chain import (
    TRANSFER_LOG_CHUNK_BLOCKS,
    ChainError,
    TokenTransferLog,
)
from payments.integrations.dev_tools import DevChainClient
from tests.chain import mine
from tests.payments.chain_helpers import deploy_token

pytestmark = pytest.mark.chain

ZERO_ADDRESS = "0x" + "00" * 20


@pytest.fixture
def token(anvil: AnvilNode, dev_wallets: list[DevAccount]) -> DevChainClient:
    owner = dev_wallets[0]
    client = deploy_token(DevChainClient.from_settings(), owner, "dbUSD")
    client.wait_for_receipt(
        client.token_mint(private_key=owner.private_key, to=owner.address, amount=10**12)
    )
    return client


def _send(client: DevChainClient, payer: DevAccount, to: str, amount: int) -> TokenTransferLog:
    tx_hash = client.token_transfer(private_key=payer.private_key, to=to, amount=amount)
    client.wait_for_receipt(tx_hash)
    receipt = client.transfer_receipt(tx_hash)
    assert receipt is not None
    [transfer] = receipt.transfers
    return transfer


def test_transfer_receipt_decodes_transfers_and_counts_confirmations(
    anvil: AnvilNode, token: DevChainClient, dev_wallets: list[DevAccount]
) -> None:
    owner, recipient = dev_wallets[0], dev_wallets[1]
    tx_hash = token.token_transfer(private_key=owner.private_key, to=recipient.address, amount=42)
    mined = token.wait_for_receipt(tx_hash)

    receipt = token.transfer_receipt(tx_hash)

    assert receipt is not None
    assert receipt.succeeded
    assert receipt.tx_hash == tx_hash
    assert receipt.block_number == mined.block_number
    assert receipt.from_address == owner.address
    assert receipt.to_address == token.token_address
    assert receipt.confirmations == 1
    assert receipt.transfers == (
        TokenTransferLog(
            tx_hash=tx_hash,
            log_index=mined.logs[0].log_index,
            block_number=mined.block_number,
            block_hash=receipt.block_hash,
            token_address=token.token_address,
            from_address=owner.address,
            to_address=recipient.address,
            value=42,
        ),
    )
    mine(anvil, 9)
    later = token.transfer_receipt(tx_hash)
    assert later is not None
    assert later.confirmations == 10


def test_transfer_receipt_of_a_mint_is_a_transfer_from_the_zero_address(
    token: DevChainClient, dev_wallets: list[DevAccount]
) -> None:
    owner, recipient = dev_wallets[0], dev_wallets[1]
    tx_hash = token.token_mint(private_key=owner.private_key, to=recipient.address, amount=7)
    token.wait_for_receipt(tx_hash)

    receipt = token.transfer_receipt(tx_hash)

    assert receipt is not None
    [transfer] = receipt.transfers
    assert (transfer.from_address, transfer.to_address, transfer.value) == (
        ZERO_ADDRESS,
        recipient.address,
        7,
    )


def test_transfer_receipt_of_an_unknown_hash_is_none(token: DevChainClient) -> None:
    assert token.transfer_receipt("0x" + "cd" * 32) is None
    with pytest.raises(ChainError) as excinfo:
        token.transfer_receipt("0x1234")
    assert excinfo.value.code == "invalid_tx_hash"


def test_transfer_logs_finds_transfers_to_the_address_in_the_range_only(
    anvil: AnvilNode, token: DevChainClient, dev_wallets: list[DevAccount]
) -> None:
    owner, treasury, other = dev_wallets[0], dev_wallets[2], dev_wallets[3]
    fake = deploy_token(token, owner, "FAKE")
    fake.wait_for_receipt(
        fake.token_mint(private_key=owner.private_key, to=owner.address, amount=10**12)
    )
    before = _send(token, owner, treasury.address, 1)  # before the range scanned
    start = token.block_number() + 1
    first = _send(token, owner, treasury.address.lower(), 2)
    _send(token, owner, other.address, 3)  # to someone else
    _send(fake, owner, treasury.address, 4)  # another token
    mine(anvil, 120)  # anvil mines thousands of blocks slowly: small chunks span these
    second = _send(token, owner, treasury.address, 5)
    end = token.block_number()
    after = _send(token, owner, treasury.address, 6)  # after the range scanned

    found = token.transfer_logs(
        token_address=token.token_address.lower(),
        to_address=treasury.address,
        from_block=start,
        to_block=end,
    )

    assert found == [first, second]
    assert [transfer.value for transfer in found] == [2, 5]
    assert all(transfer.to_address == treasury.address for transfer in found)
    # Chunk boundaries neither drop nor repeat a log, whatever the chunk size.
    for chunk_blocks in (1, 7, 50, end - start, end - start + 1):
        assert token.transfer_logs(
            token_address=token.token_address,
            to_address=treasury.address,
            from_block=start,
            to_block=end,
            chunk_blocks=chunk_blocks,
        ) == [first, second]
    everything = token.transfer_logs(
        token_address=token.token_address,
        to_address=treasury.address,
        from_block=0,
        to_block=after.block_number,
    )
    assert everything == [before, first, second, after]


def test_transfer_logs_splits_a_range_longer_than_a_chunk(
    anvil: AnvilNode,
    token: DevChainClient,
    dev_wallets: list[DevAccount],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner, treasury = dev_wallets[0], dev_wallets[2]
    first = _send(token, owner, treasury.address, 8)
    # anvil takes a few seconds for this many blocks (its cost grows with the chain's length).
    mine(anvil, TRANSFER_LOG_CHUNK_BLOCKS + 5)
    second = _send(token, owner, treasury.address, 9)
    eth = token._w3.eth
    get_logs = eth.get_logs
    asked: list[tuple[int, int]] = []

    def recording_get_logs(params: dict[str, int]) -> object:
        asked.append((params["fromBlock"], params["toBlock"]))
        return get_logs(params)  # type: ignore[arg-type]

    monkeypatch.setattr(eth, "get_logs", recording_get_logs)

    found = token.transfer_logs(
        token_address=token.token_address,
        to_address=treasury.address,
        from_block=first.block_number,
        to_block=second.block_number,
    )

    assert found == [first, second]
    middle = first.block_number + TRANSFER_LOG_CHUNK_BLOCKS
    assert asked == [(first.block_number, middle - 1), (middle, second.block_number)]


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"from_block": 5, "to_block": 4}, "invalid_input"),
        ({"from_block": -1, "to_block": 4}, "invalid_input"),
        ({"from_block": 0, "to_block": 4, "chunk_blocks": 0}, "invalid_input"),
        ({"from_block": 0, "to_block": 4, "to_address": "0x12"}, "invalid_address"),
        ({"from_block": 0, "to_block": 10**6}, "invalid_input"),  # above the head
    ],
)
def test_transfer_logs_refuses_bad_input(
    token: DevChainClient, dev_wallets: list[DevAccount], arguments: dict[str, object], code: str
) -> None:
    call: dict[str, object] = {
        "token_address": token.token_address,
        "to_address": dev_wallets[2].address,
        **arguments,
    }
    with pytest.raises(ChainError) as excinfo:
        token.transfer_logs(**call)  # type: ignore[arg-type]
    assert excinfo.value.code == code
