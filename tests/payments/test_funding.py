"""Funding a bounty on a real anvil chain: verified before it opens, refused for every way a
transaction can fail to pay, and never credited twice."""

from __future__ import annotations

from typing import Any

import pytest

from marketplace.core.models import User
from payments.enums import BountyStatus, FundingStatus
from payments.exceptions import BountyError
from payments.integrations.anvil import DevAccount, rpc_call
from payments.models import Bounty, BountyFunding, CreditedTransfer
from payments.services.funding import bounty_funding_submit, bounty_funding_verify
from payments.services.ledger import ledger_balance, ledger_books_check
from payments.services.payouts import payout_token_balance
from payments.services.transfers import TransferError
from tests.chain import ChainToken
from tests.factories import BountyFactory, DatasetFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.chain]

POOL = 5_000 * 10**6 + 7  # base units of a 6-decimals token; the odd 7 catches rounding


@pytest.fixture
def sponsor(dev_wallets: list[DevAccount]) -> DevAccount:
    return dev_wallets[1]


@pytest.fixture
def bounty(chain_token: ChainToken, sponsor: DevAccount) -> Bounty:
    owner = chain_token.user(sponsor)
    return BountyFactory.create(
        dataset=DatasetFactory.create(owner=owner), token=chain_token.token, pool_amount=POOL
    )


def submit_and_verify(bounty: Bounty, tx_hash: str, django_capture_on_commit_callbacks: Any) -> str:
    with django_capture_on_commit_callbacks() as callbacks:
        funding = bounty_funding_submit(bounty=bounty, user=bounty.sponsor, tx_hash=tx_hash)
    assert len(callbacks) == 1  # the verification task, enqueued after the commit
    return bounty_funding_verify(funding_id=funding.pk)


def test_a_funding_is_verified_after_its_confirmations_and_opens_the_bounty(
    chain_token: ChainToken, sponsor: DevAccount, bounty: Bounty, django_capture_on_commit_callbacks
):
    tx_hash = chain_token.pay(sponsor, chain_token.hot_wallet.address, POOL)
    with django_capture_on_commit_callbacks():
        funding = bounty_funding_submit(
            bounty=bounty, user=bounty.sponsor, tx_hash=tx_hash.upper().replace("0X", "0x")
        )
    assert Bounty.objects.get(pk=bounty.pk).status == BountyStatus.VERIFYING

    # Mined in one block; two confirmations are asked for: the task retries.
    with pytest.raises(TransferError) as first:
        bounty_funding_verify(funding_id=funding.pk)
    assert first.value.code == "not_confirmed" and first.value.transient
    funding.refresh_from_db()
    assert (funding.status, funding.attempts, funding.confirmations) == ("verifying", 1, 1)

    chain_token.mine(1)
    assert bounty_funding_verify(funding_id=funding.pk) == FundingStatus.VERIFIED
    bounty.refresh_from_db()
    assert bounty.status == BountyStatus.OPEN and bounty.funded_at is not None
    assert ledger_balance(token=bounty.token, code=bounty.ledger_code) == POOL
    credited = CreditedTransfer.objects.get()
    assert (credited.tx_hash, int(credited.amount), credited.purpose) == (
        tx_hash.lower(),
        POOL,
        f"bounty:{bounty.pk}",
    )
    # Run again (a re-delivered task): nothing more is credited.
    assert bounty_funding_verify(funding_id=funding.pk) == FundingStatus.VERIFIED
    assert ledger_balance(token=bounty.token, code=bounty.ledger_code) == POOL
    # The books match the chain: the treasury holds exactly what the ledger says.
    report = ledger_books_check(
        token=bounty.token, on_chain=payout_token_balance(token=bounty.token)
    )
    assert report.ok, report


