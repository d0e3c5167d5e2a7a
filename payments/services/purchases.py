"""Buying a license on chain, exactly once, and sharing the sale.

1. ``purchase_create``: an order with the amount (base units), token, pay-to address (the
   treasury) and chain id, valid ``PURCHASE_TTL_SECONDS``.
2. The buyer's wallet pays; ``purchase_confirm`` records the hash and queues
   ``purchase_verify``, which checks the receipt and its ``Transfer`` log on our own RPC
   (token, from = buyer, to = treasury, amount, ``CHAIN_CONFIRMATIONS``, hash never credited:
   ``CreditedTransfer``'s unique key) and then, in one transaction: credits the sale to the
   ledger split three ways, records the contributors' and owner's shares as rewards (paid by
   the payout path), and grants the license with its signed receipt.
3. ``purchases_scan`` (beat) reads the ``Transfer`` logs to the treasury and matches payments
   whose hash never reached us to the buyer's open order, so closing the tab loses nothing.
   It also re-reads recent credited payments: one a re-org removed is flagged for staff.

The sale is split by ``sale_share`` (services/sales.py); staff refund with ``purchase_refund``.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.core.exceptions import NotFoundError
from marketplace.core.models import User
from marketplace.core.services import audit_log_record
from marketplace.core.staff import staff_reason_check
from payments.enums import LedgerKind, PurchaseStatus
from payments.exceptions import PurchaseError
from payments.integrations.chain import ChainClient, ChainError
from payments.models import (
    BountyFunding,
    ChainCursor,
    CreditedTransfer,
    LicenseGrant,
    LicenseTier,
    Purchase,
    Reward,
    Token,
)
from payments.services.funding import treasury_address
from payments.services.ledger import FEES, WORLD, Move, ledger_post
from payments.services.licenses import license_grant_create, ready_releases
from payments.services.payouts import hot_wallet_lock
from payments.services.sales import sale_share
from payments.services.transfers import (
    TransferError,
    VerifiedTransfer,
    transfer_attempt,
    transfer_checks_requeue,
    transfer_credit_once,
)

logger = logging.getLogger(__name__)
_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
OPEN = (PurchaseStatus.AWAITING_PAYMENT, PurchaseStatus.EXPIRED, PurchaseStatus.FAILED)
SCANNER = "purchases"
REORG_WINDOW = timedelta(hours=6)  # how far back credited payments are re-read


@transaction.atomic
def purchase_create(*, buyer: User, tier: LicenseTier) -> Purchase:
    tier = LicenseTier.objects.select_related("dataset", "token").get(pk=tier.pk)
    if not tier.is_active or not tier.dataset.is_public:
        raise PurchaseError("This license is not offered.", code="tier_unavailable")
    if tier.is_free or tier.token is None:
        raise PurchaseError("This license is free: claim it instead.", code="free_tier")
    if not tier.token.is_active:
        raise PurchaseError("This license's token is no longer accepted.", code="token_inactive")
    if not ready_releases(tier.dataset):
        raise PurchaseError(
            "This dataset has no published version to license yet.", code="no_release"
        )
    # An order of the same tier still waiting for its payment is the order: a second click (or
    # a retried request) must not make a second one the buyer might pay twice.
    open_order = (
        Purchase.objects.filter(
            buyer=buyer,
            tier=tier,
            status=PurchaseStatus.AWAITING_PAYMENT,
            expires_at__gt=timezone.now(),
            amount=tier.price,
        )
        .order_by("-created_at")
        .first()
    )
    if open_order is not None:
        return open_order
    purchase = Purchase.objects.create(
        buyer=buyer,
        tier=tier,
        dataset=tier.dataset,
        token=tier.token,
        amount=tier.price,
        pay_to=treasury_address(),
        chain_id=settings.CHAIN_ID,
        expires_at=timezone.now() + timedelta(seconds=settings.PURCHASE_TTL_SECONDS),
    )
    audit_log_record(
        action="purchase.created",
        actor=buyer,
        target=purchase,
        data={"tier": tier.pk, "amount": str(tier.price)},
    )
    return purchase


@transaction.atomic
def purchase_confirm(*, purchase: Purchase, user: User, tx_hash: str) -> Purchase:
    """The buyer says which transaction paid; it is verified on chain by a task."""
    from payments.tasks import verify_purchase

    purchase = Purchase.objects.select_for_update().get(pk=purchase.pk)
    if purchase.buyer_id != user.pk:
        raise NotFoundError("No such purchase.")
    if purchase.status not in OPEN:
        raise PurchaseError(
            "This purchase is already paid or being confirmed.",
            code="not_awaiting_payment",
            status_code=409,
        )
    tx_hash = tx_hash.strip().lower()
    if not _TX_HASH.fullmatch(tx_hash):
        raise PurchaseError(
            "That is not a transaction hash (0x and 64 hex digits).",
            code="bad_tx_hash",
            extra={"field": "tx_hash"},
        )
    if (
        CreditedTransfer.objects.filter(chain_id=purchase.chain_id, tx_hash=tx_hash).exists()
        or BountyFunding.objects.filter(chain_id=purchase.chain_id, tx_hash=tx_hash).exists()
        or Purchase.objects.filter(chain_id=purchase.chain_id, tx_hash=tx_hash)
        .exclude(pk=purchase.pk)
        .exists()
    ):
        raise _tx_already_used()
    _start_confirming(purchase, tx_hash)
    transaction.on_commit(lambda: verify_purchase.delay(purchase.pk))
    return purchase


def _tx_already_used() -> PurchaseError:
    return PurchaseError(
        "This transaction has already paid for something.",
        code="tx_already_used",
        status_code=409,
        extra={"field": "tx_hash"},
    )


def _start_confirming(purchase: Purchase, tx_hash: str) -> None:
    """Raises ``tx_already_used`` when another order took the hash since it was checked: two
    confirms of one hash at once both pass the check, and the unique key refuses the second
    once the first commits (a savepoint keeps the caller's transaction usable)."""
    purchase.tx_hash = tx_hash
    purchase.status = PurchaseStatus.CONFIRMING
    purchase.checked_at = timezone.now()
    purchase.error_code = purchase.error_detail = ""
    try:
        with transaction.atomic():
            purchase.save(
                update_fields=["tx_hash", "status", "checked_at", "error_code", "error_detail"]
            )
    except IntegrityError:
        raise _tx_already_used() from None
    audit_log_record(action="purchase.payment_submitted", target=purchase, data={"tx": tx_hash})


def purchase_verify(*, purchase_id: int, client: ChainClient | None = None) -> str:
    """Check a confirming purchase's payment once; returns its status. Transient answers are
    recorded and raised for the task to retry until ``PURCHASE_VERIFY_TIMEOUT_SECONDS``."""
    with transaction.atomic():
        outcome = _verify_locked(purchase_id, client or ChainClient.from_settings())
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _verify_locked(purchase_id: int, client: ChainClient) -> str | TransferError | ChainError:
    purchase = (
        Purchase.objects.select_for_update()
        .select_related("buyer", "token", "tier__dataset")
        .filter(pk=purchase_id)
        .first()
    )
    if purchase is None:
        raise NotFoundError("No such purchase.")
    if purchase.status != PurchaseStatus.CONFIRMING:
        return purchase.status
    check = transfer_attempt(
        purchase,
        client=client,
        timeout_seconds=settings.PURCHASE_VERIFY_TIMEOUT_SECONDS,
        token_address=purchase.token.address,
        sender=purchase.buyer.address,
        recipient=purchase.pay_to,
        min_amount=int(purchase.amount),
    )
    outcome = check.outcome
    if not isinstance(outcome, VerifiedTransfer):
        if check.retry:
            return outcome
        _fail(purchase, outcome.code, outcome.detail)
        audit_log_record(
            action="purchase.failed",
            target=purchase,
            data={"code": outcome.code, "detail": outcome.detail},
        )
        return purchase.status
    credited = transfer_credit_once(
        chain_id=purchase.chain_id,
        verified=outcome,
        token=purchase.token,
        purpose=f"purchase:{purchase.pk}",
    )
    if credited is None:
        _fail(purchase, "tx_already_used", "This transaction has already paid for something else.")
        return purchase.status
    purchase_mark_paid(purchase, outcome, credited)
    return purchase.status


def _fail(purchase: Purchase, code: str, detail: str) -> None:
    purchase.status = PurchaseStatus.FAILED
    purchase.error_code = code
    purchase.error_detail = detail[:500]
    purchase.save(update_fields=["attempts", "checked_at", "status", "error_code", "error_detail"])


def purchase_mark_paid(
    purchase: Purchase, verified: VerifiedTransfer, credited: CreditedTransfer
) -> None:
    """A verified payment completes its purchase: the sale is shared and the license granted
    (inside the transaction that credited it). Orders and x402 payments both end here (an
    x402 payment's purchase comes unsaved: it is first saved here, already paid)."""
    purchase.status = PurchaseStatus.PAID
    purchase.credited = credited
    purchase.confirmations = verified.confirmations
    purchase.paid_at = timezone.now()
    purchase.error_code = purchase.error_detail = ""
    purchase.save()
    sale_share(purchase=purchase, received=verified.amount)
    license_grant_create(buyer=purchase.buyer, tier=purchase.tier, purchase=purchase)
    audit_log_record(
        action="purchase.paid",
        target=purchase,
        data={"tx": verified.tx_hash, "amount": str(verified.amount)},
    )


def purchases_scan(*, client: ChainClient | None = None) -> int:
    """Match transfers to the treasury whose hash never reached us to open orders (the buyer
    closed the tab), then re-read recent credited payments for re-orgs. Returns matches."""
    client = client or ChainClient.from_settings()
    treasury = treasury_address()
    head = client.block_number()
    safe = head - int(settings.CHAIN_CONFIRMATIONS) + 1
    cursor, _ = ChainCursor.objects.get_or_create(
        name=SCANNER, defaults={"block": max(settings.CHAIN_SCAN_FROM_BLOCK - 1, 0)}
    )
    matched = 0
    if safe > cursor.block:
        tokens = Token.objects.filter(
            pk__in=Purchase.objects.filter(status__in=OPEN).values("token")
        )
        for token in tokens:
            logs = client.transfer_logs(
                token_address=token.address,
                to_address=treasury,
                from_block=cursor.block + 1,
                to_block=safe,
            )
            for log in logs:
                matched += _match(log.tx_hash, log.from_address, log.value, token)
        ChainCursor.objects.filter(pk=cursor.pk).update(block=safe, updated_at=timezone.now())
    _reorg_check(client)
    return matched


def _match(tx_hash: str, sender: str, value: int, token: Token) -> int:
    chain_id = settings.CHAIN_ID
    with transaction.atomic():
        if (
            CreditedTransfer.objects.filter(chain_id=chain_id, tx_hash=tx_hash).exists()
            or Purchase.objects.filter(chain_id=chain_id, tx_hash=tx_hash).exists()
            or BountyFunding.objects.filter(chain_id=chain_id, tx_hash=tx_hash).exists()
        ):
            return 0
        purchase = (
            Purchase.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=OPEN,
                token=token,
                buyer__address__iexact=sender,
                amount__lte=value,
            )
            .order_by("created_at")
            .first()
        )
        if purchase is None:
            return 0
        try:
            _start_confirming(purchase, tx_hash)
        except PurchaseError:
            return 0  # the buyer confirmed this hash on another order meanwhile
    try:
        purchase_verify(purchase_id=purchase.pk)
    except (TransferError, ChainError) as exc:
        logger.info("scanned purchase %s not verified yet: %s", purchase.pk, exc.detail)
    return 1


