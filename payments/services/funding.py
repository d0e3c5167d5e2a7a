"""Funding a bounty on chain: the sponsor's wallet sends the pool to the treasury with an
ERC-20 ``transfer``, the page submits the hash, and a task verifies it on our own node before
the bounty opens.

What is verified (``erc20_transfer_verify``): the receipt succeeded; a ``Transfer`` log of the
bounty's token, from the sponsor, to the treasury, for at least the pool; ``CHAIN_CONFIRMATIONS``
blocks; and the hash was never credited before (``CreditedTransfer``'s unique key, shared with
purchases, in the same transaction that credits the ledger).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.core.exceptions import NotFoundError, PermissionDeniedError
from marketplace.core.models import User
from marketplace.core.policy import is_owner
from marketplace.core.services import audit_log_record
from payments.enums import BountyStatus, FundingStatus
from payments.exceptions import BountyError
from payments.integrations.chain import ChainClient, ChainError
from payments.models import Bounty, BountyFunding, CreditedTransfer
from payments.services.bounties import bounty_funding_credit
from payments.services.transfers import (
    TransferError,
    VerifiedTransfer,
    transfer_attempt,
    transfer_checks_requeue,
    transfer_credit_once,
)

_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


def treasury_address() -> str:
    """Where sponsors and buyers pay: ``TREASURY_ADDRESS``, or the hot wallet's address."""
    if settings.TREASURY_ADDRESS:
        return str(settings.TREASURY_ADDRESS)
    if settings.HOT_WALLET_PRIVATE_KEY:
        return ChainClient.address_for_key(settings.HOT_WALLET_PRIVATE_KEY)
    raise ChainError(
        "No treasury is configured (TREASURY_ADDRESS or HOT_WALLET_PRIVATE_KEY).",
        code="no_treasury",
        status_code=503,
    )


@transaction.atomic
def bounty_funding_submit(*, bounty: Bounty, user: User, tx_hash: str) -> BountyFunding:
    """Record the sponsor's funding transaction and queue its verification."""
    from payments.tasks import verify_bounty_funding

    bounty = Bounty.objects.select_for_update().get(pk=bounty.pk)
    if not is_owner(user, bounty.sponsor_id):
        raise PermissionDeniedError("Only the bounty's sponsor funds it.")
    if bounty.status not in (BountyStatus.AWAITING_FUNDING, BountyStatus.VERIFYING):
        raise BountyError("This bounty is already funded.", code="already_funded")
    tx_hash = tx_hash.strip().lower()
    if not _TX_HASH.fullmatch(tx_hash):
        raise BountyError(
            "That is not a transaction hash (0x and 64 hex digits).",
            code="bad_tx_hash",
            extra={"field": "tx_hash"},
        )
    if bounty.fundings.filter(status=FundingStatus.VERIFYING).exists():
        raise BountyError(
            "A funding transaction is already being verified.", code="funding_in_progress"
        )
    chain_id = int(settings.CHAIN_ID)
    if CreditedTransfer.objects.filter(chain_id=chain_id, tx_hash=tx_hash).exists():
        raise BountyError(
            "This transaction has already paid for something.",
            code="tx_already_used",
            status_code=409,
            extra={"field": "tx_hash"},
        )
    try:
        with transaction.atomic():
            funding = BountyFunding.objects.create(
                bounty=bounty, chain_id=chain_id, tx_hash=tx_hash
            )
    except IntegrityError:
        raise BountyError(
            "This transaction was already submitted.",
            code="tx_already_used",
            status_code=409,
            extra={"field": "tx_hash"},
        ) from None
    bounty.status = BountyStatus.VERIFYING
    bounty.save(update_fields=["status", "updated_at"])
    audit_log_record(
        action="bounty.funding_submitted", actor=user, target=bounty, data={"tx_hash": tx_hash}
    )
    transaction.on_commit(lambda: verify_bounty_funding.delay(funding.pk))
    return funding


def _refuse(funding: BountyFunding, error: TransferError | ChainError) -> None:
    funding.status = FundingStatus.REFUSED
    funding.error_code = error.code
    funding.error_detail = error.detail[:500]
    funding.save(update_fields=["status", "error_code", "error_detail", "checked_at", "attempts"])
    Bounty.objects.filter(pk=funding.bounty_id, status=BountyStatus.VERIFYING).update(
        status=BountyStatus.AWAITING_FUNDING, updated_at=timezone.now()
    )
    audit_log_record(
        action="bounty.funding_refused",
        target=funding.bounty,
        data={"tx_hash": funding.tx_hash, "code": error.code, "detail": error.detail},
    )


def _credit(funding: BountyFunding, verified: VerifiedTransfer) -> None:
    bounty = funding.bounty
    credited = transfer_credit_once(
        chain_id=funding.chain_id,
        verified=verified,
        token=bounty.token,
        purpose=f"bounty:{bounty.pk}",
    )
    if credited is None:
        _refuse(
            funding,
            TransferError(
                "This transaction has already paid for something else.", code="tx_already_used"
            ),
        )
        return
    funding.status = FundingStatus.VERIFIED
    funding.credited = credited
    funding.confirmations = verified.confirmations
    funding.save(update_fields=["status", "credited", "confirmations", "checked_at", "attempts"])
    bounty_funding_credit(
        bounty=bounty,
        amount=verified.amount,
        reference=f"{funding.chain_id}:{verified.tx_hash}:{verified.log_index}",
    )


def bounty_funding_verify(*, funding_id: int, client: ChainClient | None = None) -> str:
    """Check a submitted funding transaction once; returns its status afterwards.

    A transient answer (not mined, too few confirmations, node unreachable) is recorded and
    raised again for the task to retry, until ``FUNDING_VERIFY_TIMEOUT_SECONDS`` after
    submission, when the funding is refused. Safe to run twice and at once: the row is locked
    and its status checked.
    """
    with transaction.atomic():
        outcome = _verify_locked(funding_id, client or ChainClient.from_settings())
    if isinstance(outcome, Exception):
        raise outcome  # after the commit: the attempt and what it saw are kept
    return outcome


def fundings_requeue_verifying() -> int:
    """Beat: send the check again for funding transactions whose task was lost."""
    from payments.tasks import verify_bounty_funding

    return transfer_checks_requeue(
        BountyFunding.objects.filter(status=FundingStatus.VERIFYING), verify_bounty_funding.delay
    )


def _verify_locked(funding_id: int, client: ChainClient) -> str | TransferError | ChainError:
    funding = (
        BountyFunding.objects.select_for_update()
        .select_related("bounty__token", "bounty__sponsor")
        .filter(pk=funding_id)
        .first()
    )
    if funding is None:
        raise NotFoundError("No such funding.")
    if funding.status != FundingStatus.VERIFYING:
        return funding.status
    bounty = funding.bounty
    check = transfer_attempt(
        funding,
        client=client,
        timeout_seconds=settings.FUNDING_VERIFY_TIMEOUT_SECONDS,
        token_address=bounty.token.address,
        sender=bounty.sponsor.address,
        recipient=treasury_address(),
        min_amount=int(bounty.pool_amount),
    )
    outcome = check.outcome
    if not isinstance(outcome, VerifiedTransfer):
        if check.retry:
            return outcome
        _refuse(funding, outcome)
        return funding.status
    _credit(funding, outcome)
    return funding.status
