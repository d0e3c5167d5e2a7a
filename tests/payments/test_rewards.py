"""Reward epochs through the real services and PostgreSQL: what is paid, for what, capped by
the pool, explained, reversed on rejection, and never twice."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from datasets_app.services.moderation import contribution_reject
from marketplace.core.models import AuditLog
from payments.enums import BountyStatus, RewardStatus
from payments.exceptions import RewardError
from payments.models import Bounty, Reward, RewardEpoch, RewardLine
from payments.services.ledger import ledger_balance, ledger_books_check, user_code
from payments.services.rewards import (
    label_accuracy,
    label_weight_micro,
    reward_epoch_compute,
    reward_epochs_compute_due,
    reward_reverse,
    rewards_reverse_for_contribution,
)
from tests.factories import (
    BountyFactory,
    DatasetFactory,
    UserFactory,
    at_once,
    contribution_with_items,
    credibility,
    decided_item,
    funded,
    in_epoch,
)

pytestmark = pytest.mark.django_db


def books_balance(bounty: Bounty) -> None:
    report = ledger_books_check(token=bounty.token)
    assert report.ok, report.unbalanced


def test_accepted_rows_are_paid_by_quality_within_the_epoch():
    bounty = funded(pays_for="rows", rate_per_row=1_000, rate_per_label=0)
    alice, bob = UserFactory.create_batch(2)
    contribution_with_items(bounty.dataset, alice, [1.0, 1.0, 0.5], validated_at=in_epoch(bounty))
    contribution_with_items(bounty.dataset, bob, [0.25], validated_at=in_epoch(bounty, 50))
    # Not in this epoch, not validated, rejected by moderation, or another dataset: not paid.
    contribution_with_items(bounty.dataset, bob, [1.0], validated_at=bounty.ends_at)
    contribution_with_items(
        bounty.dataset, bob, [1.0], validated_at=in_epoch(bounty), status="rejected"
    )
    contribution_with_items(DatasetFactory.create(), bob, [1.0], validated_at=in_epoch(bounty))

    epoch = reward_epoch_compute(bounty_id=bounty.pk)

    assert epoch is not None and epoch.number == 0
    rewards = {r.user_id: r for r in Reward.objects.filter(epoch=epoch)}
    assert int(rewards[alice.pk].amount) == 2_500  # 1,000 x (1 + 1 + 0.5)
    assert int(rewards[bob.pk].amount) == 250
    assert rewards[alice.pk].basis["rows"]["accepted_rows"] == 3
    assert rewards[alice.pk].basis["rows"]["quality_weighted_rows"] == 2.5
    assert ledger_balance(token=bounty.token, code=user_code(alice)) == 2_500
    assert ledger_balance(token=bounty.token, code=bounty.ledger_code) == 10**9 - 2_750
    bounty.refresh_from_db()
    assert bounty.status == BountyStatus.CLOSED and bounty.epochs_computed == 1
    books_balance(bounty)


def test_agreeing_labels_are_paid_by_credibility_above_chance():
    bounty = funded(pays_for="labels", rate_per_row=0, rate_per_label=3_000)
    dataset = bounty.dataset  # three classes: chance agreement is 1/3
    good, guesser, wrong = UserFactory.create_batch(3)
    credibility(good, 1.0)
    credibility(guesser, 1 / 3)
    credibility(wrong, 0.9)
    at = in_epoch(bounty)
    for _ in range(4):
        decided_item(dataset, {good: "positive", guesser: "positive", wrong: "negative"},
                     "positive", at)  # fmt: skip
    decided_item(dataset, {good: "neutral"}, "neutral", bounty.ends_at)  # next epoch

    reward_epoch_compute(bounty_id=bounty.pk)

    rewards = {r.user_id: r for r in Reward.objects.all()}
    assert set(rewards) == {good.pk}  # the guesser's weight is nil; `wrong` never agreed
    assert int(rewards[good.pk].amount) == 12_000
    assert rewards[good.pk].basis["labels"]["agreeing_labels"] == 4
    assert label_weight_micro(1 / 3, 3) == 0
    assert label_weight_micro(2 / 3, 3) == 250_000  # half-way above chance, squared
    assert label_weight_micro(0.8, 0) == 640_000  # free text: no chance agreement
    # Gold answers cap what agreement alone claims (copying accounts agree with each other).
    assert label_accuracy(0.9, gold_correct=0, gold_total=4) == pytest.approx(0.35)
    assert label_accuracy(0.9, gold_correct=0, gold_total=0) == 0.9


def test_multi_label_and_free_text_agreement():
    multi = funded(
        pays_for="labels",
        rate_per_row=0,
        rate_per_label=10,
        dataset=DatasetFactory.create(label_task="multi_label", label_classes=["a", "b", "c"]),
    )
    text = funded(
        pays_for="labels",
        rate_per_row=0,
        rate_per_label=10,
        dataset=DatasetFactory.create(label_task="free_text", label_classes=[]),
    )
    user = UserFactory.create()
    credibility(user, 1.0)
    decided_item(multi.dataset, {user: ["a", "c"]}, ["a", "c"], in_epoch(multi))
    decided_item(multi.dataset, {user: ["a"]}, ["a", "c"], in_epoch(multi))
    decided_item(text.dataset, {user: "  The Cat. "}, "the cat", in_epoch(text))

    reward_epochs_compute_due()

    assert Reward.objects.get(bounty=multi).basis["labels"]["agreeing_labels"] == 1
    assert Reward.objects.get(bounty=text).basis["labels"]["agreeing_labels"] == 1


def test_the_pool_caps_the_epoch_and_keeps_the_remainder():
    bounty = funded(pool=1_000, pays_for="rows", rate_per_row=100, rate_per_label=0)
    users = UserFactory.create_batch(3)
    for user in users:  # each worth 700: a demand of 2,100 on a pool of 1,000
        contribution_with_items(bounty.dataset, user, [1.0] * 7, validated_at=in_epoch(bounty))

    epoch = reward_epoch_compute(bounty_id=bounty.pk)

    assert epoch is not None
    amounts = sorted(int(r.amount) for r in Reward.objects.all())
    assert amounts == [333, 333, 333]  # floor(700 x 1,000 / 2,100)
    assert (int(epoch.demand), int(epoch.awarded), int(epoch.pool_before)) == (2_100, 999, 1_000)
    assert epoch.basis["capped_by_pool"] is True
    assert ledger_balance(token=bounty.token, code=bounty.ledger_code) == 1  # no dust lost
    books_balance(bounty)


def test_an_epoch_is_computed_only_once_it_has_ended_and_only_once():
    now = timezone.now()
    bounty = funded(
        starts_at=now - timedelta(minutes=90),
        ends_at=now + timedelta(hours=3),
        epoch_length=timedelta(hours=1),
    )
    user = UserFactory.create()
    contribution_with_items(bounty.dataset, user, [1.0], validated_at=now - timedelta(minutes=80))

    assert reward_epochs_compute_due() == 1  # epoch 1 ended; epoch 2 is running
    assert reward_epochs_compute_due() == 0
    assert reward_epoch_compute(bounty_id=bounty.pk) is None
    assert Reward.objects.count() == 1 and RewardEpoch.objects.count() == 1
    assert Bounty.objects.get(pk=bounty.pk).status == BountyStatus.OPEN
    # Later, the remaining epochs come due in order (the last one is cut short by the end);
    # an empty epoch pays nobody.
    assert reward_epochs_compute_due(now=now + timedelta(hours=4)) == 4
    assert list(RewardEpoch.objects.values_list("number", flat=True)) == [0, 1, 2, 3, 4]
    last = RewardEpoch.objects.get(number=4)
    assert last.period_end == bounty.ends_at and last.rewards_count == 0
    assert Bounty.objects.get(pk=bounty.pk).status == BountyStatus.CLOSED


def test_an_unfunded_bounty_pays_nothing():
    bounty = BountyFactory.create()
    contribution_with_items(
        bounty.dataset, UserFactory.create(), [1.0], validated_at=in_epoch(bounty)
    )
    assert reward_epoch_compute(bounty_id=bounty.pk) is None
    assert not Reward.objects.exists()


def test_a_moderators_rejection_reverses_the_unpaid_reward_through_the_ledger():
    bounty = funded(pays_for="rows", rate_per_row=1_000, rate_per_label=0)
    user = UserFactory.create()
    bad = contribution_with_items(bounty.dataset, user, [1.0, 1.0], validated_at=in_epoch(bounty))
    contribution_with_items(bounty.dataset, user, [1.0], validated_at=in_epoch(bounty))
    reward_epoch_compute(bounty_id=bounty.pk)
    reward = Reward.objects.get()
    assert int(reward.amount) == 3_000

    moderator = UserFactory.create(is_staff=True)
    contribution_reject(contribution=bad, actor=moderator, reason="copied from a paid corpus")

    reward.refresh_from_db()
    assert int(reward.reversed_amount) == 2_000 and reward.payable_amount == 1_000
    assert reward.status == RewardStatus.EARNED
    assert ledger_balance(token=bounty.token, code=user_code(user)) == 1_000
    assert ledger_balance(token=bounty.token, code=bounty.ledger_code) == 10**9 - 1_000
    assert RewardLine.objects.get(contribution=bad).reversed_at is not None
    # Said twice, nothing more moves.
    assert (
        rewards_reverse_for_contribution(contribution_id=bad.pk, actor=moderator, reason="x") == 0
    )
    assert AuditLog.objects.filter(action="rewards.reversed_for_contribution").count() == 1

    reward_reverse(reward=reward, actor=moderator, reason="sybil account")
    reward.refresh_from_db()
    assert reward.status == RewardStatus.REVERSED and reward.payable_amount == 0
    assert ledger_balance(token=bounty.token, code=bounty.ledger_code) == 10**9
    with pytest.raises(RewardError, match="already reversed"):
        reward_reverse(reward=reward, actor=moderator, reason="again")
    books_balance(bounty)


def test_a_paid_reward_cannot_be_reversed():
    bounty = funded(pays_for="rows", rate_per_row=10, rate_per_label=0)
    user = UserFactory.create()
    contribution = contribution_with_items(
        bounty.dataset, user, [1.0], validated_at=in_epoch(bounty)
    )
    reward_epoch_compute(bounty_id=bounty.pk)
    Reward.objects.update(status=RewardStatus.PAID)
    moderator = UserFactory.create(is_staff=True)
    with pytest.raises(RewardError, match="already paid"):
        reward_reverse(reward=Reward.objects.get(), actor=moderator, reason="late")
    assert (
        rewards_reverse_for_contribution(
            contribution_id=contribution.pk, actor=moderator, reason="late"
        )
        == 0
    )
    assert ledger_balance(token=bounty.token, code=user_code(user)) == 10


@pytest.mark.django_db(transaction=True)
def test_two_workers_computing_at_once_compute_one_epoch():
    bounty = funded(pays_for="rows", rate_per_row=10, rate_per_label=0)
    users = UserFactory.create_batch(5)
    for user in users:
        contribution_with_items(bounty.dataset, user, [1.0], validated_at=in_epoch(bounty))
    results = at_once(*[partial(reward_epoch_compute, bounty_id=bounty.pk)] * 2)
    assert sorted(result is None for result in results) == [False, True]
    assert RewardEpoch.objects.count() == 1 and Reward.objects.count() == 5
    assert ledger_balance(token=bounty.token, code=bounty.ledger_code) == 10**9 - 50
    books_balance(bounty)
