"""Buying a license on a real anvil chain: paid and verified, refused for every way a payment
can fail, found by the scanner when the hash never reached us, flagged after a re-org, split
three ways exactly, refunded on chain, and signed with a receipt anyone can verify."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from django.utils import timezone

from payments.enums import PurchaseStatus, RewardSource
from payments.exceptions import LicenseError, PurchaseError
from payments.integrations.anvil import DevAccount, rpc_call
from payments.integrations.chain import ChainClient
from payments.models import LicenseGrant, LicenseTier, Purchase, Reward
from payments.services.ledger import FEES, ledger_balance, ledger_books_check, user_code
from payments.services.licenses import (
    license_claim_free,
    license_receipt_verify,
    license_tier_create,
)
from payments.services.payouts import payout_token_balance, payouts_create
from payments.services.purchases import (
    purchase_confirm,
    purchase_create,
    purchase_refund,
    purchase_verify,
    purchases_expire,
    purchases_scan,
)
from payments.services.transfers import TransferError
from tests.chain import ChainToken
from tests.factories import (
    DatasetFactory,
    UserFactory,
    commercial_tier,
    contribution_with_items,
    ready_release,
)

pytestmark = [pytest.mark.django_db, pytest.mark.chain]

PRICE = 100 * 10**6 + 7  # 6-decimals token; the odd 7 tests the rounding


@pytest.fixture
def buyer_wallet(dev_wallets: list[DevAccount]) -> DevAccount:
    return dev_wallets[2]


@pytest.fixture
def tier(chain_token: ChainToken) -> LicenseTier:
    owner = UserFactory.create()
    dataset = DatasetFactory.create(owner=owner)
    alice, bob = UserFactory.create_batch(2)
    contribution_with_items(dataset, alice, [1.0, 1.0, 1.0], validated_at=timezone.now())
    contribution_with_items(dataset, bob, [1.0, 0.5, 0.0], validated_at=timezone.now())
    ready_release(dataset)
    return commercial_tier(dataset, token=chain_token.token, price=PRICE)


def buy(
    tier: LicenseTier, wallet: DevAccount, chain_token: ChainToken, amount: int = PRICE
) -> tuple[Purchase, str]:
    """An order by the wallet's owner, paid on chain; returns it and the payment's hash."""
    buyer = UserFactory.create(address=wallet.address)  # get-or-create by address
    purchase = purchase_create(buyer=buyer, tier=tier)
    return purchase, chain_token.pay(wallet, purchase.pay_to, amount)


def buy_confirmed(
    tier: LicenseTier,
    wallet: DevAccount,
    chain_token: ChainToken,
    capture_on_commit: Callable[[], AbstractContextManager[object]],
) -> tuple[Purchase, str]:
    """``buy``, two blocks mined on top, and the hash confirmed by the buyer (``capture_on_commit``:
    the ``django_capture_on_commit_callbacks`` fixture)."""
    purchase, tx = buy(tier, wallet, chain_token)
    chain_token.mine(2)
    with capture_on_commit():
        purchase_confirm(purchase=purchase, user=purchase.buyer, tx_hash=tx)
    return purchase, tx


def books_match(chain_token: ChainToken) -> None:
    report = ledger_books_check(
        token=chain_token.token, on_chain=payout_token_balance(token=chain_token.token)
    )
    assert report.ok, report


def test_a_purchase_is_paid_verified_split_and_granted_with_a_signed_receipt(
    chain_token: ChainToken, tier: LicenseTier, buyer_wallet: DevAccount, settings,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    purchase, tx = buy(tier, buyer_wallet, chain_token)
    assert (purchase.status, int(purchase.amount)) == ("awaiting_payment", PRICE)
    assert purchase.pay_to == ChainClient.address_for_key(settings.HOT_WALLET_PRIVATE_KEY)
    with django_capture_on_commit_callbacks() as callbacks:
        purchase_confirm(purchase=purchase, user=purchase.buyer, tx_hash=tx)
    assert len(callbacks) == 1
    with pytest.raises(TransferError, match="confirm"):
        purchase_verify(purchase_id=purchase.pk)  # one block of the two needed
    chain_token.mine(1)
    assert purchase_verify(purchase_id=purchase.pk) == PurchaseStatus.PAID
    assert purchase_verify(purchase_id=purchase.pk) == PurchaseStatus.PAID  # twice: no change

    grant = LicenseGrant.objects.get(purchase=purchase)
    assert list(grant.releases.values_list("number", flat=True)) == [1]
    assert grant.receipt["message"]["buyer"] == buyer_wallet.address
    assert grant.receipt["message"]["txHash"] == tx.lower()
    assert grant.receipt["message"]["price"] == str(PRICE)
    signer = license_receipt_verify(receipt=grant.receipt, signature=grant.signature)
    assert signer == grant.signer == ChainClient.address_for_key(settings.PLATFORM_SIGNING_KEY)
    tampered = {**grant.receipt, "message": {**grant.receipt["message"], "price": "1"}}
    assert license_receipt_verify(receipt=tampered, signature=grant.signature) != signer

    # The split: 10 % fee, 40 % to contributors by quality-weighted rows (3 : 1.5), the rest
    # (and every rounding remainder) to the owner; it sums to the price exactly.
    fee = PRICE * 1_000 // 10_000
    pool = PRICE * 4_000 // 10_000
    shares = {r.user_id: int(r.amount) for r in Reward.objects.filter(source=RewardSource.SALE)}
    owner = tier.dataset.owner_id
    contributors = {u: a for u, a in shares.items() if u != owner}
    assert sorted(contributors.values()) == sorted([pool * 2 // 3, pool * 1 // 3])
    assert ledger_balance(token=chain_token.token, code=FEES) == fee
    assert fee + sum(shares.values()) == PRICE
    assert ledger_balance(token=chain_token.token, code=user_code(owner)) == shares[owner]
    books_match(chain_token)
    # The shares are paid through the payout path like any reward.
    assert {p.user_id for p in payouts_create()} == set(shares)


@pytest.mark.parametrize("case", ["short", "wrong_token", "wrong_payer", "reverted"])
def test_a_payment_that_does_not_pay_fails_the_purchase(
    case: str, chain_token: ChainToken, tier: LicenseTier, buyer_wallet: DevAccount,
    dev_wallets: list[DevAccount], django_capture_on_commit_callbacks,
):  # fmt: skip
    buyer = UserFactory.create(address=buyer_wallet.address)
    purchase = purchase_create(buyer=buyer, tier=tier)
    if case == "short":
        tx = chain_token.pay(buyer_wallet, purchase.pay_to, PRICE - 1)
    elif case == "wrong_payer":
        tx = chain_token.pay(dev_wallets[3], purchase.pay_to, PRICE)
    elif case == "wrong_token":
        tx = chain_token.pay_in_another_token(buyer_wallet, purchase.pay_to, PRICE)
    else:
        tx = str(
            rpc_call(
                chain_token.anvil.rpc_url,
                "eth_sendTransaction",
                [
                    {
                        "from": buyer_wallet.address,
                        "to": chain_token.token.address,
                        "gas": hex(100_000),
                        "data": "0xa9059cbb"
                        + purchase.pay_to[2:].lower().rjust(64, "0")
                        + hex(10**30)[2:].rjust(64, "0"),
                    }
                ],
            )
        )
    chain_token.mine(2)
    with django_capture_on_commit_callbacks():
        purchase_confirm(purchase=purchase, user=buyer, tx_hash=tx)
    assert purchase_verify(purchase_id=purchase.pk) == PurchaseStatus.FAILED
    purchase.refresh_from_db()
    expected = {
        "short": "amount_short",
        "wrong_token": "wrong_token",
        "wrong_payer": "wrong_sender",
        "reverted": "tx_reverted",
    }
    assert purchase.error_code == expected[case] and purchase.error_detail
    assert not LicenseGrant.objects.exists() and not Reward.objects.exists()
    # The buyer may try again with the right transaction.
    good = chain_token.pay(buyer_wallet, purchase.pay_to, PRICE)
    chain_token.mine(2)
    with django_capture_on_commit_callbacks():
        purchase_confirm(purchase=purchase, user=buyer, tx_hash=good)
    assert purchase_verify(purchase_id=purchase.pk) == PurchaseStatus.PAID


def test_a_reused_or_foreign_hash_is_refused(
    chain_token: ChainToken, tier: LicenseTier, buyer_wallet: DevAccount,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    purchase, tx = buy_confirmed(
        tier, buyer_wallet, chain_token, django_capture_on_commit_callbacks
    )
    purchase_verify(purchase_id=purchase.pk)
    second = purchase_create(buyer=purchase.buyer, tier=tier)
    with pytest.raises(PurchaseError) as reused:
        purchase_confirm(purchase=second, user=purchase.buyer, tx_hash=tx)
    assert reused.value.code == "tx_already_used"
    with pytest.raises(PurchaseError, match="not a transaction hash"):
        purchase_confirm(purchase=second, user=purchase.buyer, tx_hash="0xabc")
    from marketplace.core.exceptions import NotFoundError

    with pytest.raises(NotFoundError):
        purchase_confirm(purchase=second, user=UserFactory.create(), tx_hash="0x" + "1" * 64)


def test_an_unconfirmed_payment_fails_after_the_timeout(
    chain_token: ChainToken, tier: LicenseTier, buyer_wallet: DevAccount, settings,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    purchase, tx = buy(tier, buyer_wallet, chain_token)
    settings.PURCHASE_VERIFY_TIMEOUT_SECONDS = 0
    with django_capture_on_commit_callbacks():
        purchase_confirm(purchase=purchase, user=purchase.buyer, tx_hash=tx)
    assert purchase_verify(purchase_id=purchase.pk) == PurchaseStatus.FAILED
    assert Purchase.objects.get().error_code == "not_confirmed"


def test_the_scanner_grants_a_license_whose_hash_never_reached_us(
    chain_token: ChainToken, tier: LicenseTier, buyer_wallet: DevAccount
):
    purchase, tx = buy(tier, buyer_wallet, chain_token)  # paid; the tab was closed
    chain_token.mine(2)
    assert purchases_scan() == 1
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.PAID and purchase.tx_hash == tx.lower()
    assert LicenseGrant.objects.filter(purchase=purchase).exists()
    assert purchases_scan() == 0  # the cursor moved on; nothing twice
    books_match(chain_token)


def test_a_paid_purchase_whose_payment_a_reorg_removed_is_flagged(
    chain_token: ChainToken, tier: LicenseTier, buyer_wallet: DevAccount,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    rpc = chain_token.anvil.rpc_url
    before = rpc_call(rpc, "evm_snapshot")
    purchase, _ = buy_confirmed(tier, buyer_wallet, chain_token, django_capture_on_commit_callbacks)
    assert purchase_verify(purchase_id=purchase.pk) == PurchaseStatus.PAID
    rpc_call(rpc, "evm_revert", [before])  # the blocks with the payment are gone
    chain_token.mine(5)
    purchases_scan()
    purchase.refresh_from_db()
    assert "re-org" in purchase.flagged


def test_expired_orders_and_free_tiers(chain_token: ChainToken, tier: LicenseTier, settings):
    buyer = UserFactory.create()
    purchase = purchase_create(buyer=buyer, tier=tier)
    Purchase.objects.filter(pk=purchase.pk).update(expires_at=timezone.now())
    assert purchases_expire() == 1
    assert Purchase.objects.get().status == PurchaseStatus.EXPIRED

    free = license_tier_create(
        dataset=tier.dataset, actor=tier.dataset.owner, name="Research", spdx_id="CC-BY-NC-4.0"
    )
    grant = license_claim_free(buyer=buyer, tier=free)
    assert license_claim_free(buyer=buyer, tier=free) == grant  # once
    assert grant.receipt["message"]["price"] == "0"
    assert license_receipt_verify(receipt=grant.receipt, signature=grant.signature) == grant.signer
    with pytest.raises(PurchaseError) as free_purchase:
        purchase_create(buyer=buyer, tier=free)
    assert free_purchase.value.code == "free_tier"
    with pytest.raises(LicenseError):
        license_claim_free(buyer=buyer, tier=tier)


def test_a_refund_pays_the_buyer_back_on_chain_and_revokes_the_license(
    chain_token: ChainToken, tier: LicenseTier, buyer_wallet: DevAccount,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    purchase, _ = buy_confirmed(tier, buyer_wallet, chain_token, django_capture_on_commit_callbacks)
    purchase_verify(purchase_id=purchase.pk)
    before = chain_token.client.token_balance(buyer_wallet.address)
    staff = UserFactory.create(is_staff=True)
    purchase_refund(purchase=purchase, actor=staff, reason="dataset withdrawn")
    chain_token.client.wait_for_receipt(Purchase.objects.get().refund_tx_hash)
    assert chain_token.client.token_balance(buyer_wallet.address) == before + PRICE
    assert LicenseGrant.objects.get().revoked_at is not None
    # The shares, not yet paid out, went back: nobody is owed anything for this sale.
    assert all(r.payable_amount == 0 for r in Reward.objects.filter(purchase=purchase))
    books_match(chain_token)
    with pytest.raises(PurchaseError):
        purchase_refund(purchase=purchase, actor=staff, reason="again")


def test_ordering_the_same_tier_again_returns_the_open_order(
    chain_token: ChainToken, tier: LicenseTier
):
    buyer = UserFactory.create()
    first = purchase_create(buyer=buyer, tier=tier)
    assert purchase_create(buyer=buyer, tier=tier) == first
    Purchase.objects.filter(pk=first.pk).update(expires_at=timezone.now())
    assert purchase_create(buyer=buyer, tier=tier) != first