def _reorg_check(client: ChainClient) -> None:
    """A credited payment whose transaction left the chain (or moved to another block) is
    flagged for staff; the license stays until they decide (revoke, or nothing)."""
    since = timezone.now() - REORG_WINDOW
    recent = Purchase.objects.filter(
        status=PurchaseStatus.PAID, paid_at__gte=since, flagged=""
    ).select_related("credited")
    for purchase in recent:
        credited = purchase.credited
        if credited is None:
            continue
        receipt = client.transfer_receipt(credited.tx_hash)
        if receipt is not None and receipt.succeeded and receipt.block_hash == credited.block_hash:
            continue
        reason = (
            "The payment is no longer on the chain (re-org)."
            if receipt is None
            else "The payment moved to another block (re-org): check it."
        )
        Purchase.objects.filter(pk=purchase.pk).update(flagged=reason)
        audit_log_record(action="purchase.flagged", target=purchase, data={"reason": reason})


def purchases_requeue_confirming() -> int:
    """Beat: send the check again for payments whose task was lost."""
    from payments.tasks import verify_purchase

    return transfer_checks_requeue(
        Purchase.objects.filter(status=PurchaseStatus.CONFIRMING), verify_purchase.delay
    )


def purchases_expire() -> int:
    """Orders nobody paid in time are expired (a late payment is still matched by the scan)."""
    return Purchase.objects.filter(
        status=PurchaseStatus.AWAITING_PAYMENT, expires_at__lt=timezone.now()
    ).update(status=PurchaseStatus.EXPIRED)


