from celery import shared_task

from payments.services import siwe_nonces_purge
from payments.services.rewards import reward_epochs_compute_due


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
