"""The test token's EIP-3009 "transfer with authorization" against a real anvil chain: the payer
signs EIP-712 typed data with eth-account, a relayer that holds no tokens submits it and pays the
gas (as our x402 settlement will). Reverts are asserted by custom-error name."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD
from web3.types import TxParams
from x402.mechanisms.evm.types import AUTHORIZATION_TYPES

from payments.contracts import load_artifact
from payments.integrations.anvil import AnvilNode, DevAccount, rpc_call
from payments.integrations.chain_errors import describe_custom_error
from payments.integrations.dev_tools import DevChainClient

pytestmark = pytest.mark.chain

DECIMALS = 6
NAME = "Test dollar"
MINTED = 1_000 * 10**DECIMALS
VALUE = 12_345_678  # base units; not a round number, so a wrong amount cannot pass
ABI = load_artifact("DataBountyToken")["abi"]

TRANSFER = "TransferWithAuthorization"
# The fields as x402's clients sign them; ReceiveWithAuthorization has the same ones.
AUTHORIZATION_FIELDS = AUTHORIZATION_TYPES[TRANSFER]
RECEIVE = "ReceiveWithAuthorization"


@dataclass(frozen=True)
class Authorization:
    """One signed EIP-3009 message, with the arguments the token's functions take."""

    primary_type: str
    from_: str
    to: str
    value: int
    valid_after: int
    valid_before: int
    nonce: bytes
    v: int = 0
    r: bytes = b""
    s: bytes = b""
    signature: bytes = b""

    @property
    def fields(self) -> tuple[Any, ...]:
        return (self.from_, self.to, self.value, self.valid_after, self.valid_before, self.nonce)

    def vrs_args(self) -> tuple[Any, ...]:
        return (*self.fields, self.v, self.r, self.s)


@dataclass
class Eip3009Chain:
    w3: Web3
    rpc_url: str
    client: DevChainClient
    owner: DevAccount  # deployed the tokens; can mint
    payer: DevAccount  # holds MINTED, signs authorizations
    relayer: DevAccount  # holds ether only; submits and pays the gas
    chain_id: int

    def deploy(self) -> Contract:
        address = self.client.deploy_contract(
            artifact="DataBountyToken",
            args=[NAME, "tUSD", DECIMALS, self.owner.address],
            private_key=self.owner.private_key,
        )
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=ABI)

    def raw_transaction(
        self, call: ContractFunction, sender: DevAccount, *, gas: int | None = None
    ) -> bytes:
        """``call`` signed by ``sender``. Without ``gas``, building it runs eth_estimateGas,
        which runs the call: a revert raises ``ContractCustomError`` here."""
        params: TxParams = {
            "from": checksum(sender.address),
            "chainId": self.chain_id,
            "nonce": self.w3.eth.get_transaction_count(checksum(sender.address), "pending"),
        }
        if gas is not None:
            params["gas"] = gas
        built = call.build_transaction(params)
        return bytes(Account.sign_transaction(built, sender.private_key).raw_transaction)

    def send(self, call: ContractFunction, sender: DevAccount) -> dict[str, Any]:
        """Sends ``call`` from ``sender`` and returns the mined receipt, which must succeed."""
        tx_hash = self.w3.eth.send_raw_transaction(self.raw_transaction(call, sender))
        receipt = dict(self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30))
        assert receipt["status"] == 1
        return receipt

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def domain(self, token: Contract, *, chain_id: int | None = None) -> dict[str, Any]:
        """``token``'s EIP-712 domain as a client builds it from what the token reports."""
        return {
            "name": token.functions.name().call(),
            "version": token.functions.version().call(),
            "chainId": chain_id or self.chain_id,
            "verifyingContract": token.address,
        }

    def sign(
        self,
        token: Contract,
        *,
        signer: DevAccount | None = None,
        primary_type: str = TRANSFER,
        from_: str | None = None,
        to: str,
        value: int = VALUE,
        valid_after: int | None = None,
        valid_before: int | None = None,
        nonce: bytes | None = None,
        chain_id: int | None = None,
    ) -> Authorization:
        """An authorization signed by ``signer`` (the payer by default) for ``token``'s EIP-712
        domain, valid from an hour ago to an hour ahead unless told otherwise."""
        signer = signer or self.payer
        now = self.now()
        auth = Authorization(
            primary_type=primary_type,
            from_=from_ or signer.address,
            to=to,
            value=value,
            valid_after=now - 3600 if valid_after is None else valid_after,
            valid_before=now + 3600 if valid_before is None else valid_before,
            nonce=nonce or os.urandom(32),
        )
        message = dict(
            zip([field["name"] for field in AUTHORIZATION_FIELDS], auth.fields, strict=True)
        )
        signed = Account.sign_typed_data(
            signer.private_key,
            domain_data=self.domain(token, chain_id=chain_id),
            message_types={primary_type: AUTHORIZATION_FIELDS},
            message_data=message,
        )
        return dataclasses.replace(
            auth,
            v=signed.v,
            r=signed.r.to_bytes(32, "big"),
            s=signed.s.to_bytes(32, "big"),
            signature=bytes(signed.signature),
        )

    def transfer(
        self, token: Contract, auth: Authorization, sender: DevAccount | None = None
    ) -> dict[str, Any]:
        """Submits ``auth`` through the (v, r, s) transferWithAuthorization, as x402 does."""
        call = token.functions.transferWithAuthorization(*auth.vrs_args())
        return self.send(call, sender or self.relayer)


