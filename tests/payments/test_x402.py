"""x402 (HTTP 402) payments for licensed files, against a real anvil chain and the official
``x402`` client: an agent with nothing but a funded key is asked to pay, pays by signing an
EIP-3009 authorization, and is served, with the same sale, ledger, revenue share and receipt
as an order paid from a browser. Then every way it can go wrong: a replay, two requests with
one authorization at once, a settlement that reverts, one whose receipt never came."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import pytest
from django.db import connection
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

from payments.enums import LicenseCoverage, PurchaseStatus, RewardSource, X402Status
from payments.integrations.anvil import DevAccount, rpc_call
from payments.models import (
    LedgerEntry,
    LicenseGrant,
    LicenseTier,
    Purchase,
    Reward,
    X402Payment,
)
from payments.services.ledger import FEES, ledger_balance, ledger_books_check
from payments.services.licenses import license_receipt_verify
from payments.services.payouts import payout_token_balance
from payments.services.purchases import purchase_confirm, purchase_create, purchase_verify
from payments.services.transfers import TransferError
from payments.services.x402 import x402_offer
from payments.services.x402_settlement import x402_reconcile
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
    assert not purchase.buyer.has_usable_password()  # an account made by paying
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


def test_a_first_paid_request_runs_a_known_number_of_queries(
    tier: LicenseTier, agent: DevAccount, django_assert_num_queries: Any
) -> None:
    """Everything a first paid request does (claim, verify, settle, credit, the sale split,
    the license, the download token, the listing) in 78 queries, pinned so a regression shows.
    The payer's account is read once and inserted as it stays, the payment row after the
    reconciling lock is never read again, and the listing served after the payment is of the
    release the refusal named, not looked up again: each step hands its objects to the next."""
    http = Client()
    header = pay_header(http.get(files_url(tier)), agent)
    with django_assert_num_queries(78) as captured:
        paid = http.get(files_url(tier), HTTP_PAYMENT_SIGNATURE=header)
    assert paid.status_code == 200, paid.content
    sql = [query["sql"] for query in captured.captured_queries]
    payer_reads = [q for q in sql if q.startswith('SELECT "core_user"') and '."address" =' in q]
    assert len(payer_reads) == 1
    assert not [q for q in sql if q.startswith('UPDATE "core_user"')]
    assert sum(q.startswith('SELECT "datasets_app_dataset"') for q in sql) == 1
    # The dataset's ready releases, newest first: the listing's own read, made once.
    ready_newest_first = """'ready') ORDER BY "datasets_app_datasetrelease"."number" DESC"""
    assert sum(ready_newest_first in q for q in sql) == 1
    # The claim's get_or_create, the look for an earlier pending one, the reconciling lock.
    assert sum(q.startswith('SELECT "payments_x402payment"') for q in sql) == 3


# --- exactly once ---------------------------------------------------------------------------


def parquet_urls(tier: LicenseTier) -> list[str]:
    release = tier.dataset.releases.get()
    return [f"/api/v1/files/{f.pk}" for f in release.files.order_by("name") if f.rows]


def spent(chain_token: ChainToken, agent: DevAccount, before: int) -> int:
    return before - chain_token.client.token_balance(agent.address)


def test_the_same_authorization_sent_again_settles_once(
    tier: LicenseTier, chain_token: ChainToken, agent: DevAccount
) -> None:
    before = chain_token.client.token_balance(agent.address)
    header = pay_header(Client().get(files_url(tier)), agent)
    first = Client().get(files_url(tier), HTTP_PAYMENT_SIGNATURE=header)
    replay = Client().get(parquet_urls(tier)[0], HTTP_PAYMENT_SIGNATURE=header)
    assert first.status_code == 200 and replay.status_code == 200
    # The replay is served as what it is, the payment already settled (and says so).
    assert decode_payment_response_header(replay["PAYMENT-RESPONSE"]).transaction == (
        X402Payment.objects.get().tx_hash
    )
    assert replay["X-Download-Token"] != first["X-Download-Token"]
    assert spent(chain_token, agent, before) == PRICE
    assert Purchase.objects.count() == 1 and LicenseGrant.objects.count() == 1


def test_one_authorization_sent_to_two_files_at_once_settles_once(
    tier: LicenseTier, chain_token: ChainToken, agent: DevAccount
) -> None:
    before = chain_token.client.token_balance(agent.address)
    header = pay_header(Client().get(files_url(tier)), agent)
    statuses = at_once_get(parquet_urls(tier), header)
    assert statuses == [200, 200]
    assert spent(chain_token, agent, before) == PRICE
    assert X402Payment.objects.get().status == X402Status.SETTLED
    assert Purchase.objects.count() == 1


def test_two_authorizations_at_once_pay_once(
    tier: LicenseTier, chain_token: ChainToken, agent: DevAccount
) -> None:
    """An agent fetching two files in parallel signs twice; the second finds the license the
    first bought (its signature proves the address) and is served without being charged."""
    before = chain_token.client.token_balance(agent.address)
    required = Client().get(files_url(tier))
    headers = [pay_header(required, agent), pay_header(required, agent)]
    assert headers[0] != headers[1]  # two nonces
    statuses = at_once_get(parquet_urls(tier), *headers)
    assert statuses == [200, 200]
    assert spent(chain_token, agent, before) == PRICE
    assert sorted(X402Payment.objects.values_list("status", "error_code")) == [
        (X402Status.REJECTED, "already_licensed"),
        (X402Status.SETTLED, ""),
    ]


def at_once_get(urls: list[str], *headers: str) -> list[int]:
    """GETs ``urls[i]`` with ``headers[i]`` (or the one header) from threads started
    together; each thread has its own database connection. Returns the statuses in order."""
    barrier = threading.Barrier(len(urls))
    statuses: list[int] = [0] * len(urls)

    def get(i: int) -> None:
        try:
            barrier.wait()
            header = headers[i] if len(headers) > 1 else headers[0]
            statuses[i] = Client().get(urls[i], HTTP_PAYMENT_SIGNATURE=header).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=get, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


# --- refusals: nothing charged, nothing granted ---------------------------------------------


def refused(response: Any, code: str) -> None:
    assert response.status_code == 402, response.content
    assert response.json()["code"] == code
    assert decode_payment_required_header(response["PAYMENT-REQUIRED"]).accepts  # pay again
    assert not LicenseGrant.objects.exists() and not Purchase.objects.exists()


def test_an_expired_authorization_is_refused(
    tier: LicenseTier, chain_token: ChainToken, agent: DevAccount, settings
) -> None:
    settings.X402_MAX_TIMEOUT_SECONDS = 3  # signed valid for 3 s: under the 6 s settling margin
    before = chain_token.client.token_balance(agent.address)
    header = pay_header(Client().get(files_url(tier)), agent)
    response = Client().get(files_url(tier), HTTP_PAYMENT_SIGNATURE=header)
    refused(response, "invalid_exact_evm_payload_authorization_valid_before")
    assert "expired" in response.json()["detail"]
    assert spent(chain_token, agent, before) == 0


def test_a_payment_for_another_price_token_or_treasury_is_refused(
    tier: LicenseTier, chain_token: ChainToken, agent: DevAccount
) -> None:
    header = pay_header(Client().get(files_url(tier)), agent)
    LicenseTier.objects.filter(pk=tier.pk).update(price=PRICE + 1)  # the price moved since
    refused(Client().get(files_url(tier), HTTP_PAYMENT_SIGNATURE=header), "payment_mismatch")
    LicenseTier.objects.filter(pk=tier.pk).update(price=PRICE)
    for field, value in (("asset", agent.address), ("payTo", agent.address)):
        payload = json.loads(base64.b64decode(header))
        payload["accepted"][field] = value
        tampered = base64.b64encode(json.dumps(payload).encode()).decode()
        response = Client().get(files_url(tier), HTTP_PAYMENT_SIGNATURE=tampered)
        refused(response, "payment_mismatch")
    garbage = Client().get(files_url(tier), HTTP_PAYMENT_SIGNATURE="not base64 json")
    refused(garbage, "invalid_payment")
    assert not X402Payment.objects.exists()


def test_an_authorization_signed_by_someone_else_is_refused(
    tier: LicenseTier, chain_token: ChainToken, agent: DevAccount, dev_wallets: list[DevAccount]
) -> None:
    header = pay_header(Client().get(files_url(tier)), agent)
    payload = json.loads(base64.b64decode(header))
    payload["payload"]["authorization"]["from"] = dev_wallets[4].address  # not the signer
    forged = base64.b64encode(json.dumps(payload).encode()).decode()
    refused(
        Client().get(files_url(tier), HTTP_PAYMENT_SIGNATURE=forged),
        "invalid_exact_evm_payload_signature",
    )
    assert X402Payment.objects.get().status == X402Status.REJECTED


def test_a_settlement_that_reverts_grants_nothing(
    tier: LicenseTier, chain_token: ChainToken, agent: DevAccount, monkeypatch
) -> None:
    # Half the gas the call needs: the transaction is mined and runs out of gas (status 0).
    monkeypatch.setattr("payments.integrations.x402_signer.SETTLE_GAS_HEADROOM_PERCENT", -50)
    before = chain_token.client.token_balance(agent.address)
    header = pay_header(Client().get(files_url(tier)), agent)
    response = Client().get(files_url(tier), HTTP_PAYMENT_SIGNATURE=header)
    refused(response, "settlement_reverted")
    payment = X402Payment.objects.get()
    assert payment.status == X402Status.FAILED and payment.tx_hash and payment.raw_tx
    receipt = chain_token.client.receipt(payment.tx_hash)
    assert receipt is not None and not receipt.succeeded
    assert spent(chain_token, agent, before) == 0
    # It stays failed: the same header again does not send a second transaction.
    refused(Client().get(files_url(tier), HTTP_PAYMENT_SIGNATURE=header), "settlement_reverted")
    assert chain_token.client.transaction_count(payment.from_address) == (payment.tx_nonce or 0) + 1


def test_a_sent_settlement_whose_receipt_never_came_is_reconciled_from_the_record(
    tier: LicenseTier, chain_token: ChainToken, agent: DevAccount, settings
) -> None:
    """The node takes the transaction but mines nothing; the request gives up waiting (409,
    retry later). The record made before broadcasting is what finishes it: re-broadcast when
    the node lost it, credited and licensed once mined, and the retried request is served."""
    settings.X402_SETTLE_TIMEOUT_SECONDS = 1
    rpc = chain_token.anvil.rpc_url
    before = chain_token.client.token_balance(agent.address)
    header = pay_header(Client().get(files_url(tier)), agent)
    rpc_call(rpc, "evm_setAutomine", [False])
    try:
        pending = Client().get(files_url(tier), HTTP_PAYMENT_SIGNATURE=header)
        assert pending.status_code == 409 and pending.json()["code"] == "settlement_pending"
        assert pending["Retry-After"]
        payment = X402Payment.objects.get()
        assert payment.status == X402Status.BROADCAST and payment.raw_tx
        assert not LicenseGrant.objects.exists()
        # The node loses it (a restart): the reconciler sends the recorded bytes again.
        rpc_call(rpc, "anvil_dropTransaction", [payment.tx_hash])
        assert not chain_token.client.transaction_known(payment.tx_hash)
        with pytest.raises(TransferError):
            x402_reconcile(payment_id=payment.pk)
        assert chain_token.client.transaction_known(payment.tx_hash)
    finally:
        rpc_call(rpc, "evm_setAutomine", [True])
    chain_token.mine(1)
    assert x402_reconcile(payment_id=payment.pk) == X402Status.SETTLED
    assert x402_reconcile(payment_id=payment.pk) == X402Status.SETTLED  # twice: no-op
    assert spent(chain_token, agent, before) == PRICE
    grant = LicenseGrant.objects.get()
    assert grant.buyer.address == agent.address
    served = Client().get(files_url(tier), HTTP_PAYMENT_SIGNATURE=header)
    assert served.status_code == 200 and served["X-Download-Token"]
    assert Purchase.objects.count() == 1


# --- who is asked to pay ----------------------------------------------------------------------


def test_the_rows_api_and_a_single_file_are_paid_the_same_way(
    tier: LicenseTier, chain_token: ChainToken, agent: DevAccount
) -> None:
    rows_url = f"/api/v1/datasets/{tier.dataset.slug}/rows/"
    assert Client().get(rows_url + "?preview=1").json()["preview"] is True
    first = Client().get(rows_url)
    assert first.status_code == 402
    paid = Client().get(rows_url, HTTP_PAYMENT_SIGNATURE=pay_header(first, agent))
    assert paid.status_code == 200 and paid.json()["preview"] is False
    assert paid["PAYMENT-RESPONSE"] and paid["X-Download-Token"]
    file_402 = Client().get(parquet_urls(tier)[0])
    assert file_402.status_code == 402  # anonymous again: no session was made
    token = paid["X-Download-Token"]
    assert (
        Client().get(parquet_urls(tier)[0], HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    )


def test_the_cheapest_tier_that_would_license_the_version_asked_for_is_offered(
    tier: LicenseTier, chain_token: ChainToken, django_assert_num_queries
) -> None:
    """A cheaper tier for the latest version only is offered for that version, never for an
    older one (buying it would not license that): there the tier covering every released
    version is. One query finds it."""
    older = tier.dataset.releases.get()
    latest_only = LicenseTier.objects.create(
        dataset=tier.dataset,
        name="Latest",
        spdx_id="CC-BY-4.0",
        price=PRICE - 1,
        token=chain_token.token,
        covers=LicenseCoverage.LATEST,
    )
    newer = make_release(tier.dataset, number=2)
    offer = x402_offer(release=newer)
    assert offer is not None and offer.tier == latest_only
    assert offer.requirements.amount == str(PRICE - 1)
    with django_assert_num_queries(1):
        offer = x402_offer(release=older)
    assert offer is not None and offer.tier == tier
    assert offer.requirements.amount == str(PRICE)


def test_nothing_for_sale_is_refused_as_before(chain_token: ChainToken, agent: DevAccount) -> None:
    """A dataset with only a free tier is claimed, not paid: no 402 anywhere."""
    dataset = DatasetFactory.create()
    make_release(dataset)
    LicenseTier.objects.create(dataset=dataset, name="Open", spdx_id="CC-BY-4.0", price=0)
    url = f"/api/v1/datasets/{dataset.slug}/files/"
    assert Client().get(url).status_code == 401
    signed_in = Client()
    signed_in.force_login(UserFactory.create())
    response = signed_in.get(url)
    assert response.status_code == 403 and response.json()["code"] == "license_required"
    rows = Client().get(f"/api/v1/datasets/{dataset.slug}/rows/")
    assert rows.status_code == 200 and rows.json()["preview"] is True


def test_staff_see_each_payment_in_admin_and_change_nothing(
    tier: LicenseTier, chain_token: ChainToken, agent: DevAccount, admin_user
) -> None:
    Client().get(
        files_url(tier), HTTP_PAYMENT_SIGNATURE=pay_header(Client().get(files_url(tier)), agent)
    )
    payment = X402Payment.objects.get()
    staff = Client()
    staff.force_login(admin_user)
    listing = staff.get("/admin/payments/x402payment/")
    assert listing.status_code == 200 and agent.address in listing.content.decode()
    page = staff.get(f"/admin/payments/x402payment/{payment.pk}/change/")
    assert page.status_code == 200 and payment.tx_hash in page.content.decode()
    assert payment.raw_tx not in page.content.decode()  # signed bytes stay out of pages
    assert staff.post(f"/admin/payments/x402payment/{payment.pk}/delete/").status_code == 403


def test_the_books_of_an_x402_sale_are_those_of_a_browser_purchase(
    tier: LicenseTier, chain_token: ChainToken, agent: DevAccount, dev_wallets: list[DevAccount]
) -> None:
    """The same tier bought twice, from a browser order and over x402: the same ledger moves,
    the same shares to the same people, the same license and receipt but for who and which
    transaction. Then the books still match the chain."""
    browser = UserFactory.create(address=dev_wallets[2].address)
    order = purchase_create(buyer=browser, tier=tier)
    tx = chain_token.pay(dev_wallets[2], order.pay_to, PRICE)
    chain_token.mine(2)
    purchase_confirm(purchase=order, user=browser, tx_hash=tx)
    assert purchase_verify(purchase_id=order.pk) == PurchaseStatus.PAID
    paid = Client().get(
        files_url(tier), HTTP_PAYMENT_SIGNATURE=pay_header(Client().get(files_url(tier)), agent)
    )
    assert paid.status_code == 200
    agent_purchase = Purchase.objects.exclude(pk=order.pk).get()
    order.refresh_from_db()

    def books(purchase: Purchase) -> dict[str, object]:
        entries = LedgerEntry.objects.filter(
            transaction__idempotency_key=f"sale:{purchase.pk}"
        ).values_list("account__code", "amount")
        grant = LicenseGrant.objects.get(purchase=purchase)
        receipt = {
            k: v
            for k, v in grant.receipt["message"].items()
            if k not in ("buyer", "txHash", "issuedAt")
        }
        return {
            "ledger": sorted((code, int(amount)) for code, amount in entries),
            "rewards": sorted(
                (r.user_id, int(r.amount), r.source)
                for r in Reward.objects.filter(purchase=purchase)
            ),
            "grant": (grant.tier_id, grant.covers_future, sorted(grant.releases.values_list("pk"))),
            "receipt": receipt,
            "status": (purchase.status, int(purchase.amount), purchase.token_id),
        }

    assert books(agent_purchase) == books(order)
    assert books(order)["ledger"]  # not two empty books
    grant = LicenseGrant.objects.get(purchase=agent_purchase)
    assert grant.receipt["message"]["buyer"] == agent.address
    assert grant.receipt["message"]["txHash"] == agent_purchase.tx_hash
    report = ledger_books_check(
        token=chain_token.token, on_chain=payout_token_balance(token=chain_token.token)
    )
    assert report.ok, report