def test_a_reused_hash_is_refused(
    chain_token: ChainToken, sponsor: DevAccount, bounty: Bounty, django_capture_on_commit_callbacks
):
    tx_hash = chain_token.pay(sponsor, chain_token.hot_wallet.address, POOL)
    chain_token.mine(2)
    assert submit_and_verify(bounty, tx_hash, django_capture_on_commit_callbacks) == "verified"
    other = BountyFactory.create(
        dataset=bounty.dataset, sponsor=bounty.sponsor, token=bounty.token, pool_amount=POOL
    )
    with pytest.raises(BountyError) as refused:
        bounty_funding_submit(bounty=other, user=other.sponsor, tx_hash=tx_hash)
    assert refused.value.code == "tx_already_used"
    assert Bounty.objects.get(pk=other.pk).status == BountyStatus.AWAITING_FUNDING
    with pytest.raises(BountyError) as again:
        bounty_funding_submit(bounty=bounty, user=bounty.sponsor, tx_hash=tx_hash)
    assert again.value.code == "already_funded"


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("short", "amount_short"),
        ("wrong_recipient", "wrong_recipient"),
        ("wrong_token", "wrong_token"),
        ("wrong_sender", "wrong_sender"),
        ("reverted", "tx_reverted"),
    ],
)
def test_a_transaction_that_does_not_pay_is_refused_and_the_bounty_waits(
    case: str,
    code: str,
    chain_token: ChainToken,
    sponsor: DevAccount,
    dev_wallets: list[DevAccount],
    bounty: Bounty,
    django_capture_on_commit_callbacks,
):
    treasury = chain_token.hot_wallet.address
    stranger = dev_wallets[2]
    if case == "short":
        tx_hash = chain_token.pay(sponsor, treasury, POOL - 1)
    elif case == "wrong_recipient":
        tx_hash = chain_token.pay(sponsor, stranger.address, POOL)
    elif case == "wrong_token":
        tx_hash = chain_token.pay_in_another_token(sponsor, treasury, POOL)
    elif case == "wrong_sender":
        tx_hash = chain_token.pay(stranger, treasury, POOL)
    else:  # a transfer of more than the balance, sent with a fixed gas limit so it is mined
        tx_hash = str(
            rpc_call(
                chain_token.anvil.rpc_url,
                "eth_sendTransaction",
                [
                    {
                        "from": sponsor.address,
                        "to": chain_token.token.address,
                        "gas": hex(100_000),
                        "data": "0xa9059cbb"
                        + treasury[2:].lower().rjust(64, "0")
                        + hex(10**30)[2:].rjust(64, "0"),
                    }
                ],
            )
        )
    chain_token.mine(2)

    assert submit_and_verify(bounty, tx_hash, django_capture_on_commit_callbacks) == "refused"

    funding = BountyFunding.objects.get()
    assert funding.error_code == code and funding.error_detail
    assert Bounty.objects.get(pk=bounty.pk).status == BountyStatus.AWAITING_FUNDING
    assert ledger_balance(token=bounty.token, code=bounty.ledger_code) == 0
    assert not CreditedTransfer.objects.exists()


def test_an_unconfirmed_funding_is_refused_after_the_timeout(
    chain_token: ChainToken, sponsor: DevAccount, bounty: Bounty, settings,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    tx_hash = chain_token.pay(sponsor, chain_token.hot_wallet.address, POOL)
    settings.FUNDING_VERIFY_TIMEOUT_SECONDS = 0
    assert submit_and_verify(bounty, tx_hash, django_capture_on_commit_callbacks) == "refused"
    assert BountyFunding.objects.get().error_code == "not_confirmed"


def test_bad_submissions_are_refused_with_clear_errors(bounty: Bounty, dev_wallets):
    with pytest.raises(BountyError, match="not a transaction hash"):
        bounty_funding_submit(bounty=bounty, user=bounty.sponsor, tx_hash="0x1234")
    from marketplace.core.exceptions import PermissionDeniedError
    from tests.factories import UserFactory

    with pytest.raises(PermissionDeniedError):
        bounty_funding_submit(bounty=bounty, user=UserFactory.create(), tx_hash="0x" + "ab" * 32)
    assert not BountyFunding.objects.exists()


def test_a_refused_funding_is_explained_in_the_bounty_api_to_its_sponsor_only(
    client,
    chain_token: ChainToken,
    sponsor: DevAccount,
    bounty: Bounty,
    django_capture_on_commit_callbacks,
):
    url = f"/api/v1/bounties/{bounty.pk}/"
    client.force_login(bounty.sponsor)
    before = client.get(url).json()
    assert (before["funding_status"], before["funding_error"]) == (None, None)

    tx_hash = chain_token.pay(sponsor, chain_token.hot_wallet.address, POOL - 1)
    chain_token.mine(2)
    with django_capture_on_commit_callbacks():
        submitted = client.post(f"{url}fund", {"tx_hash": tx_hash}, content_type="application/json")
    assert submitted.status_code == 202, submitted.content
    assert client.get(url).json()["funding_status"] == "verifying"
    assert bounty_funding_verify(funding_id=submitted.json()["id"]) == "refused"

    body = client.get(url).json()
    assert body["bounty"]["status"] == "awaiting_funding"
    assert body["funding_status"] == "refused"
    assert body["funding_error"]["code"] == "amount_short"
    assert body["funding_error"]["detail"] == BountyFunding.objects.get().error_detail
    assert str(POOL - 1) in body["funding_error"]["detail"]

    for other in (UserFactory.create(), None):
        if other is None:
            client.logout()
        else:
            client.force_login(other)
        seen = client.get(url).json()
        assert (seen["funding_status"], seen["funding_error"]) == ("refused", None)
    client.force_login(User.objects.create_user("0x" + "5" * 40, is_staff=True))
    assert client.get(url).json()["funding_error"]["code"] == "amount_short"
