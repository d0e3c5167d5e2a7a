"""Payouts: payable rewards grouped per user and token, paid from the hot wallet, exactly once.

The rules that make it exactly once:

* a reward joins at most one payout (``Reward.payout`` is a foreign key, set under row locks);
* only one process sends from the hot wallet at a time (a PostgreSQL advisory lock), and it
  picks nonces itself: the next after both the node's pending count and every nonce it ever
  recorded;
* a transaction is signed, and its nonce, hash and raw bytes are committed, *before* it is
  broadcast. A process killed after that commit is harmless: the next pass finds the hash
  unknown to the node and broadcasts the same bytes again. One nonce is mined at most once,
  so the user is paid at most once;
* a transaction not mined after ``PAYOUT_STUCK_SECONDS`` is replaced: same nonce, fees raised
  by ``PAYOUT_FEE_BUMP_PERCENT``. Every hash ever sent is kept; whichever is mined settles it;
* ``CHAIN_CONFIRMATIONS`` blocks confirm it; a reverted transaction fails it and gives the
  amount back to the user's balance (staff can retry it, with a new nonce).

Ledger: queueing moves the amount from the user's account to ``payouts:pending``; a
confirmation moves it to ``world``; a failure moves it back to the user.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from marketplace.core.models import User
from marketplace.core.services import audit_log_record
from marketplace.core.staff import staff_reason_check
from payments.enums import LedgerKind, PayoutStatus, RewardStatus
from payments.exceptions import PayoutError
from payments.integrations.chain import ChainClient, ChainError, ReceiptInfo
from payments.models import Payout, PayoutControl, Reward, Token, X402Payment
from payments.services.ledger import PAYOUTS_PENDING, WORLD, Move, ledger_post, user_code

logger = logging.getLogger(__name__)

# pg advisory lock key for "sending from the hot wallet" (any constant unique in this app).
HOT_WALLET_LOCK = 0x0DB7_0001


def payout_control() -> PayoutControl:
    control, _ = PayoutControl.objects.get_or_create(pk=1)
    return control


@transaction.atomic
def payouts_set_paused(*, actor: User, paused: bool, reason: str) -> PayoutControl:
    """The staff switch. While paused, nothing is queued or sent; confirmations continue."""
    reason = staff_reason_check(
        actor=actor, reason=reason, denied="Only staff pause payouts.", error=PayoutError
    )
    control = PayoutControl.objects.select_for_update().get(pk=payout_control().pk)
    control.paused = paused
    control.reason = reason[:255]
    control.changed_by = actor
    control.save()
    audit_log_record(
        action="payouts.paused" if paused else "payouts.resumed",
        actor=actor,
        data={"reason": control.reason},
    )
    return control


@transaction.atomic
def payouts_create() -> list[Payout]:
    """Group every payable reward (earned, not in a payout) per user and token into a queued
    payout, when the sum reaches ``PAYOUT_MINIMUM``. Safe to run at once: rewards are locked."""
    if payout_control().paused:
        return []
    rewards = list(
        Reward.objects.select_for_update(of=("self",))
        .filter(status=RewardStatus.EARNED, payout__isnull=True)
        .select_related("user")
        .order_by("pk")
    )
    groups: dict[tuple[int, int], list[Reward]] = defaultdict(list)
    for reward in rewards:
        if reward.payable_amount > 0 and reward.user.is_active:
            groups[(reward.user_id, reward.token_id)].append(reward)
    created = []
    for (_, token_id), group in sorted(groups.items()):
        amount = sum(r.payable_amount for r in group)
        if amount < settings.PAYOUT_MINIMUM:
            continue
        user = group[0].user
        payout = Payout.objects.create(
            user=user, token_id=token_id, to_address=user.address, amount=amount
        )
        Reward.objects.filter(pk__in=[r.pk for r in group]).update(payout=payout)
        ledger_post(
            kind=LedgerKind.PAYOUT,
            token=payout.token,
            moves=[Move(user_code(user), PAYOUTS_PENDING, amount)],
            idempotency_key=f"payout:{payout.pk}:queued",
            memo=f"payout {payout.pk} queued",
        )
        created.append(payout)
    return created


@contextmanager
def hot_wallet_lock(*, wait: bool = False) -> Iterator[bool]:
    """Whether this process holds the hot wallet: a session advisory lock, tried (payout
    passes skip when another process sends) or waited for (a staff refund)."""
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s), true", [HOT_WALLET_LOCK])
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [HOT_WALLET_LOCK])
        row = cursor.fetchone()
        held = bool(row[-1]) if row else False
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [HOT_WALLET_LOCK])


@dataclass
class PayoutPass:
    skipped: bool = False  # another process holds the hot wallet
    sent: list[int] = field(default_factory=list)
    rebroadcast: list[int] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)
    confirmed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def _hot_wallet() -> tuple[str, str]:
    key = settings.HOT_WALLET_PRIVATE_KEY
    if not key:
        raise PayoutError(
            "No hot wallet is configured (HOT_WALLET_PRIVATE_KEY).",
            code="no_hot_wallet",
            status_code=503,
        )
    return key, ChainClient.address_for_key(key)


def payouts_process(*, client: ChainClient | None = None, limit: int | None = None) -> PayoutPass:
    """One pass: settle or re-send what was sent, then send what is queued (unless paused).
    A second process running at the same time skips the pass instead of waiting."""
    result = PayoutPass()
    with hot_wallet_lock() as held:
        if not held:
            result.skipped = True
            return result
        key, address = _hot_wallet()
        client = client or ChainClient.from_settings()
        sent = Payout.objects.filter(status=PayoutStatus.SENT).order_by("nonce")
        sent_ids = list(sent.values_list("pk", flat=True))
        if sent_ids:
            head = client.block_number()  # once per pass: confirmations are counted against it
            for payout_id in sent_ids:
                _reconcile(payout_id, client, key, result, head)
        if payout_control().paused:
            return result
        queued = Payout.objects.filter(status=PayoutStatus.QUEUED).order_by("pk")
        batch = limit or settings.PAYOUT_BATCH_SIZE
        queued_ids = list(queued.values_list("pk", flat=True)[:batch])
        if queued_ids:
            # Read once per pass: we hold the hot wallet, so nonces simply count up from here.
            fees = client.eip1559_fees()
            nonce = hot_wallet_next_nonce(client, address)
            for payout_id in queued_ids:
                if _send(payout_id, client, key, address, result, nonce=nonce, fees=fees):
                    nonce += 1
    return result


def hot_wallet_address() -> str:
    return _hot_wallet()[1]


def hot_wallet_next_nonce(client: ChainClient, address: str) -> int:
    """The hot wallet's next nonce (hold ``hot_wallet_lock``): past every nonce the node knows
    and every one recorded for a payout or an x402 settlement, sent or not."""
    recorded = [
        Payout.objects.filter(from_address=address).aggregate(n=Max("nonce"))["n"],
        X402Payment.objects.filter(from_address=address).aggregate(n=Max("tx_nonce"))["n"],
    ]
    node = client.transaction_count(address, pending=True)
    return max([node, *(int(n) + 1 for n in recorded if n is not None)])


def _attempt(payout: Payout, tx_hash: str, kind: str) -> None:
    payout.attempts = [
        *payout.attempts,
        {
            "hash": tx_hash,
            "nonce": payout.nonce,
            "max_fee_per_gas": str(payout.max_fee_per_gas),
            "max_priority_fee_per_gas": str(payout.max_priority_fee_per_gas),
            "kind": kind,
            "at": timezone.now().isoformat(),
        },
    ]


def _send(
    payout_id: int,
    client: ChainClient,
    key: str,
    address: str,
    result: PayoutPass,
    *,
    nonce: int,
    fees: tuple[int, int],
) -> bool:
    """Sign, record (commit), then broadcast one payout; whether ``nonce`` was used."""
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update().select_related("token").filter(pk=payout_id).first()
        )
        if payout is None or payout.status != PayoutStatus.QUEUED:
            return False
        token_client = client.with_token(payout.token.address)
        max_fee, priority = fees
        try:
            signed = token_client.token_transfer_sign(
                private_key=key,
                to=payout.to_address,
                amount=int(payout.amount),
                nonce=nonce,
                max_fee_per_gas=max_fee,
                max_priority_fee_per_gas=priority,
            )
        except ChainError as exc:
            # Nothing was sent: say why, and stay queued for the next pass.
            payout.error = exc.detail[:500]
            payout.save(update_fields=["error"])
            logger.warning("payout %s not signed: %s", payout.pk, exc.detail)
            return False
        payout.status = PayoutStatus.SENT
        payout.from_address = address
        payout.nonce = signed.nonce
        payout.tx_hash = signed.tx_hash
        payout.raw_tx = signed.raw
        payout.max_fee_per_gas = max_fee
        payout.max_priority_fee_per_gas = priority
        payout.sent_at = timezone.now()
        payout.error = ""
        _attempt(payout, signed.tx_hash, "first")
        payout.save()
    # Committed: from here on a crash is repaired by re-broadcasting these same bytes.
    _broadcast(client, payout.pk, payout.raw_tx)
    result.sent.append(payout.pk)
    return True


def _broadcast(client: ChainClient, payout_id: int, raw: str) -> None:
    try:
        client.broadcast(raw)
    except ChainError as exc:
        # The node is down, or the nonce is already mined (perhaps by this very transaction):
        # the next pass reconciles from the chain instead of guessing here.
        logger.warning("payout %s broadcast: %s", payout_id, exc.detail)


def _mined(client: ChainClient, payout: Payout) -> ReceiptInfo | None:
    for attempt in reversed(payout.attempts):
        receipt = client.receipt(attempt["hash"])
        if receipt is not None:
            return receipt
    return None


def _reconcile(
    payout_id: int, client: ChainClient, key: str, result: PayoutPass, head: int
) -> None:
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update().select_related("token").filter(pk=payout_id).first()
        )
        if payout is None or payout.status != PayoutStatus.SENT or payout.nonce is None:
            return
        receipt = _mined(client, payout)
        if receipt is None and client.transaction_count(payout.from_address) > payout.nonce:
            receipt = _mined(client, payout)  # mined between the two reads?
            if receipt is None:
                _fail(payout, "Its nonce was used by another transaction of the hot wallet.")
                result.failed.append(payout.pk)
                return
        if receipt is not None:
            if head - receipt.block_number + 1 < settings.CHAIN_CONFIRMATIONS:
                return  # mined; waiting for confirmations
            if receipt.succeeded:
                _confirm(payout, receipt)
                result.confirmed.append(payout.pk)
            else:
                _fail(payout, "The transfer reverted on chain (is the hot wallet funded?).")
                result.failed.append(payout.pk)
            return
        if not client.transaction_known(payout.tx_hash):
            raw = payout.raw_tx
            rebroadcast = True
        elif (timezone.now() - _last_attempt_at(payout)).total_seconds() > (
            settings.PAYOUT_STUCK_SECONDS
        ):
            raw = _replace(payout, client, key)
            rebroadcast = False
        else:
            return
    # After the commit, like the first send.
    _broadcast(client, payout_id, raw)
    (result.rebroadcast if rebroadcast else result.replaced).append(payout_id)


def _last_attempt_at(payout: Payout) -> datetime:
    if payout.attempts:
        return datetime.fromisoformat(payout.attempts[-1]["at"])
    return payout.sent_at or timezone.now()


def _replace(payout: Payout, client: ChainClient, key: str) -> str:
    """Sign the same transfer with the same nonce and higher fees; record it (the caller
    commits before broadcasting)."""
    bump = 100 + settings.PAYOUT_FEE_BUMP_PERCENT
    suggested_max, suggested_priority = client.eip1559_fees()
    priority = max(int(payout.max_priority_fee_per_gas or 0) * bump // 100 + 1, suggested_priority)
    max_fee = max(int(payout.max_fee_per_gas or 0) * bump // 100 + 1, suggested_max, priority)
    signed = client.with_token(payout.token.address).token_transfer_sign(
        private_key=key,
        to=payout.to_address,
        amount=int(payout.amount),
        nonce=int(payout.nonce or 0),  # a sent payout always has its nonce
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=priority,
    )
    payout.tx_hash = signed.tx_hash
    payout.raw_tx = signed.raw
    payout.max_fee_per_gas = max_fee
    payout.max_priority_fee_per_gas = priority
    _attempt(payout, signed.tx_hash, "replacement")
    payout.save(
        update_fields=[
            "tx_hash",
            "raw_tx",
            "max_fee_per_gas",
            "max_priority_fee_per_gas",
            "attempts",
        ]
    )
    return signed.raw


def _confirm(payout: Payout, receipt: ReceiptInfo) -> None:
    payout.status = PayoutStatus.CONFIRMED
    payout.mined_hash = receipt.tx_hash
    payout.block_number = receipt.block_number
    payout.confirmed_at = timezone.now()
    payout.save(update_fields=["status", "mined_hash", "block_number", "confirmed_at"])
    Reward.objects.filter(payout=payout).update(status=RewardStatus.PAID)
    ledger_post(
        kind=LedgerKind.PAYOUT,
        token=payout.token,
        moves=[Move(PAYOUTS_PENDING, WORLD, int(payout.amount))],
        idempotency_key=f"payout:{payout.pk}:confirmed",
        memo=f"payout {payout.pk} confirmed in {receipt.tx_hash}",
    )
    audit_log_record(
        action="payout.confirmed",
        target=payout,
        data={"tx_hash": receipt.tx_hash, "amount": str(payout.amount)},
    )


def _fail(payout: Payout, reason: str) -> None:
    payout.status = PayoutStatus.FAILED
    payout.error = reason
    payout.save(update_fields=["status", "error"])
    ledger_post(
        kind=LedgerKind.PAYOUT_RETURN,
        token=payout.token,
        moves=[Move(PAYOUTS_PENDING, user_code(payout.user_id), int(payout.amount))],
        idempotency_key=f"payout:{payout.pk}:failed:{payout.nonce}",
        memo=reason,
    )
    audit_log_record(action="payout.failed", target=payout, data={"reason": reason})


@transaction.atomic
def payout_retry(*, payout: Payout, actor: User, reason: str) -> Payout:
    """Staff queue a failed payout again, with a reason; it gets a new nonce on the next pass."""
    reason = staff_reason_check(
        actor=actor, reason=reason, denied="Only staff retry payouts.", error=PayoutError
    )
    payout = Payout.objects.select_for_update().select_related("token").get(pk=payout.pk)
    if payout.status != PayoutStatus.FAILED:
        raise PayoutError("Only a failed payout can be retried.", code="not_failed")
    failed_nonce = payout.nonce
    payout.status = PayoutStatus.QUEUED
    payout.nonce = None
    payout.tx_hash = payout.raw_tx = ""
    payout.save(update_fields=["status", "nonce", "tx_hash", "raw_tx"])
    ledger_post(
        kind=LedgerKind.PAYOUT,
        token=payout.token,
        moves=[Move(user_code(payout.user_id), PAYOUTS_PENDING, int(payout.amount))],
        idempotency_key=f"payout:{payout.pk}:requeued:{failed_nonce}",
        memo=reason,
        actor=actor,
    )
    audit_log_record(action="payout.retried", actor=actor, target=payout, data={"reason": reason})
    return payout


def payout_token_balance(*, token: Token, client: ChainClient | None = None) -> int:
    """What the treasury (and the hot wallet, when it is another address) hold of ``token``."""
    from payments.services.funding import treasury_address

    client = (client or ChainClient.from_settings()).with_token(token.address)
    addresses = {treasury_address()}
    if settings.HOT_WALLET_PRIVATE_KEY:
        addresses.add(ChainClient.address_for_key(settings.HOT_WALLET_PRIVATE_KEY))
    return sum(client.token_balance(address) for address in addresses)
