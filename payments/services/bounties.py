"""Bounties: creation, crediting their funding, and staff changes to their schedule.
(Verifying the funding transfer on chain is ``bounty_funding_verify``, which calls
``bounty_funding_credit`` once the transfer checks out.)"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from datasets_app.models import Dataset
from marketplace.core.exceptions import PermissionDeniedError
from marketplace.core.models import User
from marketplace.core.policy import can_manage_dataset
from marketplace.core.services import audit_log_record
from marketplace.core.staff import staff_reason_check
from payments.enums import BountyPaysFor, BountyStatus, LedgerKind
from payments.exceptions import BountyError
from payments.models import Bounty, Token
from payments.services.ledger import WORLD, Move, ledger_post
from payments.services.rewards import epoch_bounds, epochs_computed_until

MAX_EPOCHS = 10_000


@transaction.atomic
def bounty_create(
    *,
    dataset: Dataset,
    sponsor: User,
    title: str,
    token: Token,
    pays_for: str,
    rate_per_row: int,
    rate_per_label: int,
    pool_amount: int,
    starts_at: datetime,
    ends_at: datetime,
    epoch_length: timedelta,
    description: str = "",
) -> Bounty:
    """A new bounty, awaiting its funding. Only the dataset's owner (or staff) sponsors one."""
    if not can_manage_dataset(sponsor, dataset):
        raise PermissionDeniedError("Only the dataset's owner can put a bounty on it.")
    if not token.is_active:
        raise BountyError("This token is not accepted.", code="token_not_accepted")
    if pays_for not in BountyPaysFor.values:
        raise BountyError("Choose what the bounty pays for.", code="bad_pays_for")
    pays_rows = pays_for in (BountyPaysFor.ROWS, BountyPaysFor.BOTH)
    pays_labels = pays_for in (BountyPaysFor.LABELS, BountyPaysFor.BOTH)
    errors = {
        "title": not title.strip() and "Give the bounty a title.",
        "rate_per_row": pays_rows != (rate_per_row > 0)
        and ("Set a rate per accepted row." if pays_rows else "This bounty does not pay for rows."),
        "rate_per_label": pays_labels != (rate_per_label > 0)
        and (
            "Set a rate per agreeing label."
            if pays_labels
            else "This bounty does not pay for labels."
        ),
        "pool_amount": pool_amount <= 0 and "The pool must be more than zero.",
        "ends_at": ends_at <= starts_at and "The end must come after the start.",
        "epoch_length": epoch_length < timedelta(minutes=1)
        and "An epoch lasts at least one minute.",
    }
    for field, message in errors.items():
        if message:
            raise BountyError(str(message), code=f"bad_{field}", extra={"field": field})
    if rate_per_row < 0 or rate_per_label < 0:
        raise BountyError("Rates cannot be negative.", code="bad_rate")
    if (ends_at - starts_at) / epoch_length > MAX_EPOCHS:
        raise BountyError(
            f"At most {MAX_EPOCHS:,} epochs: make epochs longer.",
            code="bad_epoch_length",
            extra={"field": "epoch_length"},
        )
    bounty = Bounty.objects.create(
        dataset=dataset,
        sponsor=sponsor,
        title=title.strip(),
        description=description.strip(),
        token=token,
        pays_for=pays_for,
        rate_per_row=rate_per_row,
        rate_per_label=rate_per_label,
        pool_amount=pool_amount,
        starts_at=starts_at,
        ends_at=ends_at,
        epoch_length=epoch_length,
    )
    audit_log_record(
        action="bounty.created",
        actor=sponsor,
        target=bounty,
        data={"pool": str(pool_amount), "token": token.address},
    )
    return bounty


