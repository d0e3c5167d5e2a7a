"""erc20_transfer_verify against a real anvil chain: each way a payment can fail to pay, and the
one way it pays."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from payments.integrations.anvil import AnvilNode, DevAccount, free_port, rpc_call
from payments.integrations.chain import ChainError
from payments.integrations.dev_tools import DevChainClient
from payments.services.transfers import (
    TransferError,
    VerifiedTransfer,
    erc20_transfer_verify,
    transfer_error_is_transient,
)
from tests.chain import DECIMALS, mine
from tests.payments.chain_helpers import deploy_token

pytestmark = pytest.mark.chain

PRICE = 25 * 10**DECIMALS + 3  # base units; the odd 3 catches any rounding
MINTED = 1_000 * 10**DECIMALS

Verify = Callable[..., VerifiedTransfer]


def _dev_wallet(index: int) -> Callable[..., DevAccount]:
    """A fixture returning anvil's dev wallet ``index``."""

    @pytest.fixture
    def wallet(dev_wallets: list[DevAccount]) -> DevAccount:
        return dev_wallets[index]

    return wallet


owner = _dev_wallet(0)
buyer = _dev_wallet(1)
treasury = _dev_wallet(2)
stranger = _dev_wallet(3)


@pytest.fixture
def token(
    anvil: AnvilNode, owner: DevAccount, buyer: DevAccount, stranger: DevAccount
) -> DevChainClient:
    """A fresh token, with MINTED base units for the buyer and for a stranger."""
    client = deploy_token(DevChainClient.from_settings(), owner, "dbUSD")
    for holder in (buyer, stranger):
        client.wait_for_receipt(
            client.token_mint(private_key=owner.private_key, to=holder.address, amount=MINTED)
        )
    return client


@pytest.fixture
def verify(token: DevChainClient, buyer: DevAccount, treasury: DevAccount) -> Verify:
    """erc20_transfer_verify expecting PRICE from the buyer to the treasury, 1 confirmation;
    keyword arguments override."""

    def call(tx_hash: str, **overrides: object) -> VerifiedTransfer:
        arguments: dict[str, object] = {
            "client": token,
            "tx_hash": tx_hash,
            "token_address": token.token_address,
            "sender": buyer.address,
            "recipient": treasury.address,
            "min_amount": PRICE,
            "confirmations": 1,
            **overrides,
        }
        return erc20_transfer_verify(**arguments)  # type: ignore[arg-type]

    return call


def _pay(client: DevChainClient, payer: DevAccount, to: DevAccount, amount: int = PRICE) -> str:
    tx_hash = client.token_transfer(private_key=payer.private_key, to=to.address, amount=amount)
    assert client.wait_for_receipt(tx_hash).succeeded
    return tx_hash


def _refusal(call: Callable[[], object]) -> TransferError:
    with pytest.raises(TransferError) as excinfo:
        call()
    return excinfo.value


def test_payment_verifies_with_its_amount_log_and_confirmations(
    anvil: AnvilNode,
    token: DevChainClient,
    buyer: DevAccount,
    treasury: DevAccount,
    verify: Verify,
) -> None:
    tx_hash = _pay(token, buyer, treasury, PRICE + 1)  # overpaying is paying
    receipt = token.wait_for_receipt(tx_hash)
    mine(anvil, 2)

    verified = verify(
        # Upper-case hex and lower-case addresses name the same transaction and wallets.
        "0x" + tx_hash[2:].upper(),
        token_address=token.token_address.lower(),
        sender=buyer.address.lower(),
        recipient=treasury.address.upper().replace("0X", "0x"),
        confirmations=3,
    )

    assert verified == VerifiedTransfer(
        tx_hash=tx_hash,
        log_index=receipt.logs[0].log_index,
        block_number=receipt.block_number,
        block_hash=verified.block_hash,
        token_address=token.token_address,
        sender=buyer.address,
        recipient=treasury.address,
        amount=PRICE + 1,
        confirmations=3,
    )
    block = rpc_call(anvil.rpc_url, "eth_getBlockByNumber", [hex(receipt.block_number), False])
    assert isinstance(block, dict)
    assert verified.block_hash == block["hash"]


