"""Changing a running bounty's schedule: epoch windows stay contiguous (no row paid twice, none
skipped), the start is fixed once an epoch is computed, and the end cannot move before what is
computed and paid. Real services and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from marketplace.core.exceptions import PermissionDeniedError
from marketplace.core.models import AuditLog
from payments.enums import BountyStatus
from payments.exceptions import BountyError
from payments.models import Bounty, RewardEpoch, RewardLine
from payments.services.bounties import bounty_schedule_change
from payments.services.rewards import reward_epoch_compute
from tests.factories import UserFactory, contribution_with_items, funded
from tests.payments.test_rewards import books_balance

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) - timedelta(days=2)


def running_bounty() -> Bounty:
    """Hour-long epochs over ten hours, with one accepted row validated every ten minutes."""
    bounty = funded(
        pays_for="rows",
        rate_per_row=1_000,
        rate_per_label=0,
        starts_at=START,
        ends_at=START + timedelta(hours=10),
        epoch_length=timedelta(hours=1),
    )
    user = UserFactory.create()
    for minute in range(0, 10 * 60, 10):
        contribution_with_items(
            bounty.dataset, user, [1.0], validated_at=START + timedelta(minutes=minute)
        )
    return bounty


def compute_until(bounty: Bounty, now: datetime) -> int:
    done = 0
    while reward_epoch_compute(bounty_id=bounty.pk, now=now) is not None:
        done += 1
    return done


def assert_windows_tile_the_bounty(bounty: Bounty) -> list[RewardEpoch]:
    """Each window starts where the one before ended, from the bounty's start; every row
    validated before the last window's end is paid exactly once."""
    epochs = list(RewardEpoch.objects.filter(bounty=bounty).order_by("number"))
    assert epochs[0].period_start == START
    for before, after in pairwise(epochs):
        assert after.period_start == before.period_end, (before.number, after.number)
        assert after.period_end > after.period_start
    paid = dict(
        RewardLine.objects.filter(reward__bounty=bounty)
        .values_list("contribution_id")
        .annotate(n=Count("id"))
        .values_list("contribution_id", "n")
    )
    due = set(
        bounty.dataset.contributions.filter(validated_at__lt=epochs[-1].period_end).values_list(
            "pk", flat=True
        )
    )
    assert set(paid) == due  # none skipped
    assert set(paid.values()) == {1}  # none paid twice
    books_balance(bounty)
    return epochs


def test_shifting_the_epoch_length_and_start_never_pays_a_window_twice_or_skips_one():
    bounty = running_bounty()
    assert compute_until(bounty, START + timedelta(hours=2)) == 2
    # Rewritten straight on the row, as the admin form allowed before: the windows still tile.
    Bounty.objects.filter(pk=bounty.pk).update(
        epoch_length=timedelta(minutes=40), starts_at=START + timedelta(minutes=25)
    )
    assert compute_until(bounty, START + timedelta(hours=4)) == 3
    Bounty.objects.filter(pk=bounty.pk).update(
        epoch_length=timedelta(minutes=90), starts_at=START - timedelta(hours=1)
    )
    compute_until(bounty, START + timedelta(hours=11))

    epochs = assert_windows_tile_the_bounty(bounty)
    ends = [e.period_end - START for e in epochs]
    assert ends[:5] == [timedelta(minutes=m) for m in (60, 120, 160, 200, 240)]
    assert epochs[-1].period_end == START + timedelta(hours=10)  # capped at the bounty's end
    bounty.refresh_from_db()
    assert bounty.status == BountyStatus.CLOSED


def test_staff_change_the_epoch_length_and_end_through_the_service_with_an_audit_entry(
    admin_user,
):
    bounty = running_bounty()
    compute_until(bounty, START + timedelta(hours=2))

    bounty_schedule_change(
        bounty=bounty,
        actor=admin_user,
        reason="sponsor asked for shorter epochs",
        epoch_length=timedelta(minutes=30),
        ends_at=START + timedelta(hours=5),
    )
    compute_until(bounty, START + timedelta(hours=11))

    epochs = assert_windows_tile_the_bounty(bounty)
    assert [e.period_end - START for e in epochs] == [
        timedelta(minutes=m) for m in (60, 120, 150, 180, 210, 240, 270, 300)
    ]
    entry = AuditLog.objects.get(action="bounty.schedule_changed")
    assert entry.actor == admin_user
    assert entry.data["reason"] == "sponsor asked for shorter epochs"
    assert entry.data["from"]["epoch_length_seconds"] == 3600
    assert entry.data["to"]["epoch_length_seconds"] == 1800


def test_schedule_changes_that_would_reopen_or_skip_paid_windows_are_refused(admin_user):
    bounty = running_bounty()
    compute_until(bounty, START + timedelta(hours=3))
    before = Bounty.objects.values().get(pk=bounty.pk)

    refusals: dict[str, dict[str, Any]] = {
        "ends_before_computed": {"ends_at": START + timedelta(hours=2)},
        "schedule_started": {"starts_at": START + timedelta(minutes=30)},
        "bad_epoch_length": {"epoch_length": timedelta(seconds=30)},
    }
    for code, change in refusals.items():
        with pytest.raises(BountyError) as refused:
            bounty_schedule_change(bounty=bounty, actor=admin_user, reason="try", **change)
        assert refused.value.code == code, code
    with pytest.raises(BountyError) as refused:
        bounty_schedule_change(bounty=bounty, actor=admin_user, reason=" ", ends_at=START)
    assert refused.value.code == "reason_required"
    with pytest.raises(PermissionDeniedError):
        bounty_schedule_change(
            bounty=bounty, actor=bounty.sponsor, reason="mine", ends_at=START + timedelta(hours=20)
        )
    assert Bounty.objects.values().get(pk=bounty.pk) == before
    assert not AuditLog.objects.filter(action="bounty.schedule_changed").exists()

    # Ending exactly where the computed windows end closes the bounty: nothing is left to pay.
    bounty_schedule_change(
        bounty=bounty, actor=admin_user, reason="sponsor stops", ends_at=START + timedelta(hours=3)
    )
    bounty.refresh_from_db()
    assert bounty.status == BountyStatus.CLOSED
    assert compute_until(bounty, START + timedelta(hours=11)) == 0
    with pytest.raises(BountyError) as refused:
        bounty_schedule_change(
            bounty=bounty, actor=admin_user, reason="reopen", ends_at=START + timedelta(hours=9)
        )
    assert refused.value.code == "bounty_closed"


def test_the_start_can_move_before_the_first_epoch(admin_user):
    bounty = running_bounty()
    bounty_schedule_change(
        bounty=bounty, actor=admin_user, reason="late launch", starts_at=START + timedelta(hours=1)
    )
    compute_until(bounty, START + timedelta(hours=3))
    epochs = list(RewardEpoch.objects.filter(bounty=bounty).order_by("number"))
    assert [e.period_start - START for e in epochs] == [timedelta(hours=1), timedelta(hours=2)]


def test_the_bounty_page_counts_epochs_left_from_the_last_computed_window(admin_user, client):
    bounty = running_bounty()
    compute_until(bounty, START + timedelta(hours=2))
    bounty_schedule_change(
        bounty=bounty, actor=admin_user, reason="shorter", epoch_length=timedelta(minutes=30)
    )

    page = client.get(reverse("bounty-detail", kwargs={"bounty_id": bounty.pk})).content.decode()

    assert "2 of 18 epochs computed" in page  # 2 hours done, then 8 hours of 30 minutes