@transaction.atomic
def bounty_funding_credit(
    *, bounty: Bounty, amount: int, reference: str, actor: User | None = None
) -> Bounty:
    """Credit a verified funding transfer to the bounty's pool and open it. ``reference`` is
    the transfer's unique (chain, hash, log index) key: crediting it twice does nothing."""
    bounty = Bounty.objects.select_for_update().get(pk=bounty.pk)
    ledger_post(
        kind=LedgerKind.FUNDING,
        token=bounty.token,
        moves=[Move(WORLD, bounty.ledger_code, amount)],
        idempotency_key=f"funding:{reference}",
        memo=f"bounty {bounty.pk} funded",
        actor=actor,
    )
    if bounty.status in (BountyStatus.AWAITING_FUNDING, BountyStatus.VERIFYING):
        bounty.status = BountyStatus.OPEN
        bounty.funded_at = timezone.now()
        bounty.save(update_fields=["status", "funded_at", "updated_at"])
        audit_log_record(
            action="bounty.funded",
            actor=actor,
            target=bounty,
            data={"amount": str(amount), "reference": reference},
        )
    return bounty


def _schedule(bounty: Bounty) -> dict[str, str | int]:
    return {
        "starts_at": bounty.starts_at.isoformat(),
        "ends_at": bounty.ends_at.isoformat(),
        "epoch_length_seconds": int(bounty.epoch_length.total_seconds()),
    }


@transaction.atomic
def bounty_schedule_change(
    *,
    bounty: Bounty,
    actor: User,
    reason: str,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    epoch_length: timedelta | None = None,
) -> Bounty:
    """Staff move a bounty's start or end, or change its epoch length, with a reason for the
    audit log. The pool, token and rates never change here (a bigger pool is another on-chain
    funding). Computed epochs stay as they are: the next window starts where the last one
    ended (``epoch_bounds``), so no row or label is paid twice or skipped, and the end cannot
    move before what is already computed and paid."""
    reason = staff_reason_check(
        actor=actor,
        reason=reason,
        denied="Only staff change a bounty's schedule.",
        error=BountyError,
    )
    bounty = Bounty.objects.select_for_update().get(pk=bounty.pk)
    if bounty.status in (BountyStatus.CLOSED, BountyStatus.CANCELLED):
        raise BountyError(
            f"This bounty is {bounty.get_status_display().lower()}: its schedule is final.",
            code="bounty_closed",
        )
    before = _schedule(bounty)
    computed_until = epochs_computed_until(bounty)
    if starts_at is not None and starts_at != bounty.starts_at:
        if computed_until is not None:
            raise BountyError(
                "Epochs are computed already, so the start is fixed: change the epoch length "
                "or the end instead.",
                code="schedule_started",
                extra={"field": "starts_at"},
            )
        bounty.starts_at = starts_at
    if ends_at is not None:
        bounty.ends_at = ends_at
    if epoch_length is not None:
        bounty.epoch_length = epoch_length
    if bounty.epoch_length < timedelta(minutes=1):
        raise BountyError(
            "An epoch lasts at least one minute.",
            code="bad_epoch_length",
            extra={"field": "epoch_length"},
        )
    if bounty.ends_at <= bounty.starts_at:
        raise BountyError(
            "The end must come after the start.", code="bad_ends_at", extra={"field": "ends_at"}
        )
    if computed_until is not None and bounty.ends_at < computed_until:
        raise BountyError(
            f"Epochs until {computed_until:%Y-%m-%d %H:%M} UTC are computed and paid: the end "
            "cannot move before that.",
            code="ends_before_computed",
            extra={"field": "ends_at"},
        )
    next_start = epoch_bounds(bounty)[0]
    if (bounty.ends_at - next_start) / bounty.epoch_length > MAX_EPOCHS:
        raise BountyError(
            f"At most {MAX_EPOCHS:,} epochs: make epochs longer.",
            code="bad_epoch_length",
            extra={"field": "epoch_length"},
        )
    after = _schedule(bounty)
    if after == before:
        return bounty
    fields = ["starts_at", "ends_at", "epoch_length", "updated_at"]
    if computed_until is not None and bounty.ends_at == computed_until:
        # Every window up to the new end is computed already: nothing is left to pay.
        bounty.status = BountyStatus.CLOSED
        fields.append("status")
    bounty.save(update_fields=fields)
    audit_log_record(
        action="bounty.schedule_changed",
        actor=actor,
        target=bounty,
        data={"from": before, "to": after, "reason": reason, "status": bounty.status},
    )
    return bounty
