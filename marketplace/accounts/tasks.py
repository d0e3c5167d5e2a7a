from celery import shared_task

from marketplace.accounts.services.auth import siwe_nonces_purge


@shared_task(name="accounts.purge_expired_nonces", soft_time_limit=60, time_limit=90)
def purge_expired_nonces() -> int:
    return siwe_nonces_purge()
