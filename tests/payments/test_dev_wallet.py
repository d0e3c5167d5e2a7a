"""The DEBUG dev wallet pays through a same-origin JSON-RPC relay to our node: it exists only with
DEBUG on a local chain (never under production settings), only for the signed-in person, with
the CSRF check, forwards only the methods a wallet needs and only transactions that person
signed; and the pay cards' balance endpoint reads the signed-in address's token balance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import reverse
from eth_account import Account

from payments.integrations.anvil import DevAccount, rpc_call
from payments.integrations.dev_chain import dev_wallet_payments_enabled
from tests.chain import MINTED, ChainToken
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
RELAY = "/dev/chain-rpc"


def rpc(client: Client, method: str, params: list[Any] | None = None, **extra: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params or []}
    return client.post(RELAY, json.dumps(body), content_type="application/json", **extra)


def signed_transfer(chain_token: ChainToken, payer: DevAccount, to: str, amount: int) -> str:
    """A raw ERC-20 transfer signed by ``payer`` (what ethers sends from the page)."""
    base_fee, priority_fee = chain_token.client.fee_suggestion()
    return chain_token.client.token_transfer_sign(
        private_key=payer.private_key,
        to=to,
        amount=amount,
        nonce=chain_token.client.transaction_count(payer.address, pending=True),
        max_fee_per_gas=2 * base_fee + priority_fee,
        max_priority_fee_per_gas=priority_fee,
    ).raw


@pytest.fixture
def debug(settings: Any) -> Any:
    settings.DEBUG = True
    return settings


def test_the_relay_is_on_only_with_debug_on_a_local_chain(settings):
    settings.DEBUG = False
    settings.CHAIN_ID = 31337
    assert not dev_wallet_payments_enabled()
    settings.DEBUG = True
    assert dev_wallet_payments_enabled()
    settings.CHAIN_ID = 1  # mainnet: never, whatever DEBUG says
    assert not dev_wallet_payments_enabled()


def test_production_settings_cannot_turn_the_dev_wallet_on():
    """Even with DJANGO_DEBUG=true in the environment, production settings keep DEBUG off, so
    neither the relay nor the dev keys exist there."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
        "DJANGO_DEBUG": "true",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "CHAIN_ID": "31337",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
    }
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.test import Client\n"
        "from payments.integrations.dev_chain import dev_wallet_payments_enabled\n"
        "c = Client(HTTP_HOST='testserver')\n"
        "r = c.post('/dev/chain-rpc', '{}', content_type='application/json')\n"
        "print(settings.DEBUG, dev_wallet_payments_enabled(), r.status_code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # 403: the CSRF check answers first; 404 without it. Never the relay.
    assert result.stdout.split()[-3:] in (["False", "False", "403"], ["False", "False", "404"])


@pytest.mark.django_db
def test_the_relay_does_not_exist_without_debug(client, settings):
    settings.DEBUG = False
    client.force_login(UserFactory.create())
    assert rpc(client, "eth_chainId").status_code == 404
    assert "data-dev-rpc-url" not in client.get("/").content.decode()


@pytest.mark.django_db
def test_the_relay_does_not_exist_on_another_chain(client, debug):
    debug.CHAIN_ID = 8453
    client.force_login(UserFactory.create())
    assert rpc(client, "eth_chainId").status_code == 404


@pytest.mark.chain
@pytest.mark.django_db
def test_signed_in_pages_name_the_relay_in_debug(client, debug, anvil):
    client.force_login(UserFactory.create())
    assert f'data-dev-rpc-url="{RELAY}"' in client.get("/").content.decode()


@pytest.mark.chain
@pytest.mark.django_db
def test_the_relay_forwards_reads_for_the_signed_in_person(client, debug, anvil):
    response = rpc(client, "eth_chainId")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"

    client.force_login(UserFactory.create())
    answer = rpc(client, "eth_chainId").json()
    assert answer == {"jsonrpc": "2.0", "id": 7, "result": hex(anvil.chain_id)}
    assert int(rpc(client, "eth_blockNumber").json()["result"], 16) >= 0


