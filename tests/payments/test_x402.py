"""x402 (HTTP 402) payments for licensed files, against a real anvil chain and the official
``x402`` client: an agent with nothing but a funded key is asked to pay, pays by signing an
EIP-3009 authorization, and is served, with the same sale, ledger, revenue share and receipt
as an order paid from a browser. Then every way it can go wrong: a replay, two requests with
one authorization at once, a settlement that reverts, one whose receipt never came."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from eth_account import Account
from x402 import x402ClientSync
from x402.client_base import SpendControlAsset
from x402.http import (
    decode_payment_required_header,
    decode_payment_response_header,
    encode_payment_signature_header,
)
from x402.mechanisms.evm.exact import register_exact_evm_client
from x402.mechanisms.evm.signers import EthAccountSigner

from payments.enums import PurchaseStatus, RewardSource, X402Status
from payments.integrations.anvil import DevAccount
from payments.models import LicenseGrant, LicenseTier, Purchase, Reward, X402Payment
from payments.services.ledger import FEES, ledger_balance
from payments.services.licenses import license_receipt_verify
from tests.chain import ChainToken
from tests.factories import (
    DatasetFactory,
    UserFactory,
    commercial_tier,
    contribution_with_items,
    make_release,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chain]

PRICE = 25 * 10**6 + 3


@pytest.fixture
def agent(dev_wallets: list[DevAccount]) -> DevAccount:
    return dev_wallets[3]  # minted test dollars by chain_token; never signed in


@pytest.fixture
def tier(chain_token: ChainToken) -> LicenseTier:
    owner = UserFactory.create()
    dataset = DatasetFactory.create(owner=owner)
    alice = UserFactory.create()
    contribution_with_items(dataset, alice, [1.0, 1.0, 0.5], validated_at=timezone.now())
    make_release(dataset)
    return commercial_tier(dataset, token=chain_token.token, price=PRICE)


def files_url(tier: LicenseTier) -> str:
    return f"/api/v1/datasets/{tier.dataset.slug}/files/"


def payer_client(account: DevAccount, required: Any) -> x402ClientSync:
    client = x402ClientSync()
    register_exact_evm_client(client, EthAccountSigner(Account.from_key(account.private_key)))
    # The default controls pay only well-known stablecoins: allow our test token, capped.
    accept = required.accepts[0]
    token: SpendControlAsset = {
        "network": accept.network,
        "asset": accept.asset,
        "max_amount_per_payment": str(PRICE),
    }
    return client.set_spend_controls({"allowed_assets": [token]})


def pay_header(response: Any, account: DevAccount) -> str:
    """What an x402 client sends back: the 402's requirements, signed by ``account``."""
    required = decode_payment_required_header(response["PAYMENT-REQUIRED"])
    payload = payer_client(account, required).create_payment_payload(required)
    return encode_payment_signature_header(payload)


def test_an_agent_with_only_a_key_pays_over_x402_and_is_served(
    tier: LicenseTier, chain_token: ChainToken, agent: DevAccount, settings
) -> None:
    http = Client()
    first = http.get(files_url(tier))
    assert first.status_code == 402
    body = first.json()
    assert body["code"] == "payment_required" and body["detail"]
    required = json.loads(base64.b64decode(first["PAYMENT-REQUIRED"]))
    assert required["x402Version"] == 2
    (accept,) = required["accepts"]
    assert accept["scheme"] == "exact"
    assert accept["network"] == f"eip155:{settings.CHAIN_ID}"
    assert accept["asset"] == chain_token.token.address
    assert accept["amount"] == str(PRICE)
    assert accept["payTo"] == chain_token.hot_wallet.address  # the treasury
    assert accept["maxTimeoutSeconds"] == settings.X402_MAX_TIMEOUT_SECONDS
    assert accept["extra"] == {"name": chain_token.client.token_metadata().name, "version": "1"}
    assert body["accepts"] == required["accepts"]

    before = chain_token.client.token_balance(agent.address)
    paid = http.get(files_url(tier), HTTP_PAYMENT_SIGNATURE=pay_header(first, agent))
    assert paid.status_code == 200, paid.content
    assert [f["name"] for f in paid.json()["files"]]
    settlement = decode_payment_response_header(paid["PAYMENT-RESPONSE"])
    assert settlement.success and settlement.payer == agent.address
    assert chain_token.client.token_balance(agent.address) == before - PRICE

    payment = X402Payment.objects.get()
    assert payment.status == X402Status.SETTLED and payment.tx_hash == settlement.transaction
    purchase = payment.purchase
    assert purchase is not None and purchase.status == PurchaseStatus.PAID
    assert purchase.buyer.address == agent.address and purchase.amount == PRICE
    # The same books as a browser purchase: the sale split in the ledger, shares as rewards,
    # a license with a receipt anyone can check.
    assert (
        ledger_balance(token=chain_token.token, code=FEES)
        == PRICE * settings.PLATFORM_FEE_BPS // 10_000
    )
    shares = Reward.objects.filter(purchase=purchase, source=RewardSource.SALE)
    assert sum(r.amount for r in shares) + PRICE * settings.PLATFORM_FEE_BPS // 10_000 == PRICE
    grant = LicenseGrant.objects.get(purchase=purchase)
    assert grant.buyer.address == agent.address
    assert license_receipt_verify(receipt=grant.receipt, signature=grant.signature) == grant.signer
    assert grant.receipt["message"]["txHash"] == payment.tx_hash

    # The download token serves the next requests without paying again.
    token = paid["X-Download-Token"]
    assert token.startswith("dbt_") and paid["X-Download-Token-Expires"]
    file_url = next(f["url"] for f in paid.json()["files"] if f["name"].endswith(".parquet"))
    again = Client().get(file_url, HTTP_AUTHORIZATION=f"Bearer {token}")
    content = b"".join(again.streaming_content)  # type: ignore[attr-defined]
    assert again.status_code == 200 and content.startswith(b"PAR1")
    assert chain_token.client.token_balance(agent.address) == before - PRICE
    assert X402Payment.objects.count() == 1 and Purchase.objects.count() == 1