@pytest.fixture
def eip3009(anvil: AnvilNode, dev_wallets: list[DevAccount]) -> Eip3009Chain:
    return Eip3009Chain(
        w3=Web3(Web3.HTTPProvider(anvil.rpc_url)),
        rpc_url=anvil.rpc_url,
        client=DevChainClient.from_settings(),
        owner=dev_wallets[0],
        payer=dev_wallets[1],
        relayer=dev_wallets[5],
        chain_id=anvil.chain_id,
    )


@pytest.fixture
def token(eip3009: Eip3009Chain) -> Contract:
    """A fresh token with MINTED base units on the payer."""
    return minted_token(eip3009)


def minted_token(chain: Eip3009Chain) -> Contract:
    contract = chain.deploy()
    chain.send(contract.functions.mint(chain.payer.address, MINTED), chain.owner)
    return contract


def checksum(address: str) -> ChecksumAddress:
    return Web3.to_checksum_address(address)


def payee() -> str:
    return Account.create().address


def reverted(call: Callable[[], object]) -> str:
    """Runs ``call``, which must revert with a custom error of the token; returns it described,
    e.g. ``AuthorizationExpired(validBefore=.., timestamp=..)``."""
    with pytest.raises(ContractCustomError) as excinfo:
        call()
    data = excinfo.value.data
    assert isinstance(data, str)
    return describe_custom_error(data, ABI)


def error_name(description: str) -> str:
    return description.split("(", 1)[0]


def balances(token: Contract, *addresses: str) -> list[int]:
    return [token.functions.balanceOf(address).call() for address in addresses]


# -- the domain ------------------------------------------------------------------------------


