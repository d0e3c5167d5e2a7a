"""`databounty buy`: order a license, pay it from the key by an ERC-20 transfer on anvil,
confirm, and wait until the server has verified the payment on chain."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from payments.enums import PurchaseStatus
from payments.integrations.anvil import DevAccount
from payments.models import LicenseGrant, LicenseTier, Purchase
from payments.services.purchases import purchase_verify
from tests.chain import ChainToken
from tests.client.conftest import Run
from tests.factories import DatasetFactory, commercial_tier, ready_release

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chain]

PRICE = 12_345_678  # 12.345678 tUSD


@pytest.fixture
def verifier(monkeypatch: pytest.MonkeyPatch, chain_token: ChainToken) -> None:
    """Stands in for the worker the confirm enqueues to: mines a block at a time and runs the
    real verification until the purchase leaves ``confirming``."""
    from payments import tasks

    def verify_until_settled(purchase_id: int) -> None:
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                chain_token.mine(1)
                try:
                    if purchase_verify(purchase_id=purchase_id) != PurchaseStatus.CONFIRMING:
                        return
                except Exception:  # transient (unconfirmed): the task would retry
                    time.sleep(0.1)
        finally:
            connection.close()

    def delay(purchase_id: int) -> None:
        threading.Thread(target=verify_until_settled, args=(purchase_id,), daemon=True).start()

    monkeypatch.setattr(tasks.verify_purchase, "delay", delay)


@pytest.fixture
def tier(chain_token: ChainToken) -> LicenseTier:
    dataset = DatasetFactory.create(slug="kitchen-reviews")
    ready_release(dataset)
    return commercial_tier(dataset, token=chain_token.token, price=PRICE)


@pytest.fixture
def signed_in(
    cli: Callable[..., Run],
    key_file: Callable[[DevAccount], Path],
    dev_wallets: list[DevAccount],
    chain_token: ChainToken,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[int], DevAccount]:
    """``signed_in(n)``: anvil's account n signs in with its key file (DATABOUNTY_KEY_FILE, as
    the buyer keeps it), and the client pays on the test's anvil (DATABOUNTY_RPC_URL)."""
    monkeypatch.setenv("DATABOUNTY_RPC_URL", chain_token.anvil.rpc_url)

    def sign_in(n: int) -> DevAccount:
        account = dev_wallets[n]
        monkeypatch.setenv("DATABOUNTY_KEY_FILE", str(key_file(account)))
        assert cli("login").code == 0
        return account

    return sign_in


@pytest.mark.usefixtures("verifier", "tier")
def test_buy_orders_pays_from_the_key_confirms_and_waits_until_paid(
    cli: Callable[..., Run],
    signed_in: Callable[[int], DevAccount],
    chain_token: ChainToken,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buyer = signed_in(1)
    treasury = chain_token.hot_wallet.address
    before = (
        chain_token.client.token_balance(treasury),
        chain_token.client.token_balance(buyer.address),
    )
    from databounty.api import Client

    reads: list[int] = []
    read = Client.purchase

    def counted_read(self: Client, purchase_id: int) -> dict[str, Any]:
        reads.append(purchase_id)
        return read(self, purchase_id)

    monkeypatch.setattr(Client, "purchase", counted_read)

    run = cli("buy", "kitchen-reviews", "--tier", "commercial")

    assert run.code == 0, run.err
    purchase = Purchase.objects.get()
    assert purchase.status == PurchaseStatus.PAID
    assert purchase.buyer.address == buyer.address
    grant = LicenseGrant.objects.get(purchase=purchase)
    assert f"License {grant.pk} (Commercial) for kitchen-reviews: paid 12.345678" in run.out
    assert purchase.tx_hash in run.out
    after = (
        chain_token.client.token_balance(treasury),
        chain_token.client.token_balance(buyer.address),
    )
    assert (after[0] - before[0], before[1] - after[1]) == (PRICE, PRICE)
    # The order is read again only after the client saw it still confirming (the confirm's
    # answer included), never right after an answer that already said where it stands.
    assert len(reads) == run.err.count(" confirming: ")


@pytest.mark.usefixtures("tier")
def test_buy_refuses_a_key_that_is_not_the_signed_in_buyer(
    cli: Callable[..., Run],
    signed_in: Callable[[int], DevAccount],
    key_file: Callable[[DevAccount], Path],
    dev_wallets: list[DevAccount],
) -> None:
    signed_in(1)

    run = cli(
        "buy",
        "kitchen-reviews",
        "--tier",
        "Commercial",
        "--key-file",
        str(key_file(dev_wallets[2])),
    )

    assert run.code == 1
    assert "(wrong_payer)" in run.err
    assert not Purchase.objects.exists()


def test_buy_names_the_tiers_on_offer_when_the_one_asked_for_is_not(
    cli: Callable[..., Run], signed_in: Callable[[int], DevAccount], tier: LicenseTier
) -> None:
    signed_in(1)

    run = cli("buy", "kitchen-reviews", "--tier", "enterprise")

    assert run.code == 1
    assert f"Offered: Commercial (id {tier.pk}, {PRICE})" in run.err
    assert "(no_such_tier)" in run.err


def test_buy_with_too_few_tokens_says_so_before_paying(
    cli: Callable[..., Run], signed_in: Callable[[int], DevAccount], tier: LicenseTier
) -> None:
    signed_in(5)  # has ether for gas, none of the token

    run = cli("buy", "kitchen-reviews", "--tier", str(tier.pk))

    assert run.code == 1
    assert "(insufficient_balance)" in run.err
    assert Purchase.objects.get().status == PurchaseStatus.AWAITING_PAYMENT
    assert Purchase.objects.get().tx_hash == ""


@pytest.mark.usefixtures("verifier", "tier")
def test_buy_stopped_after_paying_confirms_the_same_payment_when_run_again(
    cli: Callable[..., Run],
    signed_in: Callable[[int], DevAccount],
    chain_token: ChainToken,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buyer = signed_in(2)
    before = chain_token.client.token_balance(buyer.address)

    # Ctrl-C once the transfer is mined, before the server hears of it.
    from databounty.api import Client

    def interrupted(self: Client, purchase_id: int, tx_hash: str) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(Client, "purchase_confirm", interrupted)
        stopped = cli("buy", "kitchen-reviews", "--tier", "Commercial")
    assert stopped.code == 130
    assert Purchase.objects.get().status == PurchaseStatus.AWAITING_PAYMENT
    assert before - chain_token.client.token_balance(buyer.address) == PRICE

    run = cli("buy", "kitchen-reviews", "--tier", "Commercial")

    assert run.code == 0, run.err
    purchase = Purchase.objects.get()  # the same order, not a second one
    assert purchase.status == PurchaseStatus.PAID
    assert before - chain_token.client.token_balance(buyer.address) == PRICE  # paid once