def test_too_few_confirmations_is_transient_then_verifies_after_more_blocks(
    anvil: AnvilNode, token: DevChainClient, buyer: DevAccount, treasury: DevAccount, verify: Verify
) -> None:
    tx_hash = _pay(token, buyer, treasury)

    error = _refusal(lambda: verify(tx_hash, confirmations=5))

    assert error.code == "not_confirmed"
    assert error.status_code == 409
    assert error.transient
    assert transfer_error_is_transient(error)
    assert error.extra == {"have": 1, "need": 5}
    assert "1 of the 5 confirmations" in error.detail

    mine(anvil, 3)
    assert _refusal(lambda: verify(tx_hash, confirmations=5)).extra == {"have": 4, "need": 5}

    mine(anvil, 1)
    assert verify(tx_hash, confirmations=5).confirmations == 5


def test_payment_in_another_token_is_refused_as_wrong_token(
    token: DevChainClient,
    owner: DevAccount,
    buyer: DevAccount,
    treasury: DevAccount,
    verify: Verify,
) -> None:
    other = deploy_token(token, owner, "FAKE")
    other.wait_for_receipt(
        other.token_mint(private_key=owner.private_key, to=buyer.address, amount=MINTED)
    )
    tx_hash = _pay(other, buyer, treasury)

    error = _refusal(lambda: verify(tx_hash))

    assert error.code == "wrong_token"
    assert not error.transient
    assert other.token_address in error.detail
    assert token.token_address in error.detail


@pytest.mark.parametrize(
    ("payer", "payee", "code"),
    [("stranger", "treasury", "wrong_sender"), ("buyer", "stranger", "wrong_recipient")],
)
def test_payment_between_other_wallets_is_refused_naming_the_stranger(
    request: pytest.FixtureRequest,
    token: DevChainClient,
    stranger: DevAccount,
    verify: Verify,
    payer: str,
    payee: str,
    code: str,
) -> None:
    tx_hash = _pay(token, request.getfixturevalue(payer), request.getfixturevalue(payee))

    error = _refusal(lambda: verify(tx_hash))

    assert error.code == code
    assert error.status_code == 400
    assert stranger.address in error.detail


def test_short_payment_is_refused_with_both_amounts(
    token: DevChainClient, buyer: DevAccount, treasury: DevAccount, verify: Verify
) -> None:
    tx_hash = _pay(token, buyer, treasury, PRICE - 1)

    error = _refusal(lambda: verify(tx_hash))

    assert error.code == "amount_short"
    assert f"transferred {PRICE - 1} base units, but {PRICE} base units are due" in error.detail
    assert error.extra == {"expected": PRICE, "received": PRICE - 1}


def test_reverted_transaction_is_refused(
    anvil: AnvilNode, token: DevChainClient, buyer: DevAccount, treasury: DevAccount, verify: Verify
) -> None:
    # More than the balance, with an explicit gas limit so nothing refuses it before mining.
    # anvil signs for its unlocked default accounts (eth_sendTransaction).
    calldata = keccak(text="transfer(address,uint256)")[:4] + abi_encode(
        ["address", "uint256"], [treasury.address, MINTED + 1]
    )
    tx_hash = str(
        rpc_call(
            anvil.rpc_url,
            "eth_sendTransaction",
            [
                {
                    "from": buyer.address,
                    "to": token.token_address,
                    "data": "0x" + calldata.hex(),
                    "gas": hex(200_000),
                }
            ],
        )
    )
    assert not token.wait_for_receipt(tx_hash).succeeded

    error = _refusal(lambda: verify(tx_hash))

    assert error.code == "tx_reverted"
    assert not error.transient


