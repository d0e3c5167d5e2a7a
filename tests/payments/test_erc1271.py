"""EIP-1271 contract-wallet signatures (https://eips.ethereum.org/EIPS/eip-1271) against a real
anvil chain: what Sign-In with Ethereum (EIP-4361) relies on for wallets that are contracts."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_defunct

from payments.integrations.anvil import AnvilNode, DevAccount, free_port
from payments.integrations.chain import ChainError, eip191_message_hash
from payments.integrations.dev_tools import DevChainClient

pytestmark = pytest.mark.chain

SIWE_MESSAGE = """databounty.example wants you to sign in with your Ethereum account:
{address}

Sign in to DataBounty.

URI: https://databounty.example/login
Version: 1
Chain ID: 31337
Nonce: 32891756a1b2c3d4
Issued At: 2025-01-01T00:00:00Z"""


def sign(text: str, private_key: str) -> bytes:
    """A personal_sign signature (65 bytes: r, s, v) over ``text``, as a browser wallet makes."""
    return bytes(Account.sign_message(encode_defunct(text=text), private_key).signature)


def vouches(
    client: DevChainClient, wallet: str, message: str, private_key: str, *, signed: str = ""
) -> bool:
    """Whether ``wallet`` accepts ``private_key``'s signature over ``signed`` (by default
    ``message`` itself) as a signature over ``message``."""
    return client.erc1271_is_valid_signature(
        wallet=wallet,
        message_hash=eip191_message_hash(message),
        signature=sign(signed or message, private_key),
    )


@pytest.fixture
def client(anvil: AnvilNode) -> DevChainClient:
    return DevChainClient.from_settings()


@pytest.fixture
def wallet(client: DevChainClient, dev_wallets: list[DevAccount]) -> str:
    """A fresh ERC1271Wallet owned by dev wallet 2, deployed by dev wallet 0."""
    return client.deploy_contract(
        artifact="ERC1271Wallet",
        args=[dev_wallets[2].address],
        private_key=dev_wallets[0].private_key,
    )


def test_signature_by_the_owner_is_valid(
    client: DevChainClient, wallet: str, dev_wallets: list[DevAccount]
) -> None:
    message = SIWE_MESSAGE.format(address=wallet)

    assert client.is_contract(wallet)
    assert vouches(client, wallet, message, dev_wallets[2].private_key)


def test_signature_by_someone_else_is_invalid(
    client: DevChainClient, wallet: str, dev_wallets: list[DevAccount]
) -> None:
    message = SIWE_MESSAGE.format(address=wallet)

    # dev wallet 0 deployed the wallet but does not own it.
    for stranger in (dev_wallets[0], dev_wallets[3]):
        assert not vouches(client, wallet, message, stranger.private_key)


def test_owner_signature_over_another_message_is_invalid(
    client: DevChainClient, wallet: str, dev_wallets: list[DevAccount]
) -> None:
    message = SIWE_MESSAGE.format(address=wallet)
    other = message.replace("Nonce: 32891756a1b2c3d4", "Nonce: 00000000deadbeef")

    assert not vouches(client, wallet, message, dev_wallets[2].private_key, signed=other)


def test_malformed_signatures_are_invalid_without_raising(
    client: DevChainClient, wallet: str, dev_wallets: list[DevAccount]
) -> None:
    message_hash = eip191_message_hash(SIWE_MESSAGE.format(address=wallet))
    good = sign(SIWE_MESSAGE.format(address=wallet), dev_wallets[2].private_key)
    bad_v = good[:64] + bytes([good[64] ^ 0xFF])  # v is neither 27 nor 28

    for signature in (bytes(range(10)), b"", b"\x00" * 65, bad_v, good + b"\x00"):
        assert not client.erc1271_is_valid_signature(
            wallet=wallet, message_hash=message_hash, signature=signature
        )


def test_address_without_code_is_invalid(
    client: DevChainClient, dev_wallets: list[DevAccount]
) -> None:
    # An EOA answers eth_call with "0x": it vouches for nothing, even its own key's signatures
    # (those are checked with ecrecover, not EIP-1271).
    owner = dev_wallets[2]
    message = SIWE_MESSAGE.format(address=owner.address)

    assert not client.is_contract(owner.address)
    assert not vouches(client, owner.address, message, owner.private_key)


def test_contract_without_is_valid_signature_is_invalid(
    client: DevChainClient, dev_wallets: list[DevAccount]
) -> None:
    # The token has no isValidSignature and no fallback: the call reverts.
    owner = dev_wallets[2]
    token = client.deploy_contract(
        artifact="DataBountyToken",
        args=["DataBounty USD", "dbUSD", 6, owner.address],
        private_key=dev_wallets[0].private_key,
    )
    message = SIWE_MESSAGE.format(address=token)

    assert not vouches(client, token, message, owner.private_key)


def test_hash_that_is_not_32_bytes_is_refused(
    client: DevChainClient, wallet: str, dev_wallets: list[DevAccount]
) -> None:
    signature = sign("hello", dev_wallets[2].private_key)

    for message_hash in (b"", b"\x01" * 31, b"\x01" * 33, b"hello".hex().encode()):
        with pytest.raises(ChainError) as excinfo:
            client.erc1271_is_valid_signature(
                wallet=wallet, message_hash=message_hash, signature=signature
            )
        assert excinfo.value.code == "invalid_input"
        assert excinfo.value.status_code == 400


def test_bad_wallet_address_is_refused(
    client: DevChainClient, dev_wallets: list[DevAccount]
) -> None:
    with pytest.raises(ChainError) as excinfo:
        client.erc1271_is_valid_signature(
            wallet="0x1234", message_hash=eip191_message_hash("hello"), signature=b"\x00" * 65
        )
    assert excinfo.value.code == "invalid_address"


def test_wrong_configured_chain_id_raises_wrong_chain(
    anvil: AnvilNode, wallet: str, dev_wallets: list[DevAccount]
) -> None:
    misconfigured = DevChainClient(rpc_url=anvil.rpc_url, chain_id=1)
    message = SIWE_MESSAGE.format(address=wallet)

    with pytest.raises(ChainError) as excinfo:
        vouches(misconfigured, wallet, message, dev_wallets[2].private_key)
    assert excinfo.value.code == "wrong_chain"


def test_unreachable_rpc_raises_chain_unavailable(dev_wallets: list[DevAccount]) -> None:
    # Nothing listens on a port that was free a moment ago: an error, never a silent False.
    client = DevChainClient(rpc_url=f"http://127.0.0.1:{free_port()}", chain_id=31337, timeout=2)

    with pytest.raises(ChainError) as excinfo:
        client.erc1271_is_valid_signature(
            wallet=dev_wallets[5].address,
            message_hash=eip191_message_hash("hello"),
            signature=b"\x00" * 65,
        )
    assert excinfo.value.code == "chain_unavailable"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        SIWE_MESSAGE.format(address="0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
        # The length prefix counts UTF-8 bytes, not characters.
        "Grüße, データ 🚀",
    ],
)
def test_eip191_message_hash_matches_eth_account(text: str) -> None:
    expected = _hash_eip191_message(encode_defunct(text=text))

    assert eip191_message_hash(text) == bytes(expected)
    assert len(eip191_message_hash(text)) == 32