def test_domain_and_type_hashes_are_usdcs(eip3009: Eip3009Chain, token: Contract) -> None:
    fields, name, version, chain_id, verifying_contract, salt, extensions = (
        token.functions.eip712Domain().call()
    )

    assert fields == b"\x0f"  # name, version, chainId, verifyingContract: no salt
    assert (name, version, chain_id, verifying_contract) == (
        NAME,
        "1",
        eip3009.chain_id,
        token.address,
    )
    assert (salt, extensions) == (b"\x00" * 32, [])
    assert token.functions.version().call() == "1"
    domain_type = (
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    expected_separator = keccak(
        keccak(text=domain_type)
        + keccak(text=NAME)
        + keccak(text="1")
        + eip3009.chain_id.to_bytes(32, "big")
        + bytes.fromhex(token.address[2:]).rjust(32, b"\x00")
    )
    assert token.functions.DOMAIN_SEPARATOR().call() == expected_separator
    # The values USDC's FiatTokenV2 hard-codes, so clients built for USDC sign the same messages.
    assert token.functions.TRANSFER_WITH_AUTHORIZATION_TYPEHASH().call().hex() == (
        "7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267"
    )
    assert token.functions.RECEIVE_WITH_AUTHORIZATION_TYPEHASH().call().hex() == (
        "d099cc98ef71107a616c4f0f941f04c322d8e254fe26b3c6668db87aae413de8"
    )
    assert token.functions.CANCEL_AUTHORIZATION_TYPEHASH().call().hex() == (
        "158b0a9edf7a828aad02f63cd515c68ef2f50ba807396f6d12842833a1597429"
    )


# -- transferWithAuthorization ---------------------------------------------------------------


def test_relayer_submits_a_signed_transfer(eip3009: Eip3009Chain, token: Contract) -> None:
    to = payee()
    auth = eip3009.sign(token, to=to)
    payer_ether = eip3009.w3.eth.get_balance(checksum(eip3009.payer.address))
    relayer_ether = eip3009.w3.eth.get_balance(checksum(eip3009.relayer.address))
    assert token.functions.authorizationState(auth.from_, auth.nonce).call() is False

    receipt = eip3009.transfer(token, auth)

    assert balances(token, eip3009.payer.address, to, eip3009.relayer.address) == [
        MINTED - VALUE,
        VALUE,
        0,
    ]
    assert token.functions.authorizationState(auth.from_, auth.nonce).call() is True
    # Another nonce of the same payer is still unused.
    assert token.functions.authorizationState(auth.from_, os.urandom(32)).call() is False
    assert len(receipt["logs"]) == 2
    used = token.events.AuthorizationUsed().process_receipt(receipt, errors=DISCARD)
    transfers = token.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert [(e.args.authorizer, e.args.nonce) for e in used] == [
        (eip3009.payer.address, auth.nonce)
    ]
    assert [(e.args["from"], e.args.to, e.args.value) for e in transfers] == [
        (eip3009.payer.address, to, VALUE)
    ]
    # The relayer paid the gas; the payer spent no ether at all.
    assert eip3009.w3.eth.get_balance(checksum(eip3009.payer.address)) == payer_ether
    assert eip3009.w3.eth.get_balance(checksum(eip3009.relayer.address)) == (
        relayer_ether - receipt["gasUsed"] * receipt["effectiveGasPrice"]
    )


def test_bytes_signature_overload_transfers(eip3009: Eip3009Chain, token: Contract) -> None:
    to = payee()
    auth = eip3009.sign(token, to=to)

    call = token.functions.transferWithAuthorization(*auth.fields, auth.signature)
    eip3009.send(call, eip3009.relayer)

    assert balances(token, to) == [VALUE]
    assert token.functions.authorizationState(auth.from_, auth.nonce).call() is True


def test_replayed_authorization_reverts_and_moves_nothing(
    eip3009: Eip3009Chain, token: Contract
) -> None:
    to = payee()
    auth = eip3009.sign(token, to=to)
    eip3009.transfer(token, auth)

    error = reverted(lambda: eip3009.transfer(token, auth))
    # The bytes overload is the same authorization: it cannot be replayed that way either.
    bytes_call = token.functions.transferWithAuthorization(*auth.fields, auth.signature)
    bytes_error = reverted(lambda: eip3009.send(bytes_call, eip3009.relayer))

    assert error_name(error) == error_name(bytes_error) == "AuthorizationUsedOrCanceled"
    assert f"authorizer={eip3009.payer.address}" in error
    assert balances(token, eip3009.payer.address, to) == [MINTED - VALUE, VALUE]


def test_expired_authorization_reverts(eip3009: Eip3009Chain, token: Contract) -> None:
    now = eip3009.now()
    auth = eip3009.sign(token, to=payee(), valid_after=now - 7200, valid_before=now - 1)

    error = reverted(lambda: eip3009.transfer(token, auth))

    assert error_name(error) == "AuthorizationExpired"
    assert f"validBefore={now - 1}," in error
    assert token.functions.authorizationState(auth.from_, auth.nonce).call() is False
    assert balances(token, eip3009.payer.address) == [MINTED]


def test_not_yet_valid_authorization_reverts(eip3009: Eip3009Chain, token: Contract) -> None:
    now = eip3009.now()
    auth = eip3009.sign(token, to=payee(), valid_after=now + 3600, valid_before=now + 7200)

    error = reverted(lambda: eip3009.transfer(token, auth))

    assert error_name(error) == "AuthorizationNotYetValid"
    assert f"validAfter={now + 3600}," in error
    assert balances(token, eip3009.payer.address) == [MINTED]


@pytest.mark.parametrize(
    ("after", "before", "error"),
    [
        (-1, 1, None),  # strictly inside the window
        (0, 1, "AuthorizationNotYetValid"),  # validAfter == block.timestamp is too early
        (-1, 0, "AuthorizationExpired"),  # validBefore == block.timestamp is too late
    ],
)
def test_validity_window_is_exclusive_at_both_ends(
    eip3009: Eip3009Chain, token: Contract, after: int, before: int, error: str | None
) -> None:
    # The next block's timestamp is pinned, and the transaction is mined in that block with a
    # fixed gas limit (no estimation run at another timestamp), so the edges are exact.
    at = eip3009.now() + 100
    auth = eip3009.sign(token, to=payee(), valid_after=at + after, valid_before=at + before)
    call = token.functions.transferWithAuthorization(*auth.vrs_args())
    raw = eip3009.raw_transaction(call, eip3009.relayer, gas=200_000)
    rpc_call(eip3009.rpc_url, "evm_setNextBlockTimestamp", [at])

    tx_hash = eip3009.w3.eth.send_raw_transaction(raw)
    receipt = eip3009.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)

    assert eip3009.w3.eth.get_block(receipt["blockNumber"])["timestamp"] == at
    assert receipt["status"] == (1 if error is None else 0)
    assert token.functions.authorizationState(auth.from_, auth.nonce).call() is (error is None)
    if error is not None:
        trace = rpc_call(
            eip3009.rpc_url,
            "debug_traceTransaction",
            [Web3.to_hex(tx_hash), {"tracer": "callTracer"}],
        )
        assert isinstance(trace, dict)
        assert error_name(describe_custom_error(trace["output"], ABI)) == error