@pytest.mark.parametrize(
    ("payee", "wei", "code", "detail"),
    [
        ("treasury", 10**18, "not_a_token_transfer", "sent ETH, not dbUSD: pay with the token"),
        # A zero-value self-send: no ETH and no token moved, so "pay with the token" is not the
        # whole story; it stays wrong_token.
        ("buyer", 0, "wrong_token", "moved no ERC-20 tokens"),
    ],
)
def test_a_transaction_that_moves_no_tokens_is_refused(
    request: pytest.FixtureRequest,
    anvil: AnvilNode,
    token: DevChainClient,
    buyer: DevAccount,
    verify: Verify,
    payee: str,
    wei: int,
    code: str,
    detail: str,
) -> None:
    to = request.getfixturevalue(payee).address
    tx_hash = str(
        rpc_call(
            anvil.rpc_url,
            "eth_sendTransaction",
            [{"from": buyer.address, "to": to, "value": hex(wei)}],
        )
    )
    assert token.wait_for_receipt(tx_hash).succeeded

    error = _refusal(lambda: verify(tx_hash))

    assert error.code == code
    assert detail in error.detail
    assert not error.transient


def test_unknown_hash_is_transient_not_found(verify: Verify) -> None:
    error = _refusal(lambda: verify("0x" + "ab" * 32))

    assert error.code == "tx_not_found"
    assert error.status_code == 409
    assert error.transient


@pytest.mark.parametrize(
    "tx_hash",
    ["", "0x", "0x1234", "ab" * 32, "0x" + "ab" * 31 + "zz", "0x" + "ab" * 33, None, 12],
)
def test_malformed_hash_is_refused_without_asking_the_node(
    tx_hash: object, dev_wallets: list[DevAccount]
) -> None:
    offline = DevChainClient(rpc_url=f"http://127.0.0.1:{free_port()}", chain_id=31337, timeout=1)

    error = _refusal(
        lambda: erc20_transfer_verify(
            client=offline,
            tx_hash=tx_hash,  # type: ignore[arg-type]
            token_address=dev_wallets[5].address,
            sender=dev_wallets[1].address,
            recipient=dev_wallets[2].address,
            min_amount=1,
            confirmations=1,
        )
    )

    assert error.code == "bad_tx_hash"
    assert not error.transient


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"min_amount": 0}, "minimum amount"),
        ({"min_amount": True}, "minimum amount"),
        ({"confirmations": 0}, "confirmations"),
        ({"recipient": "0x1234"}, "Recipient address"),
        ({"sender": "treasury"}, "Sender address"),
    ],
)
def test_invalid_expectations_are_refused(
    token: DevChainClient,
    buyer: DevAccount,
    treasury: DevAccount,
    verify: Verify,
    overrides: dict[str, object],
    message: str,
) -> None:
    tx_hash = _pay(token, buyer, treasury)

    error = _refusal(lambda: verify(tx_hash, **overrides))

    assert error.code == "invalid_input"
    assert message in error.detail


def test_unreachable_node_raises_transient_chain_unavailable(dev_wallets: list[DevAccount]) -> None:
    offline = DevChainClient(rpc_url=f"http://127.0.0.1:{free_port()}", chain_id=31337, timeout=1)

    with pytest.raises(ChainError) as excinfo:
        erc20_transfer_verify(
            client=offline,
            tx_hash="0x" + "ab" * 32,
            token_address=dev_wallets[5].address,
            sender=dev_wallets[1].address,
            recipient=dev_wallets[2].address,
            min_amount=1,
            confirmations=1,
        )

    assert excinfo.value.code == "chain_unavailable"
    assert transfer_error_is_transient(excinfo.value)


def test_node_on_another_chain_is_refused(
    anvil: AnvilNode, token: DevChainClient, buyer: DevAccount, treasury: DevAccount, verify: Verify
) -> None:
    tx_hash = _pay(token, buyer, treasury)
    elsewhere = DevChainClient(rpc_url=anvil.rpc_url, chain_id=1, token_address=token.token_address)

    with pytest.raises(ChainError) as excinfo:
        verify(tx_hash, client=elsewhere)

    assert excinfo.value.code == "wrong_chain"
    assert not transfer_error_is_transient(excinfo.value)
