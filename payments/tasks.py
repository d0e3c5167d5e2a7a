from dataclasses import asdict
from typing import Any

from celery import Task, shared_task

from payments.integrations.chain import ChainError
from payments.services import siwe_nonces_purge
from payments.services.funding import bounty_funding_verify
from payments.services.payouts import payouts_create, payouts_process
from payments.services.purchases import purchase_verify, purchases_expire, purchases_scan
from payments.services.rewards import reward_epochs_compute_due
from payments.services.transfers import TransferError, transfer_error_is_transient


@shared_task(name="payments.purge_expired_nonces", soft_time_limit=60, time_limit=90)
def purge_expired_nonces() -> int:
    return siwe_nonces_purge()


@shared_task(
    name="payments.compute_reward_epochs",
    acks_late=True,
    soft_time_limit=15 * 60,
    time_limit=16 * 60,
)
def compute_reward_epochs() -> int:
    """Compute every due reward epoch (each in its own transaction; safe to run twice)."""
    return reward_epochs_compute_due()


@shared_task(
    name="payments.verify_bounty_funding",
    bind=True,
    acks_late=True,
    max_retries=None,  # bounded by FUNDING_VERIFY_TIMEOUT_SECONDS inside the service
    soft_time_limit=60,
    time_limit=90,
)
def verify_bounty_funding(self: Task[Any, Any], funding_id: int) -> str:
    """Verify a bounty's funding transaction; retried while it is unmined or unconfirmed."""
    try:
        return bounty_funding_verify(funding_id=funding_id)
    except (TransferError, ChainError) as exc:
        if transfer_error_is_transient(exc):
            countdown = min(5 * 2 ** min(self.request.retries, 5), 60)
            raise self.retry(exc=exc, countdown=countdown) from exc
        raise


@shared_task(name="payments.process_payouts", acks_late=True, soft_time_limit=240, time_limit=300)
def process_payouts() -> dict[str, object]:
    """Queue payable rewards as payouts, then settle and send (one sender at a time)."""
    created = payouts_create()
    result = payouts_process()
    return {"queued": len(created), **asdict(result)}


@shared_task(
    name="payments.verify_purchase",
    bind=True,
    acks_late=True,
    max_retries=None,  # bounded by PURCHASE_VERIFY_TIMEOUT_SECONDS inside the service
    soft_time_limit=60,
    time_limit=90,
)
def verify_purchase(self: Task[Any, Any], purchase_id: int) -> str:
    """Verify a purchase's payment; retried while it is unmined or unconfirmed."""
    try:
        return purchase_verify(purchase_id=purchase_id)
    except (TransferError, ChainError) as exc:
        if transfer_error_is_transient(exc):
            countdown = min(5 * 2 ** min(self.request.retries, 5), 60)
            raise self.retry(exc=exc, countdown=countdown) from exc
        raise


@shared_task(name="payments.scan_purchases", acks_late=True, soft_time_limit=240, time_limit=300)
def scan_purchases() -> int:
    """Grant licences paid by transfers whose hash never reached us; flag re-orged ones."""
    return purchases_scan()


@shared_task(name="payments.expire_purchases", soft_time_limit=60, time_limit=90)
def expire_purchases() -> int:
    return purchases_expire()