def test_authorization_for_another_token_reverts(eip3009: Eip3009Chain, token: Contract) -> None:
    # Same name, symbol, chain and payer: only verifyingContract tells the two domains apart.
    other = minted_token(eip3009)
    to = payee()
    auth = eip3009.sign(other, to=to)

    error = reverted(lambda: eip3009.transfer(token, auth))

    assert error_name(error) == "InvalidAuthorizationSignature"
    assert balances(token, eip3009.payer.address, to) == [MINTED, 0]
    # The signature itself is good: on the token it was made for, it transfers.
    eip3009.transfer(other, auth)
    assert balances(other, to) == [VALUE]
    assert token.functions.authorizationState(auth.from_, auth.nonce).call() is False


def test_authorization_for_another_chain_reverts(eip3009: Eip3009Chain, token: Contract) -> None:
    auth = eip3009.sign(token, to=payee(), chain_id=eip3009.chain_id + 1)

    error = reverted(lambda: eip3009.transfer(token, auth))

    assert error_name(error) == "InvalidAuthorizationSignature"


def test_authorization_signed_by_someone_else_reverts(
    eip3009: Eip3009Chain, token: Contract, dev_wallets: list[DevAccount]
) -> None:
    thief = dev_wallets[2]  # holds no tokens of this deployment, and is not the payer
    auth = eip3009.sign(token, signer=thief, from_=eip3009.payer.address, to=thief.address)

    error = reverted(lambda: eip3009.transfer(token, auth))

    assert error == f"InvalidAuthorizationSignature(authorizer={eip3009.payer.address})"
    assert balances(token, eip3009.payer.address, thief.address) == [MINTED, 0]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda a: {"value": a.value + 1}, id="value"),
        pytest.param(lambda a: {"to": payee()}, id="to"),
        pytest.param(lambda a: {"valid_before": a.valid_before + 1}, id="validBefore"),
        pytest.param(lambda a: {"nonce": os.urandom(32)}, id="nonce"),
    ],
)
def test_changing_a_signed_field_breaks_the_signature(
    eip3009: Eip3009Chain, token: Contract, tamper: Callable[[Authorization], dict[str, Any]]
) -> None:
    signed = eip3009.sign(token, to=payee())
    # The submitted fields differ from the signed ones; the signature stays the same.
    tampered = dataclasses.replace(signed, **tamper(signed))
    call = token.functions.transferWithAuthorization(*tampered.vrs_args())

    error = reverted(lambda: eip3009.send(call, eip3009.relayer))

    assert error_name(error) == "InvalidAuthorizationSignature"


def test_transfer_beyond_the_balance_reverts_and_keeps_the_nonce_unused(
    eip3009: Eip3009Chain, token: Contract
) -> None:
    auth = eip3009.sign(token, to=payee(), value=MINTED + 1)

    error = reverted(lambda: eip3009.transfer(token, auth))

    assert error_name(error) == "ERC20InsufficientBalance"
    assert token.functions.authorizationState(auth.from_, auth.nonce).call() is False


# -- receiveWithAuthorization ----------------------------------------------------------------


