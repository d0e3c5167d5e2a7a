"""Verifying an ERC-20 payment on chain: a sponsor funding a bounty, a buyer paying a license.

The client only tells us a transaction hash; everything else is read from the receipt and its
logs on our own node (``ChainClient``), never taken from the client: the receipt status, the
contract that emitted the ``Transfer`` log (the allow-listed token), its ``from``, ``to`` and
``value`` in base units, and how many blocks confirm it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from marketplace.core.addresses import InvalidAddressError, normalize_address
from marketplace.core.exceptions import ApplicationError
from payments.integrations.chain import ChainClient, ChainError, TokenTransferLog
from payments.models import BountyFunding, CreditedTransfer, Purchase, Token

_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")

# Codes a later attempt can turn into success without anyone changing anything: the transaction
# is not mined (or not seen by our node) yet, or needs more blocks on top of it.
TRANSIENT_TRANSFER_CODES = frozenset({"tx_not_found", "not_confirmed"})
# ChainError codes worth retrying: the node is down, overloaded or timing out.
TRANSIENT_CHAIN_CODES = frozenset({"chain_unavailable", "chain_error", "tx_timeout"})


class TransferError(ApplicationError, code="transfer_invalid"):
    """A payment transaction does not (yet) pay what was asked. Codes: ``bad_tx_hash``,
    ``invalid_input``, ``tx_not_found`` (transient), ``tx_reverted``, ``not_a_token_transfer``
    (it sent ether and moved no token at all), ``wrong_token``,
    ``wrong_sender``, ``wrong_recipient``, ``amount_short``, ``not_confirmed`` (transient,
    ``extra`` holds ``have`` and ``need``). Permanent refusals are 400; transient ones 409."""

    @property
    def transient(self) -> bool:
        """Whether checking the same transaction again later may succeed (retry with backoff)."""
        return self.code in TRANSIENT_TRANSFER_CODES


def transfer_error_is_transient(error: BaseException) -> bool:
    """Whether a task should retry ``erc20_transfer_verify`` after ``error``: a transient
    ``TransferError``, or a ``ChainError`` from an unreachable or failing node."""
    if isinstance(error, TransferError):
        return error.transient
    return isinstance(error, ChainError) and error.code in TRANSIENT_CHAIN_CODES


@dataclass(frozen=True)
class VerifiedTransfer:
    """The one ``Transfer`` log that pays: store ``(chain_id, tx_hash, log_index)``."""

    tx_hash: str  # 0x-prefixed, lowercase (store it in this form for the unique constraint)
    log_index: int
    block_number: int
    block_hash: str  # 0x-prefixed, lowercase
    token_address: str  # EIP-55
    sender: str  # EIP-55
    recipient: str  # EIP-55
    amount: int  # base units actually transferred; may exceed min_amount
    confirmations: int


def _address(value: str, *, what: str) -> str:
    try:
        return normalize_address(value)
    except InvalidAddressError as exc:
        raise TransferError(f"{what}: {exc.detail}", code="invalid_input") from exc


def _positive_int(value: int, *, what: str) -> int:
    # bool is an int subclass; True is a bug, not a count.
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise TransferError(f"{what} must be an int >= 1, got {value!r}", code="invalid_input")
    return value


def _same_address(a: str, b: str) -> bool:
    """EIP-55 is only a checksum in the letter case: the address is the same either way."""
    return a.lower() == b.lower()


def _token_symbol(client: ChainClient, token_address: str) -> str:
    """The token's symbol for a message, read from its contract; a generic name if it cannot
    be read, since the refusal stands either way."""
    try:
        return client.with_token(token_address).token_metadata().symbol
    except ChainError:
        return "the payment token"


def erc20_transfer_verify(
    *,
    client: ChainClient,
    tx_hash: str,
    token_address: str,
    sender: str,
    recipient: str,
    min_amount: int,
    confirmations: int,
) -> VerifiedTransfer:
    """Checks on our node that transaction ``tx_hash`` moved at least ``min_amount`` base units
    of the ERC-20 token at ``token_address`` from ``sender`` to ``recipient``, and that at least
    ``confirmations`` blocks (its own included) are on top of it. Returns the paying log.
    ``sender`` is the holder whose tokens moved (the log's ``from``), whoever signed the
    transaction: a ``transferFrom`` by a spender the sender approved pays too.

    One log must satisfy every condition by itself: amounts of several logs are never added up,
    because one log pays one thing (see below). When several logs qualify, the first (lowest
    ``log_index``) is returned. Addresses are compared case-insensitively (EIP-55).

    Callers must record the returned ``(chain_id, tx_hash, log_index)`` under a unique database
    constraint in the same transaction that credits the order or the bounty; this function
    does not remember hashes, so without that constraint one payment could be credited twice.
    Call it again before crediting if the caller waited: a reorganisation can drop the block
    (``block_hash`` tells).

    Raises ``TransferError`` (see its codes; ``transient`` says whether to retry) or
    ``ChainError`` when the node cannot be asked (``chain_unavailable``, ``wrong_chain``, ...).
    """
    if not isinstance(tx_hash, str) or not _TX_HASH.fullmatch(tx_hash.strip()):
        raise TransferError(
            f"{tx_hash!r} is not a transaction hash: expected 0x followed by 64 hex digits.",
            code="bad_tx_hash",
        )
    tx_hash = tx_hash.strip().lower()
    token = _address(token_address, what="Token address")
    expected_sender = _address(sender, what="Sender address")
    expected_recipient = _address(recipient, what="Recipient address")
    _positive_int(min_amount, what="The minimum amount (base units)")
    needed = _positive_int(confirmations, what="The number of confirmations")

    receipt = client.transfer_receipt(tx_hash)
    if receipt is None:
        raise TransferError(
            f"Transaction {tx_hash} was not found on chain {client.expected_chain_id}: it is not "
            "mined yet, was dropped, or was sent on another network. It is checked again "
            "shortly.",
            code="tx_not_found",
            status_code=409,
        )
    if not receipt.succeeded:
        raise TransferError(
            f"Transaction {tx_hash} failed (reverted) in block {receipt.block_number}, so it "
            "moved no tokens. Send a new payment.",
            code="tx_reverted",
        )

    logs: list[TokenTransferLog] = [
        log for log in receipt.transfers if _same_address(log.token_address, token)
    ]
    if not logs:
        if not receipt.transfers and client.transaction_value(tx_hash) > 0:
            raise TransferError(
                f"That transaction sent ETH, not {_token_symbol(client, token)}: pay with the "
                f"token (the ERC-20 contract {token}).",
                code="not_a_token_transfer",
            )
        if receipt.transfers:
            others = ", ".join(sorted({log.token_address for log in receipt.transfers}))
            detail = f"it moved other tokens ({others})"
        else:
            detail = "it moved no ERC-20 tokens at all (e.g. a plain ETH transfer)"
        raise TransferError(
            f"Transaction {tx_hash} did not transfer the payment token {token}: {detail}.",
            code="wrong_token",
        )

    # From the sender, then to the recipient: each refusal names the addresses found instead.
    to_recipient = logs
    for field, expected, code, before, after in (
        ("from_address", expected_sender, "wrong_sender", "from", "not from your wallet"),
        ("to_address", expected_recipient, "wrong_recipient", "to", "not to"),
    ):
        kept = [log for log in to_recipient if _same_address(getattr(log, field), expected)]
        if not kept:
            found = ", ".join(sorted({getattr(log, field) for log in to_recipient}))
            raise TransferError(
                f"Transaction {tx_hash} transferred the token {before} {found}, {after} "
                f"{expected}.",
                code=code,
            )
        to_recipient = kept

    paying = [log for log in to_recipient if log.value >= min_amount]
    if not paying:
        received = max(log.value for log in to_recipient)
        raise TransferError(
            f"Transaction {tx_hash} transferred {received} base units, but {min_amount} base "
            "units are due.",
            code="amount_short",
            extra={"expected": min_amount, "received": received},
        )
    log = min(paying, key=lambda log: log.log_index)

    # Checked last, so a payment that can never verify is refused at once rather than after
    # waiting for blocks.
    have = receipt.confirmations
    if have < needed:
        raise TransferError(
            f"Transaction {tx_hash} has {have} of the {needed} confirmations needed; it is "
            "checked again shortly.",
            code="not_confirmed",
            status_code=409,
            extra={"have": have, "need": needed},
        )

    return VerifiedTransfer(
        tx_hash=receipt.tx_hash,
        log_index=log.log_index,
        block_number=log.block_number,
        block_hash=log.block_hash,
        token_address=log.token_address,
        sender=log.from_address,
        recipient=log.to_address,
        amount=log.value,
        confirmations=have,
    )


def transfer_credit_once(
    *, chain_id: int, verified: VerifiedTransfer, token: Token, purpose: str
) -> CreditedTransfer | None:
    """Record that this Transfer log paid for ``purpose`` ("bounty:12", "purchase:7"); None
    when the (chain, hash, log index) already paid for something. Call inside the transaction
    that credits the payment: the unique key is what makes a payment count once."""
    try:
        with transaction.atomic():  # a savepoint: only the unique key may fail here
            return CreditedTransfer.objects.create(
                chain_id=chain_id,
                tx_hash=verified.tx_hash,
                log_index=verified.log_index,
                block_number=verified.block_number,
                block_hash=verified.block_hash,
                token=token,
                sender=verified.sender,
                recipient=verified.recipient,
                amount=verified.amount,
                purpose=purpose,
            )
    except IntegrityError:
        return None


@dataclass(frozen=True)
class TransferCheck:
    """One attempt at verifying a submitted payment, for a row that is re-checked by a task."""

    outcome: VerifiedTransfer | TransferError | ChainError  # the paying log, or why not
    retry: bool = False  # transient and still within the time allowed: check again later


def transfer_attempt(
    row: Purchase | BountyFunding,
    *,
    client: ChainClient,
    timeout_seconds: float,
    token_address: str,
    sender: str,
    recipient: str,
    min_amount: int,
) -> TransferCheck:
    """One ``erc20_transfer_verify`` with ``CHAIN_CONFIRMATIONS`` of a locked row's payment
    (``row.tx_hash``), counted in ``attempts`` and ``checked_at``, its answer sorted: paid, retry
    later (not mined, too few confirmations, node down, until ``timeout_seconds`` after
    ``row.created_at``), or refused for good. An answer to retry is recorded on the row
    (confirmations so far, error) and saved; the caller saves the others."""
    row.attempts += 1
    row.checked_at = timezone.now()
    try:
        return TransferCheck(
            outcome=erc20_transfer_verify(
                client=client,
                tx_hash=row.tx_hash,
                token_address=token_address,
                sender=sender,
                recipient=recipient,
                min_amount=min_amount,
                confirmations=int(settings.CHAIN_CONFIRMATIONS),
            )
        )
    except (TransferError, ChainError) as exc:
        waited = (timezone.now() - row.created_at).total_seconds()
        if not (transfer_error_is_transient(exc) and waited < timeout_seconds):
            return TransferCheck(outcome=exc)
        if exc.code == "not_confirmed":
            row.confirmations = int(str(exc.extra.get("have", 0))) or row.confirmations
        row.error_code = exc.code
        row.error_detail = exc.detail[:500]
        row.save(
            update_fields=["attempts", "checked_at", "confirmations", "error_code", "error_detail"]
        )
        return TransferCheck(outcome=exc, retry=True)


REQUEUE_BATCH = 500  # rows re-sent per sweep at most


def transfer_checks_requeue(pending: QuerySet[Any], send: Callable[[int], object]) -> int:
    """Beat: send the check again for payments (purchases, fundings) whose task was lost (its
    retries ran out, the broker dropped it, its worker died). A live check touches
    ``checked_at`` at least every minute (its longest backoff), so only a row silent for
    ``VERIFY_REQUEUE_AFTER_SECONDS`` is sent, and then marked so it is sent again only after as
    long. Duplicates are harmless: the check locks the row and returns once it is settled.
    ``pending``: the rows still being verified; ``send``: enqueues one check by id. Returns how
    many were sent."""
    now = timezone.now()
    silent = now - timedelta(seconds=settings.VERIFY_REQUEUE_AFTER_SECONDS)
    with transaction.atomic():
        ids = list(
            pending.select_for_update(skip_locked=True)
            .filter(Q(checked_at__lt=silent) | Q(checked_at__isnull=True, created_at__lt=silent))
            .values_list("pk", flat=True)[:REQUEUE_BATCH]
        )
        pending.model.objects.filter(pk__in=ids).update(checked_at=now)
        for pk in ids:
            transaction.on_commit(partial(send, pk))
    return len(ids)
