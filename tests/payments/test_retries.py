"""Transient failures lose nothing a user paid for: a database that fails a worker's first
attempt, or a payment not confirmed yet, is retried by Celery with backoff until the order is
paid, the bounty funded and the payout sent; a check whose task was lost is sent again by the
minute sweeper."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from celery import Task
from django.utils import timezone

from payments.enums import FundingStatus, PayoutStatus, PurchaseStatus
from payments.integrations.anvil import DevAccount
from payments.models import Bounty, BountyFunding, LicenseTier, Payout, Purchase
from payments.services.funding import (
    bounty_funding_submit,
    fundings_requeue_verifying,
    treasury_address,
)
from payments.services.licenses import license_tier_create
from payments.services.purchases import (
    purchase_confirm,
    purchase_create,
    purchases_requeue_confirming,
)
from payments.tasks import process_payouts, verify_bounty_funding, verify_purchase
from tests.chain import ChainToken
from tests.conftest import CeleryProcess
from tests.factories import BountyFactory, DatasetFactory, TokenFactory, UserFactory, ready_release
from tests.faults import FlakyDatabaseProxy, flaky_database, start_worker_behind
from tests.payments.test_funding import POOL, bounty, sponsor  # noqa: F401 - fixtures
from tests.payments.test_purchases import buy, buyer_wallet, tier  # noqa: F401


def wait_for(
    what: Callable[[], bool], worker: CeleryProcess, timeout: float = 60, then: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, f"{then}\n{worker.log()[-4000:]}"
        time.sleep(0.2)


def send_failing_first(
    proxy: FlakyDatabaseProxy, worker: CeleryProcess, task: Task, *args: object
) -> None:
    """Sends ``task(*args)`` to ``worker``, whose connection is cut and next one refused: the
    task's first database access raises psycopg's real OperationalError."""
    proxy.cut()
    proxy.refuse_next(1)
    task.apply_async(args, queue=worker.queue)


@pytest.mark.worker
@pytest.mark.chain
@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_database_fails_first_still_pays_funds_and_pays_out(
    chain_token: ChainToken,
    tier: LicenseTier,  # noqa: F811
    buyer_wallet: DevAccount,  # noqa: F811
    bounty: Bounty,  # noqa: F811
    sponsor: DevAccount,  # noqa: F811
    settings,
    tmp_path: Path,
):
    """Real: anvil, PostgreSQL reached by a real Celery worker process through a loopback
    proxy that cuts its connection and refuses the next one before each task (psycopg raises
    a real OperationalError), Celery's autoretry with backoff, Redis. The services' enqueue on
    commit is patched out so each task goes to this worker's own queue; no sweeper runs."""
    funded_with = chain_token.pay(sponsor, treasury_address(), POOL)
    with patch("payments.tasks.verify_bounty_funding.delay"):
        funding = bounty_funding_submit(bounty=bounty, user=bounty.sponsor, tx_hash=funded_with)
    # Mined last, so it has one confirmation of the two needed (the funding has two).
    purchase, paid_with = buy(tier, buyer_wallet, chain_token)
    with patch("payments.tasks.verify_purchase.delay"):
        purchase_confirm(purchase=purchase, user=purchase.buyer, tx_hash=paid_with)

    with flaky_database() as proxy:
        worker = start_worker_behind(
            proxy,
            tmp_path / "worker.log",
            CHAIN_RPC_URL=settings.CHAIN_RPC_URL,
            CHAIN_ID=str(settings.CHAIN_ID),
        )
        try:
            worker.wait_for_log("ready.", timeout=60)

            send_failing_first(proxy, worker, verify_purchase, purchase.pk)
            # The database is back for the retry, which finds the payment one block short: a
            # chain answer retried the same way, until the block is mined.
            wait_for(
                lambda: Purchase.objects.get(pk=purchase.pk).error_code == "not_confirmed",
                worker,
                then="the purchase was never checked after the database error",
            )
            chain_token.mine(1)
            wait_for(
                lambda: Purchase.objects.get(pk=purchase.pk).status == PurchaseStatus.PAID,
                worker,
                then="the purchase was not paid",
            )
            assert proxy.refused == 1

            send_failing_first(proxy, worker, verify_bounty_funding, funding.pk)
            wait_for(
                lambda: BountyFunding.objects.get(pk=funding.pk).status == FundingStatus.VERIFIED,
                worker,
                then="the funding was not verified",
            )
            assert proxy.refused == 2

            send_failing_first(proxy, worker, process_payouts)
            wait_for(
                lambda: Payout.objects.filter(status=PayoutStatus.SENT).exists(),
                worker,
                then="no payout was sent",
            )
            assert proxy.refused == 3
            log = worker.log()
        finally:
            worker.stop()
    assert log.count("retry: Retry in") >= 3 + 1, log[-4000:]  # + the unconfirmed payment
    assert "OperationalError" in log
    assert not Payout.objects.exclude(status=PayoutStatus.SENT).exists()


@pytest.mark.django_db
def test_a_check_whose_task_was_lost_is_sent_again_by_the_minute_sweeper(
    settings, django_capture_on_commit_callbacks
):
    settings.VERIFY_REQUEUE_AFTER_SECONDS = 120
    token = TokenFactory.create(chain_id=settings.CHAIN_ID)
    dataset = DatasetFactory.create()
    ready_release(dataset)
    offered = license_tier_create(
        dataset=dataset, actor=dataset.owner, name="Paid", price=10, token=token, spdx_id="MIT"
    )
    orders = [purchase_create(buyer=UserFactory.create(), tier=offered) for _ in range(3)]
    with patch("payments.tasks.verify_purchase.delay"):
        for n, order in enumerate(orders):
            purchase_confirm(purchase=order, user=order.buyer, tx_hash=f"0x{n:064x}")
    lost, _live, paid = orders  # the second was checked a moment ago: left alone
    long_ago = timezone.now() - timedelta(minutes=10)
    Purchase.objects.filter(pk=lost.pk).update(checked_at=long_ago)
    Purchase.objects.filter(pk=paid.pk).update(status=PurchaseStatus.PAID, checked_at=long_ago)
    fundings = []
    with patch("payments.tasks.verify_bounty_funding.delay"):
        for n in range(2):
            found = BountyFactory.create(token=token)
            fundings.append(
                bounty_funding_submit(bounty=found, user=found.sponsor, tx_hash=f"0x{n + 7:064x}")
            )
    BountyFunding.objects.filter(pk=fundings[0].pk).update(created_at=long_ago)

    with (
        patch("payments.tasks.verify_purchase.delay") as purchase_sent,
        patch("payments.tasks.verify_bounty_funding.delay") as funding_sent,
    ):
        with django_capture_on_commit_callbacks(execute=True):
            assert purchases_requeue_confirming() == 1
            assert fundings_requeue_verifying() == 1
        # Sent again only after another silent window, not at every minute.
        with django_capture_on_commit_callbacks(execute=True):
            assert purchases_requeue_confirming() == 0
            assert fundings_requeue_verifying() == 0
    purchase_sent.assert_called_once_with(lost.pk)
    funding_sent.assert_called_once_with(fundings[0].pk)