def test_receive_with_authorization_only_from_the_payee(
    eip3009: Eip3009Chain, token: Contract, dev_wallets: list[DevAccount]
) -> None:
    receiver = dev_wallets[3]  # has ether for gas
    auth = eip3009.sign(token, primary_type=RECEIVE, to=receiver.address)
    call = token.functions.receiveWithAuthorization(*auth.vrs_args())

    error = reverted(lambda: eip3009.send(call, eip3009.relayer))
    assert error == (
        f"CallerMustBePayee(caller={eip3009.relayer.address}, payee={receiver.address})"
    )
    # A receive authorization is not a transfer authorization: the type hash differs.
    as_transfer = reverted(lambda: eip3009.transfer(token, auth))
    assert error_name(as_transfer) == "InvalidAuthorizationSignature"
    assert token.functions.authorizationState(auth.from_, auth.nonce).call() is False

    receipt = eip3009.send(call, receiver)

    assert balances(token, eip3009.payer.address, receiver.address) == [MINTED - VALUE, VALUE]
    used = token.events.AuthorizationUsed().process_receipt(receipt, errors=DISCARD)
    assert [(e.args.authorizer, e.args.nonce) for e in used] == [
        (eip3009.payer.address, auth.nonce)
    ]
    assert error_name(reverted(lambda: eip3009.send(call, receiver))) == (
        "AuthorizationUsedOrCanceled"
    )


def test_transfer_authorization_is_refused_by_receive(
    eip3009: Eip3009Chain, token: Contract, dev_wallets: list[DevAccount]
) -> None:
    receiver = dev_wallets[3]
    auth = eip3009.sign(token, to=receiver.address)  # TransferWithAuthorization
    call = token.functions.receiveWithAuthorization(*auth.fields, auth.signature)

    error = reverted(lambda: eip3009.send(call, receiver))

    assert error_name(error) == "InvalidAuthorizationSignature"


# -- cancelAuthorization ---------------------------------------------------------------------


def test_canceled_authorization_cannot_be_used(eip3009: Eip3009Chain, token: Contract) -> None:
    auth = eip3009.sign(token, to=payee())
    cancel = Account.sign_typed_data(
        eip3009.payer.private_key,
        domain_data=eip3009.domain(token),
        message_types={
            "CancelAuthorization": [
                {"name": "authorizer", "type": "address"},
                {"name": "nonce", "type": "bytes32"},
            ]
        },
        message_data={"authorizer": auth.from_, "nonce": auth.nonce},
    )

    receipt = eip3009.send(
        token.functions.cancelAuthorization(auth.from_, auth.nonce, bytes(cancel.signature)),
        eip3009.relayer,
    )

    canceled = token.events.AuthorizationCanceled().process_receipt(receipt, errors=DISCARD)
    assert [(e.args.authorizer, e.args.nonce) for e in canceled] == [(auth.from_, auth.nonce)]
    assert token.functions.authorizationState(auth.from_, auth.nonce).call() is True
    error = reverted(lambda: eip3009.transfer(token, auth))
    assert error_name(error) == "AuthorizationUsedOrCanceled"
    assert balances(token, eip3009.payer.address) == [MINTED]


# -- a contract wallet (EIP-1271) as the payer -----------------------------------------------


def test_contract_wallet_payer_authorizes_through_eip1271(
    eip3009: Eip3009Chain, token: Contract, dev_wallets: list[DevAccount]
) -> None:
    wallet_owner, stranger = dev_wallets[2], dev_wallets[4]
    wallet = eip3009.client.deploy_contract(
        artifact="ERC1271Wallet", args=[wallet_owner.address], private_key=eip3009.owner.private_key
    )
    eip3009.send(token.functions.mint(wallet, VALUE), eip3009.owner)
    to = payee()
    # ERC1271Wallet accepts its owner's ECDSA signature over the EIP-712 digest itself.
    forged = eip3009.sign(token, signer=stranger, from_=wallet, to=to)
    auth = eip3009.sign(token, signer=wallet_owner, from_=wallet, to=to)

    error = reverted(
        lambda: eip3009.send(
            token.functions.transferWithAuthorization(*forged.fields, forged.signature),
            eip3009.relayer,
        )
    )
    assert error == f"InvalidAuthorizationSignature(authorizer={wallet})"

    eip3009.send(
        token.functions.transferWithAuthorization(*auth.fields, auth.signature), eip3009.relayer
    )

    assert balances(token, wallet, to) == [0, VALUE]
    assert token.functions.authorizationState(wallet, auth.nonce).call() is True
