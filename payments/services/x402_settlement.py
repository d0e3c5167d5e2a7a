"""Settling an x402 payment exactly once, and selling the license it pays for.

``x402_pay`` takes the ``PAYMENT-SIGNATURE`` header of a request for a priced release:

1. The payload must match what the release costs now (the official server's matching), and
   its EIP-3009 authorization is claimed as a row (unique per chain, token, payer and nonce).
   Everything after that runs under a lock per payer and dataset, so the same authorization
   sent twice, or two authorizations for two files of one dataset at once, settle once: the
   second finds the license the first bought and pays nothing.
2. The facilitator verifies it (signature, amount, recipient, token, validity window, nonce
   unused on chain, balance, a simulated transfer), then settles it: our signer signs the
   ``transferWithAuthorization`` at a hot-wallet nonce, the row records nonce, hash and raw
   bytes and commits, and only then is it broadcast (the payout rule).
3. The receipt decides: reverted, nothing is granted; mined, the Transfer log is verified and
   credited once, and an ordinary ``Purchase`` is recorded and completed by
   ``purchase_mark_paid`` (sale split, ledger, rewards, license with its EIP-712 receipt), for
   the payer's address. Unknown (the node is slow or down): the request answers 409
   ``settlement_pending`` and ``x402_reconcile`` (a task with backoff, and the minute sweeper)
   finishes it from the chain, re-broadcasting the recorded bytes if the node lost them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from x402.http import decode_payment_signature_header, encode_payment_response_header
from x402.mechanisms.evm.types import ExactEIP3009Payload
from x402.schemas import PaymentPayload, SettleResponse

from marketplace.accounts.services.api_tokens import api_token_issue_short_lived
from marketplace.accounts.services.auth import user_for_address
from marketplace.core.addresses import InvalidAddressError, normalize_address
from marketplace.core.exceptions import ApplicationError, PermissionDeniedError
from marketplace.core.models import User
from marketplace.core.services import audit_log_record
from payments.enums import X402Status
from payments.integrations.chain import ChainClient, ChainError
from payments.integrations.x402_signer import Sender, SignedCall
from payments.models import Purchase, X402Payment
from payments.services.downloads import license_for
from payments.services.payouts import hot_wallet_address, hot_wallet_lock, hot_wallet_next_nonce
from payments.services.purchases import purchase_mark_paid
from payments.services.transfers import (
    TransferError,
    erc20_transfer_verify,
    transfer_checks_requeue,
    transfer_credit_once,
)
from payments.services.x402 import X402_VERSION, X402Offer, resource_server

logger = logging.getLogger(__name__)
DOWNLOAD_TOKEN_NAME = "x402 download"  # noqa: S105 - a token's display name
RETRY_AFTER_SECONDS = 3


class X402Error(ApplicationError, code="payment_invalid", status_code=402):
    """A payment that does not pay (yet). 402 with a fresh ``PAYMENT-REQUIRED`` for what the
    payer can fix by paying again; 409 ``settlement_pending`` while the chain has not said."""


@dataclass(frozen=True)
class X402Paid:
    """A request the payer may now be served: as whom, and what the response carries."""

    user: User
    payment_response: str | None  # the PAYMENT-RESPONSE header (None: nothing was settled)
    download_token: str
    download_token_expires: datetime


# --- the request ------------------------------------------------------------------------------


def _decode(header: str) -> tuple[PaymentPayload, ExactEIP3009Payload]:
    try:
        payload = decode_payment_signature_header(header)
    except Exception:  # base64, JSON and pydantic each raise their own
        raise X402Error(
            "The PAYMENT-SIGNATURE header is not an x402 payment payload.", code="invalid_payment"
        ) from None
    if not isinstance(payload, PaymentPayload) or payload.x402_version != X402_VERSION:
        raise X402Error("Only x402 version 2 payments are taken.", code="unsupported_version")
    try:
        evm = ExactEIP3009Payload.from_dict(payload.payload)
    except Exception:
        raise X402Error(
            "The payment is not an EIP-3009 authorization.", code="invalid_payment"
        ) from None
    return payload, evm


def _lock_key(payer: str, dataset_id: int) -> int:
    digest = hashlib.blake2b(f"x402:{payer.lower()}:{dataset_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def x402_pay(*, header: str, offer: X402Offer, url: str) -> X402Paid:
    """Settle the payment in ``header`` for ``offer`` (see the module doc), or raise
    ``X402Error``. Returns the payer's license as a short-lived download token."""
    payload, evm = _decode(header)
    server = resource_server(None)
    if server.find_matching_requirements([offer.requirements], payload) is None:
        raise X402Error(
            "This payment is not for what this file costs now: ask again and pay that.",
            code="payment_mismatch",
        )
    try:
        payer = normalize_address(evm.authorization.from_address)
    except InvalidAddressError:
        raise X402Error(
            "The authorization's payer is not an address.", code="invalid_payment"
        ) from None
    key = _lock_key(payer, offer.tier.dataset_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        payment, user = _pay_locked(payload, evm, payer, offer, url)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    return _served(payment, offer, user or _payer(payer))


def _pay_locked(
    payload: PaymentPayload, evm: ExactEIP3009Payload, payer: str, offer: X402Offer, url: str
) -> tuple[X402Payment, User | None]:
    """The payment, and the payer's account when this request already loaded it."""
    payment = _claim(payload, evm, payer, offer, url)
    if payment.status == X402Status.SETTLED:
        return payment, None
    if payment.status == X402Status.FAILED:
        raise X402Error(payment.error_detail, code=payment.error_code or "settlement_failed")
    # Another authorization of this payer for this dataset still on its way: finish that one
    # first, so a client that lost its answer and signs again does not pay twice.
    earlier = (
        X402Payment.objects.filter(payer=payer, tier__dataset=offer.tier.dataset_id)
        .filter(status=X402Status.BROADCAST)
        .exclude(pk=payment.pk)
        .first()
    )
    if earlier is not None:
        _reconcile_unlocked(earlier)
    if payment.status == X402Status.BROADCAST:
        return _reconcile_unlocked(payment), None
    return _verify_and_settle(payment, payload, offer)


def _claim(
    payload: PaymentPayload, evm: ExactEIP3009Payload, payer: str, offer: X402Offer, url: str
) -> X402Payment:
    auth = evm.authorization
    tier = offer.tier
    assert tier.token is not None  # noqa: S101 - offers are priced tiers
    try:
        values = {
            "amount": int(auth.value),
            "valid_after": int(auth.valid_after),
            "valid_before": int(auth.valid_before),
        }
    except (TypeError, ValueError):
        raise X402Error(
            "The authorization's numbers are not integers.", code="invalid_payment"
        ) from None
    nonce = str(auth.nonce).lower()
    if len(nonce) != 66 or not nonce.startswith("0x"):
        raise X402Error("The authorization's nonce is not 32 bytes.", code="invalid_payment")
    if values["amount"] <= 0:
        raise X402Error("The authorization moves nothing.", code="invalid_payment")
    key = {"chain_id": settings.CHAIN_ID, "token": tier.token, "payer": payer, "auth_nonce": nonce}
    try:  # get_or_create inserts in its own atomic block: a failed insert leaves no trace
        payment, _ = X402Payment.objects.get_or_create(
            **key,
            defaults={
                **values,
                "tier": tier,
                "pay_to": offer.requirements.pay_to,
                "payload": payload.model_dump(mode="json", by_alias=True),
                "requirements": offer.requirements.model_dump(mode="json", by_alias=True),
                "resource": url[:500],
            },
        )
    except IntegrityError:  # a constraint check, not the key: get_or_create handles that race
        raise X402Error("This payment cannot be recorded.", code="invalid_payment") from None
    if payment.tier_id != tier.pk:
        raise X402Error(
            "This authorization already paid for something else: sign a new one.",
            code="authorization_used",
        )
    return payment


def _verify_and_settle(
    payment: X402Payment, payload: PaymentPayload, offer: X402Offer
) -> tuple[X402Payment, User]:
    server = resource_server(_sender(payment))
    verified = server.verify_payment(payload, offer.requirements)
    if not verified.is_valid:
        _reject(payment, verified.invalid_reason or "invalid_payment", verified.invalid_message)
    user = _payer(payment.payer)
    if license_for(user=user, release=offer.release) is not None:
        # Its signature proves the address, which already holds a license: nothing to pay.
        _reject(payment, "already_licensed", None, raise_error=False)
        return payment, user
    result: SettleResponse = server.settle_payment(payload, offer.requirements)
    if payment.status != X402Status.BROADCAST:  # nothing was sent (``_sender`` marks a send)
        _reject(payment, result.error_reason or "settlement_failed", result.error_message)
    return _reconcile_unlocked(payment, buyer=user), user


def _payer(address: str) -> User:
    user = user_for_address(address, via="x402")
    if not user.is_active:
        raise PermissionDeniedError("This account is suspended.", code="account_disabled")
    return user


_REASONS = {
    "invalid_exact_evm_payload_authorization_valid_before": "The authorization has expired.",
    "invalid_exact_evm_payload_authorization_valid_after": "The authorization is not valid yet.",
    "invalid_exact_evm_payload_signature": "The authorization's signature is not the payer's.",
    "insufficient_funds": "The payer's balance does not cover the price.",
    "already_licensed": "The payer already holds this license: nothing was charged.",
}


def _reject(
    payment: X402Payment, reason: str, message: str | None, *, raise_error: bool = True
) -> None:
    """Nothing was sent: record why (the same authorization may be sent again later)."""
    detail = _REASONS.get(reason) or f"The payment was refused ({reason})."
    X402Payment.objects.filter(pk=payment.pk, status=X402Status.VERIFYING).update(
        status=X402Status.REJECTED, error_code=reason[:60], error_detail=detail[:500]
    )
    if message:
        logger.info("x402 payment %s refused: %s (%s)", payment.pk, reason, message)
    if raise_error:
        raise X402Error(detail, code=reason[:60])


# --- sending ------------------------------------------------------------------------------------


def _sender(payment: X402Payment) -> Sender:
    """Records each settlement it is handed on ``payment`` (the row, and the object too, so the
    caller knows whether anything was sent), then broadcasts it."""

    def send(sign: Any) -> str:
        client = ChainClient.from_settings()
        with hot_wallet_lock(wait=True):
            address = hot_wallet_address()
            signed: SignedCall = sign(hot_wallet_next_nonce(client, address))
            now = timezone.now()
            sent = {
                "status": X402Status.BROADCAST,
                "from_address": address,
                "tx_nonce": signed.nonce,
                "tx_hash": signed.tx_hash,
                "raw_tx": signed.raw,
                "sent_at": now,
                "checked_at": now,
                "error_code": "",
                "error_detail": "",
            }
            recorded = X402Payment.objects.filter(
                pk=payment.pk, status__in=[X402Status.VERIFYING, X402Status.REJECTED]
            ).update(**sent)
            if recorded != 1:
                raise ChainError("This payment is already being settled.", code="tx_failed")
            for field, value in sent.items():
                setattr(payment, field, value)
            # Committed (autocommit): from here a crash is repaired from this record.
            client.broadcast(signed.raw)
        return signed.tx_hash

    return send


# --- reconciling --------------------------------------------------------------------------------


def _reconcile_unlocked(payment: X402Payment, *, buyer: User | None = None) -> X402Payment:
    """Finish a sent settlement from the chain now (as the row it leaves), or raise 409
    ``settlement_pending`` and leave it to the task. ``buyer``: the payer's account, if
    already loaded."""
    try:
        reconciled = _reconcile(payment.pk, ChainClient.from_settings(), buyer)
    except (TransferError, ChainError) as exc:
        logger.info("x402 payment %s pending: %s", payment.pk, exc.detail)
        reconciled = payment  # sent, and the chain has not said yet
    if reconciled.status == X402Status.BROADCAST:
        from payments.tasks import reconcile_x402

        transaction.on_commit(partial(_enqueue, reconcile_x402.delay, payment.pk))
        raise X402Error(
            "Your payment was sent and is not confirmed yet: send the same request with the "
            "same PAYMENT-SIGNATURE again in a few seconds (you will not be charged twice).",
            code="settlement_pending",
            status_code=409,
            extra={"retry_after": RETRY_AFTER_SECONDS},
        )
    if reconciled.status == X402Status.FAILED:
        raise X402Error(reconciled.error_detail, code=reconciled.error_code or "settlement_failed")
    return reconciled


def _enqueue(send: Any, payment_id: int) -> None:
    try:
        send(payment_id)
    except Exception:  # the broker is down: the minute sweeper sends it once it is back
        logger.warning("x402 payment %s: reconcile task not queued", payment_id, exc_info=True)


def x402_reconcile(*, payment_id: int, client: ChainClient | None = None) -> str:
    """Settle a sent x402 payment from its receipt: credited and licensed, failed, or (raised
    as transient) still waiting. Safe to run twice and from several places at once."""
    try:
        return _reconcile(payment_id, client or ChainClient.from_settings(), None).status
    except X402Payment.DoesNotExist:
        return X402Status.FAILED


def _reconcile(payment_id: int, client: ChainClient, buyer: User | None) -> X402Payment:
    """``x402_reconcile``, handing out the row as it leaves it (the request serves from it)."""
    with transaction.atomic():
        payment = (
            X402Payment.objects.select_for_update()
            .select_related("token", "tier__dataset")
            .get(pk=payment_id)
        )
        if payment.status != X402Status.BROADCAST:
            return payment
        X402Payment.objects.filter(pk=payment.pk).update(
            attempts=F("attempts") + 1, checked_at=timezone.now()
        )
        receipt = client.receipt(payment.tx_hash)
        if receipt is None:
            if client.transaction_count(payment.from_address) > (payment.tx_nonce or 0):
                receipt = client.receipt(payment.tx_hash)  # mined between the two reads?
                if receipt is None:
                    return _fail(
                        payment,
                        "nonce_replaced",
                        "The settlement was replaced on chain: nothing was charged.",
                    )
            else:
                if not client.transaction_known(payment.tx_hash):
                    client.broadcast(payment.raw_tx)  # the node lost it: the same bytes again
                raise TransferError("The settlement is not mined yet.", code="tx_not_found")
        if not receipt.succeeded:
            return _fail(
                payment,
                "settlement_reverted",
                "The settlement reverted on chain: nothing was charged or granted.",
            )
        return _complete(payment, client, buyer)


def _fail(payment: X402Payment, code: str, detail: str) -> X402Payment:
    payment.status = X402Status.FAILED
    payment.error_code, payment.error_detail = code, detail
    payment.save(update_fields=["status", "error_code", "error_detail"])
    audit_log_record(action="x402.failed", target=payment, data={"code": code})
    return payment


def _complete(payment: X402Payment, client: ChainClient, buyer: User | None) -> X402Payment:
    """Inside the reconciling transaction: the Transfer log verified and credited once, then
    the same purchase, sale split and license as an order paid from a browser."""
    try:
        verified = erc20_transfer_verify(
            client=client,
            tx_hash=payment.tx_hash,
            token_address=payment.token.address,
            sender=payment.payer,
            recipient=payment.pay_to,
            min_amount=int(payment.amount),
            confirmations=1,
        )
    except TransferError as exc:
        if exc.transient:
            raise
        # Mined, but it did not move what was authorized (it cannot, unless the token is not
        # what it says): nothing is granted, and staff see why.
        return _fail(payment, exc.code, exc.detail)
    credited = transfer_credit_once(
        chain_id=payment.chain_id,
        verified=verified,
        token=payment.token,
        purpose=f"x402:{payment.pk}",
    )
    if credited is None:
        return _fail(payment, "tx_already_used", "This transaction already paid for something.")
    tier = payment.tier
    now = timezone.now()
    purchase = Purchase(
        buyer=buyer or _payer(payment.payer),
        tier=tier,
        dataset=tier.dataset,
        token=payment.token,
        amount=payment.amount,
        pay_to=payment.pay_to,
        chain_id=payment.chain_id,
        expires_at=now,
        tx_hash=payment.tx_hash,
        checked_at=now,
    )
    purchase_mark_paid(purchase, verified, credited)  # saved there, paid from the start
    payment.status = X402Status.SETTLED
    payment.purchase = purchase
    payment.settled_at = now
    payment.save(update_fields=["status", "purchase", "settled_at"])
    audit_log_record(
        action="x402.settled",
        target=payment,
        data={"purchase": purchase.pk, "tx": verified.tx_hash},
    )
    return payment


def x402_requeue_broadcast() -> int:
    """Beat: send the reconcile task again for settlements whose task was lost."""
    from payments.tasks import reconcile_x402

    return transfer_checks_requeue(
        X402Payment.objects.filter(status=X402Status.BROADCAST), reconcile_x402.delay
    )


# --- the response -------------------------------------------------------------------------------


def _served(payment: X402Payment, offer: X402Offer, user: User) -> X402Paid:
    if license_for(user=user, release=offer.release) is None:
        raise X402Error(
            "This payment does not license this version.", code="license_required"
        )  # e.g. a staff revocation since: pay again
    created = api_token_issue_short_lived(
        user=user,
        name=DOWNLOAD_TOKEN_NAME,
        scopes=["download"],
        ttl_seconds=settings.X402_TOKEN_TTL_SECONDS,
    )
    header = None
    if payment.status == X402Status.SETTLED:
        response = SettleResponse(
            success=True,
            transaction=payment.tx_hash,
            network=str(offer.requirements.network),
            payer=payment.payer,
            amount=str(int(payment.amount)),
        )
        header = encode_payment_response_header(response)
    expires = created.token.expires_at or timezone.now() + timedelta(
        seconds=settings.X402_TOKEN_TTL_SECONDS
    )
    return X402Paid(
        user=user,
        payment_response=header,
        download_token=created.secret,
        download_token_expires=expires,
    )