@pytest.mark.chain
@pytest.mark.django_db
def test_the_relay_refuses_node_admin_methods_and_batches(client, debug, anvil, dev_wallets):
    client.force_login(UserFactory.create())
    target = dev_wallets[5].address
    before = rpc_call(anvil.rpc_url, "eth_getBalance", [target, "latest"])
    for method in (
        "anvil_setBalance",
        "evm_mine",
        "eth_sendTransaction",
        "eth_sign",
        "debug_traceTransaction",
    ):
        answer = rpc(client, method, [target, "0x1"]).json()
        assert answer["error"]["code"] == -32601, method
        assert method in answer["error"]["message"]
    assert rpc_call(anvil.rpc_url, "eth_getBalance", [target, "latest"]) == before

    batch = [{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}]
    answer = client.post(RELAY, json.dumps(batch), content_type="application/json").json()
    assert answer["error"]["code"] == -32600
    broken = client.post(RELAY, "{not json", content_type="application/json")
    assert (broken.status_code, broken.json()["code"]) == (400, "malformed_request")


@pytest.mark.chain
@pytest.mark.django_db
def test_the_relay_checks_the_csrf_token(debug, anvil):
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory.create())
    assert rpc(client, "eth_chainId").status_code == 403
    secret = _get_new_csrf_string()  # what the page's cookie and header carry
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    assert rpc(client, "eth_chainId", HTTP_X_CSRFTOKEN="x" * 32).status_code == 403
    assert rpc(client, "eth_chainId", HTTP_X_CSRFTOKEN=secret).status_code == 200


@pytest.mark.chain
@pytest.mark.django_db
def test_the_relay_sends_only_transactions_the_signed_in_account_signed(
    client, debug, chain_token: ChainToken, dev_wallets: list[DevAccount]
):
    payer, stranger = dev_wallets[1], dev_wallets[2]
    client.force_login(chain_token.user(payer))
    treasury = chain_token.hot_wallet.address

    refused = rpc(
        client, "eth_sendRawTransaction", [signed_transfer(chain_token, stranger, treasury, 5)]
    )
    assert refused.json()["error"]["code"] == 4100
    assert stranger.address in refused.json()["error"]["message"]
    assert rpc(client, "eth_sendRawTransaction", ["0x1234"]).json()["error"]["code"] == -32602
    assert chain_token.client.token_balance(stranger.address) == MINTED

    raw_sent = signed_transfer(chain_token, payer, treasury, 5)
    assert Account.recover_transaction(raw_sent) == payer.address
    sent = rpc(client, "eth_sendRawTransaction", [raw_sent])
    tx_hash = sent.json()["result"]
    chain_token.client.wait_for_receipt(tx_hash)
    assert chain_token.client.token_balance(payer.address) == MINTED - 5
    # The node's own refusals come back as its JSON-RPC errors: the same bytes sent again.
    again = rpc(client, "eth_sendRawTransaction", [raw_sent])
    assert "error" in again.json() and "result" not in again.json()


@pytest.mark.chain
@pytest.mark.django_db
def test_an_unreachable_node_answers_503(client, debug, anvil):
    debug.CHAIN_RPC_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    client.force_login(UserFactory.create())
    response = rpc(client, "eth_chainId")
    assert response.status_code == 503
    assert response.json()["code"] == "chain_unavailable"


# ---------- the balance beside the pay button ----------


@pytest.mark.chain
@pytest.mark.django_db
def test_the_balance_endpoint_reads_the_signed_in_address(
    client, chain_token: ChainToken, dev_wallets
):
    url = reverse("token-balance", kwargs={"token_id": chain_token.token.pk})
    assert client.get(url).status_code == 401
    payer = dev_wallets[1]
    chain_token.pay(payer, chain_token.hot_wallet.address, 975_006)
    client.force_login(chain_token.user(payer))
    answer = client.get(url).json()
    assert answer == {
        "token": chain_token.token.address,
        "symbol": "tUSD",
        "decimals": 6,
        "address": payer.address,
        "balance": str(MINTED - 975_006),
        "balance_text": "999,999.024994 tUSD",
    }
    assert client.get(reverse("token-balance", kwargs={"token_id": 999999})).status_code == 404


@pytest.mark.chain
@pytest.mark.django_db
def test_the_balance_endpoint_says_when_the_chain_is_down(
    client, chain_token: ChainToken, settings
):
    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"
    client.force_login(UserFactory.create())
    response = client.get(reverse("token-balance", kwargs={"token_id": chain_token.token.pk}))
    assert response.status_code == 503
    assert (
        set(response.json()) == {"detail", "code"}
        and response.json()["code"] == "chain_unavailable"
    )