@transaction.atomic
def purchase_refund(*, purchase: Purchase, actor: User, reason: str) -> Purchase:
    """Staff refund a paid purchase: the price goes back to the buyer's wallet on chain from
    the hot wallet, the license is revoked, and the sale is reversed in the ledger (the shares
    not yet paid out are taken back; what was paid out is covered by the platform's fees)."""
    from payments.services.licenses import license_grant_revoke
    from payments.services.rewards import reward_reverse_silently

    staff_reason_check(
        actor=actor, reason=reason, denied="Only staff refund purchases.", error=PurchaseError
    )
    purchase = (
        Purchase.objects.select_for_update().select_related("buyer", "token").get(pk=purchase.pk)
    )
    if purchase.status != PurchaseStatus.PAID or purchase.refunded_at is not None:
        raise PurchaseError("Only a paid purchase can be refunded, once.", code="not_refundable")
    amount = int(purchase.credited.amount) if purchase.credited else int(purchase.amount)
    # Shares not yet in a payout go back to the platform; paid ones are the platform's cost.
    for reward in Reward.objects.filter(purchase=purchase):
        reward_reverse_silently(reward=reward, actor=actor, reason=f"refund: {reason}")
    purchase.refunded_at = timezone.now()
    ledger_post(
        kind=LedgerKind.REFUND,
        token=purchase.token,
        moves=[Move(FEES, WORLD, amount)],
        idempotency_key=f"refund:{purchase.pk}",
        memo=reason,
        actor=actor,
    )
    grant = LicenseGrant.objects.filter(purchase=purchase).first()
    if grant is not None:
        license_grant_revoke(grant=grant, actor=actor, reason=f"refunded: {reason}")
    # Last, so nothing after it can fail and roll the books back once the tokens left; sent
    # under the hot wallet's lock so it never races a payout for a nonce.
    with hot_wallet_lock(wait=True):
        client = ChainClient.from_settings().with_token(purchase.token.address)
        purchase.refund_tx_hash = client.token_transfer(
            private_key=settings.HOT_WALLET_PRIVATE_KEY,
            to=purchase.buyer.address,
            amount=amount,
        )
    purchase.save(update_fields=["refunded_at", "refund_tx_hash"])
    audit_log_record(
        action="purchase.refunded",
        actor=actor,
        target=purchase,
        data={"amount": str(amount), "tx": purchase.refund_tx_hash, "reason": reason},
    )
    return purchase
