from dataclasses import asdict
from typing import Any

from celery import shared_task

from marketplace.core.retries import DATABASE_ERRORS, RetryTransient
from payments.integrations.chain import ChainError
from payments.services.funding import bounty_funding_verify, fundings_requeue_verifying
from payments.services.payouts import payouts_create, payouts_process
from payments.services.purchases import (
    purchase_verify,
    purchases_expire,
    purchases_requeue_confirming,
    purchases_scan,
)
from payments.services.rewards import reward_epochs_compute_due
from payments.services.transfers import TransferError
from payments.services.x402_settlement import x402_reconcile, x402_requeue_broadcast


@shared_task(
    name="payments.compute_reward_epochs",
    acks_late=True,
    soft_time_limit=15 * 60,
    time_limit=16 * 60,
)
def compute_reward_epochs() -> int:
    """Compute every due reward epoch (each in its own transaction; safe to run twice)."""
    return reward_epochs_compute_due()


# The payment checks retry the database's transient errors and the chain's: a transaction not
# mined or not confirmed yet, or the node unreachable. The service raises those only while they
# are transient and within its timeout (PURCHASE_ / FUNDING_VERIFY_TIMEOUT_SECONDS); anything
# final it records on the row and returns. 5 s doubling to 60 s, fully jittered: about 60
# retries cover the 30-minute timeout; 200 leave room, and the minute sweeper
# (requeue_confirming) picks up a row whose task was lost anyway.
VERIFY_TASK: dict[str, Any] = {
    "acks_late": True,
    "soft_time_limit": 60,
    "time_limit": 90,
    "base": RetryTransient,
    "autoretry_for": (*DATABASE_ERRORS, TransferError, ChainError),
    "retry_backoff": 5,
    "retry_backoff_max": 60,
    "max_retries": 200,
}


@shared_task(name="payments.verify_bounty_funding", **VERIFY_TASK)
def verify_bounty_funding(funding_id: int) -> str:
    """Verify a bounty's funding transaction; retried while it is unmined or unconfirmed."""
    return bounty_funding_verify(funding_id=funding_id)


@shared_task(
    name="payments.process_payouts",
    base=RetryTransient,
    acks_late=True,
    soft_time_limit=240,
    time_limit=300,
    max_retries=3,  # beat runs it every PAYOUT_POLL_SECONDS anyway
)
def process_payouts() -> dict[str, object]:
    """Queue payable rewards as payouts, then settle and send (one sender at a time)."""
    created = payouts_create()
    result = payouts_process()
    return {"queued": len(created), **asdict(result)}


@shared_task(name="payments.verify_purchase", **VERIFY_TASK)
def verify_purchase(purchase_id: int) -> str:
    """Verify a purchase's payment; retried while it is unmined or unconfirmed."""
    return purchase_verify(purchase_id=purchase_id)


@shared_task(name="payments.requeue_confirming", soft_time_limit=60, time_limit=90)
def requeue_confirming() -> int:
    """Beat, every minute: payments being verified whose task was lost are sent again."""
    return purchases_requeue_confirming() + fundings_requeue_verifying() + x402_requeue_broadcast()


@shared_task(name="payments.scan_purchases", acks_late=True, soft_time_limit=240, time_limit=300)
def scan_purchases() -> int:
    """Grant licenses paid by transfers whose hash never reached us; flag re-orged ones."""
    return purchases_scan()


@shared_task(name="payments.expire_purchases", soft_time_limit=60, time_limit=90)
def expire_purchases() -> int:
    return purchases_expire()


@shared_task(name="payments.reconcile_x402", **VERIFY_TASK)
def reconcile_x402(payment_id: int) -> str:
    """Finish a sent x402 settlement from its receipt; retried while it is not mined."""
    return x402_reconcile(payment_id=payment_id)
