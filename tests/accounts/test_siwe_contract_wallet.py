"""A contract wallet (EIP-1271) signs in: the owner signs, the wallet contract vouches on chain."""

import pytest

from marketplace.core.models import User
from payments.integrations.anvil import free_port
from payments.integrations.dev_tools import DevChainClient
from tests.accounts.test_siwe import login, nonce_for
from tests.siwe import build_message, sign

pytestmark = [pytest.mark.django_db, pytest.mark.chain]


@pytest.fixture
def contract_wallet(anvil, dev_wallets):  # type: ignore[no-untyped-def]
    owner = dev_wallets[2]
    address = DevChainClient.from_settings().deploy_contract(
        artifact="ERC1271Wallet", args=[owner.address], private_key=dev_wallets[0].private_key
    )
    return address, owner


def test_contract_wallet_signs_in_through_eip1271(client, contract_wallet):
    address, owner = contract_wallet
    message = build_message(address=address, nonce=nonce_for(client))
    response = login(client, message, sign(message, owner.private_key))
    assert response.status_code == 200, response.content
    assert response.json() == {"address": address}
    assert User.objects.filter(address=address).exists()


def test_contract_wallet_refuses_a_stranger_signature(client, contract_wallet, dev_wallets):
    address, _owner = contract_wallet
    message = build_message(address=address, nonce=nonce_for(client))
    response = login(client, message, sign(message, dev_wallets[3].private_key))
    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"
    assert not User.objects.filter(address=address).exists()


def test_unreachable_chain_is_a_clear_503_not_a_wrong_answer(client, settings, dev_wallets):
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"
    wallet = dev_wallets[1]
    message = build_message(address=wallet.address, nonce=nonce_for(client))
    response = login(client, message, sign(message, dev_wallets[2].private_key))
    assert response.status_code == 503
    assert response.json()["code"] == "chain_unavailable"
    # A valid EOA signature needs no chain at all.
    message = build_message(address=wallet.address, nonce=nonce_for(client))
    assert login(client, message, sign(message, wallet.private_key)).status_code == 200
