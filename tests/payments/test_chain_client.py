"""ChainClient against a real anvil chain: deploy, read, transfer, and each failure's code."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_utils.address import is_checksum_address
from eth_utils.crypto import keccak
from pytest_django import Settings

from payments.integrations.anvil import AnvilNode, DevAccount, free_port
from payments.integrations.chain import ChainError
from payments.integrations.dev_tools import DevChainClient

pytestmark = pytest.mark.chain

DECIMALS = 6
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


@pytest.fixture
def token(anvil: AnvilNode, dev_wallets: list[DevAccount]) -> DevChainClient:
    """A fresh DataBountyToken owned by dev wallet 0, as a client pointed at it."""
    client = DevChainClient.from_settings()
    owner = dev_wallets[0]
    address = client.deploy_contract(
        artifact="DataBountyToken",
        args=["DataBounty USD", "dbUSD", DECIMALS, owner.address],
        private_key=owner.private_key,
    )
    return client.with_token(address)


def test_deployed_token_reports_its_metadata(token: DevChainClient) -> None:
    assert is_checksum_address(token.token_address)
    assert token.is_contract(token.token_address)
    assert token.token_metadata() == ("DataBounty USD", "dbUSD", DECIMALS)
    assert token.chain_id() == token.expected_chain_id


def test_transfer_moves_exact_base_units(
    token: DevChainClient, dev_wallets: list[DevAccount]
) -> None:
    owner, recipient = dev_wallets[0], dev_wallets[1]
    minted = 1_000_000 * 10**DECIMALS + 7  # base units; the odd 7 catches any rounding
    token.wait_for_receipt(
        token.token_mint(private_key=owner.private_key, to=owner.address, amount=minted)
    )
    amount = 123_456_789

    tx_hash = token.token_transfer(
        private_key=owner.private_key, to=recipient.address.lower(), amount=amount
    )
    receipt = token.wait_for_receipt(tx_hash, timeout=30)

    assert receipt.succeeded
    assert receipt.tx_hash == tx_hash
    assert receipt.from_address == owner.address
    assert receipt.to_address == token.token_address
    assert receipt.block_number == token.block_number()
    assert token.token_balance(owner.address) == minted - amount
    assert token.token_balance(recipient.address) == amount
    [log] = receipt.logs
    assert log.address == token.token_address
    assert log.topics[0] == TRANSFER_TOPIC
    assert int(log.topics[2], 16) == int(recipient.address, 16)
    assert int(log.data, 16) == amount
    assert token.receipt(tx_hash) == receipt


def test_transfer_above_balance_raises_tx_failed(
    token: DevChainClient, dev_wallets: list[DevAccount]
) -> None:
    sender, recipient = dev_wallets[1], dev_wallets[2]  # sender holds no tokens
    block = token.block_number()

    with pytest.raises(ChainError) as excinfo:
        token.token_transfer(private_key=sender.private_key, to=recipient.address, amount=1)

    assert excinfo.value.code == "tx_failed"
    assert "ERC20InsufficientBalance" in excinfo.value.detail
    assert token.block_number() == block  # refused before anything was sent


def test_mint_by_someone_else_than_the_owner_raises_tx_failed(
    token: DevChainClient, dev_wallets: list[DevAccount]
) -> None:
    stranger = dev_wallets[3]

    with pytest.raises(ChainError) as excinfo:
        token.token_mint(private_key=stranger.private_key, to=stranger.address, amount=1)

    assert excinfo.value.code == "tx_failed"
    assert "OwnableUnauthorizedAccount" in excinfo.value.detail
    assert token.token_balance(stranger.address) == 0


def test_wrong_configured_chain_id_raises_wrong_chain(
    token: DevChainClient, anvil: AnvilNode, dev_wallets: list[DevAccount]
) -> None:
    owner = dev_wallets[0]
    misconfigured = DevChainClient(
        rpc_url=anvil.rpc_url, chain_id=1, token_address=token.token_address
    )

    with pytest.raises(ChainError) as excinfo:
        misconfigured.token_transfer(private_key=owner.private_key, to=owner.address, amount=1)

    assert excinfo.value.code == "wrong_chain"
    assert f"on chain {anvil.chain_id}, but CHAIN_ID is 1" in excinfo.value.detail
    with pytest.raises(ChainError, match="CHAIN_ID is 1"):
        misconfigured.token_balance(owner.address)


def assert_each_refused(
    client: DevChainClient,
    first: Callable[[], object],
    dev_wallets: list[DevAccount],
    *,
    code: str,
    text: str,
) -> None:
    """``first()``, a balance read and a transfer each raise a ``ChainError`` with ``code``
    whose detail says ``text``."""
    for call in (
        first,
        lambda: client.token_balance(dev_wallets[0].address),
        lambda: client.token_transfer(
            private_key=dev_wallets[0].private_key, to=dev_wallets[1].address, amount=1
        ),
    ):
        with pytest.raises(ChainError) as excinfo:
            call()
        assert excinfo.value.code == code
        assert text in excinfo.value.detail


def test_unreachable_rpc_raises_chain_unavailable(dev_wallets: list[DevAccount]) -> None:
    # A port that was free a moment ago on loopback: nothing listens, the connection is refused.
    client = DevChainClient(
        rpc_url=f"http://127.0.0.1:{free_port()}",
        chain_id=31337,
        token_address=dev_wallets[5].address,
        timeout=2,
    )

    assert_each_refused(
        client, client.chain_id, dev_wallets, code="chain_unavailable", text="unreachable"
    )


@pytest.mark.usefixtures("anvil")
def test_missing_token_address_raises_no_token(
    settings: Settings, dev_wallets: list[DevAccount]
) -> None:
    settings.TOKEN_ADDRESS = ""
    client = DevChainClient.from_settings()

    assert_each_refused(
        client,
        client.token_metadata,
        dev_wallets,
        code="no_token",
        text="TOKEN_ADDRESS is not set",
    )


@pytest.mark.usefixtures("anvil")
def test_token_address_without_code_raises_no_token(dev_wallets: list[DevAccount]) -> None:
    owner = dev_wallets[0]
    # A wallet, not a contract: a transfer "to" it would succeed on chain and move nothing.
    client = DevChainClient.from_settings().with_token(dev_wallets[4].address)

    assert not client.is_contract(dev_wallets[4].address)
    for call in (
        lambda: client.token_balance(owner.address),
        lambda: client.token_transfer(
            private_key=owner.private_key, to=dev_wallets[1].address, amount=1
        ),
    ):
        with pytest.raises(ChainError) as excinfo:
            call()
        assert excinfo.value.code == "no_token"


def test_bad_inputs_are_refused_before_any_rpc(dev_wallets: list[DevAccount]) -> None:
    # No anvil: each of these must fail on input alone.
    client = DevChainClient(
        rpc_url=f"http://127.0.0.1:{free_port()}",
        chain_id=31337,
        token_address=dev_wallets[5].address,
    )
    owner = dev_wallets[0]
    mixed_case_typo = owner.address[:2] + owner.address[2:].swapcase()

    cases = [
        (lambda: client.token_balance("0x1234"), "invalid_address"),
        (lambda: client.token_balance(mixed_case_typo), "invalid_address"),
        (
            lambda: client.token_transfer(
                private_key=owner.private_key, to=owner.address, amount=-1
            ),
            "invalid_amount",
        ),
        (
            lambda: client.token_transfer(
                private_key=owner.private_key, to=owner.address, amount=2**256
            ),
            "invalid_amount",
        ),
        (
            lambda: client.token_transfer(private_key="0x1234", to=owner.address, amount=1),
            "invalid_key",
        ),
        (lambda: client.wait_for_receipt("0xabc"), "invalid_tx_hash"),
    ]
    for call, code in cases:
        with pytest.raises(ChainError) as excinfo:
            call()
        assert excinfo.value.code == code


def test_private_key_maps_to_its_checksummed_address(dev_wallets: list[DevAccount]) -> None:
    for wallet in dev_wallets:
        assert DevChainClient.address_for_key(wallet.private_key) == wallet.address
