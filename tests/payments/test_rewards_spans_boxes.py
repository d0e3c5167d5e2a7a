"""Rewards for span and box labels (issue 16): each agreeing item is worth the label's F1
against the consensus, in integer millionths; the receipt says so; the books balance."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from datasets_app.models import Dataset, Item, Label
from datasets_app.services.consensus import item_consensus_update
from payments.models import Bounty, Reward, RewardLine
from payments.services.ledger import ledger_balance, ledger_books_check, user_code
from payments.services.rewards import reward_epoch_compute
from tests.factories import (
    DatasetFactory,
    UserFactory,
    credibility,
    decided_item,
    funded,
    in_epoch,
)

pytestmark = pytest.mark.django_db

PER = {"start": 0, "end": 3, "label": "PER"}
LOC = {"start": 8, "end": 14, "label": "LOC"}


def span_bounty(pool: int = 10**9, **kwargs: Any) -> Bounty:
    dataset = DatasetFactory.create(label_task="spans", label_classes=["PER", "LOC"])
    return funded(pool, dataset=dataset, pays_for="labels", rate_per_row=0, **kwargs)


def decided(dataset: Dataset, scored: dict[Any, float], at: Any, *, gold: bool = False) -> Item:
    """An item decided at ``at`` whose labels scored these F1s against its consensus."""
    item = Item.objects.create(
        dataset=dataset,
        data={"text": "Ada in London"},
        content_hash=f"{Item.objects.count():064x}",
        consensus_label=[PER, LOC],
        consensus_confidence=0.8,
        consensus_at=at,
        is_gold=gold,
    )
    for user, score in scored.items():
        Label.objects.create(item=item, labeler=user, dataset=dataset, value=[PER], score=score)
    return item


def test_span_labels_are_paid_per_agreeing_item_weighted_by_f1():
    bounty = span_bounty(rate_per_label=1_000_000)
    dataset = bounty.dataset
    exact, partial, wrong = UserFactory.create_batch(3)
    for user in (exact, partial, wrong):
        credibility(user, 1.0)
    at = in_epoch(bounty)
    for _ in range(3):
        decided(dataset, {exact: 1.0, partial: 2 / 3, wrong: 0.0}, at)
    decided(dataset, {partial: 0.5}, at)
    decided(dataset, {exact: 1.0}, bounty.ends_at)  # the next epoch: not paid now
    decided(dataset, {exact: 1.0}, at, gold=True)  # gold items are graded, not paid

    reward_epoch_compute(bounty_id=bounty.pk)

    rewards = {r.user_id: r for r in Reward.objects.all()}
    assert set(rewards) == {exact.pk, partial.pk}  # F1 0 is no agreement
    assert int(rewards[exact.pk].amount) == 3_000_000  # 3 items x F1 1 x rate
    # 3 x 2/3 + 0.5 = 2.5 item equivalents (each F1 rounded to a millionth).
    assert int(rewards[partial.pk].amount) == 2_500_001  # 3 x 666,667 + 500,000 millionths
    line = RewardLine.objects.get(reward=rewards[partial.pk])
    assert (line.units, line.weighted_micro) == (4, 2_500_001)
    labels = rewards[partial.pk].basis["labels"]
    assert labels["agreeing_labels"] == 4
    assert labels["f1_weighted_items"] == pytest.approx(2.5, abs=1e-5)
    assert labels["weighting"] == (
        "weighted by F1 against consensus: 2.5 agreeing-item equivalents "
        "from 4 items with some agreement"
    )
    assert "F1 against consensus" in rewards[partial.pk].basis["formula"]
    assert ledger_balance(token=bounty.token, code=user_code(partial)) == 2_500_001
    report = ledger_books_check(token=bounty.token)
    assert report.ok, report.unbalanced


def test_credibility_still_weighs_span_pay_with_no_chance_correction():
    bounty = span_bounty(rate_per_label=1_000_000)
    user = UserFactory.create()
    credibility(user, 0.5)  # pay weight 0.5 squared: spans have no chance agreement to remove
    decided(bounty.dataset, {user: 0.5}, in_epoch(bounty))
    reward_epoch_compute(bounty_id=bounty.pk)
    reward = Reward.objects.get()
    assert int(reward.amount) == 125_000  # rate x F1 0.5 x weight 0.25
    assert reward.basis["labels"]["credibility_weight"] == 0.25


def test_the_pool_caps_f1_weighted_pay_and_the_books_balance():
    bounty = span_bounty(pool=1_000, rate_per_label=1_000)
    a, b = UserFactory.create_batch(2)
    credibility(a, 1.0)
    credibility(b, 1.0)
    for _ in range(3):
        decided(bounty.dataset, {a: 1.0, b: 0.25}, in_epoch(bounty))
    reward_epoch_compute(bounty_id=bounty.pk)
    rewards = {r.user_id: int(r.amount) for r in Reward.objects.all()}
    # Demand 3,000 + 750 against a pool of 1,000: floor(demand * 1000 / 3750).
    assert rewards == {a.pk: 800, b.pk: 200}
    assert ledger_balance(token=bounty.token, code=bounty.ledger_code) == 0
    report = ledger_books_check(token=bounty.token)
    assert report.ok, report.unbalanced


def test_box_labels_are_paid_the_same_way_and_class_labels_are_unchanged():
    boxes = DatasetFactory.create(
        modality="image",
        columns=[{"name": "image", "dtype": "image"}],
        label_task="boxes",
        label_classes=["car"],
    )
    bounty = funded(dataset=boxes, pays_for="labels", rate_per_row=0, rate_per_label=600)
    user = UserFactory.create()
    credibility(user, 1.0)
    decided(boxes, {user: 2 / 3}, in_epoch(bounty))
    reward_epoch_compute(bounty_id=bounty.pk)
    assert int(Reward.objects.get().amount) == 400
    # A single-label bounty keeps counting agreeing labels, with no F1 in its basis.
    plain = funded(pays_for="labels", rate_per_row=0, rate_per_label=600)
    decided_item(plain.dataset, {user: "positive"}, "positive", in_epoch(plain))
    reward_epoch_compute(bounty_id=plain.pk)
    reward = Reward.objects.get(bounty=plain)
    assert int(reward.amount) == 600
    assert "weighting" not in reward.basis["labels"]


def test_the_receipt_explains_the_f1_weighting(client):
    bounty = span_bounty(rate_per_label=10**18)
    user = UserFactory.create()
    credibility(user, 1.0)
    decided(bounty.dataset, {user: 1.0}, in_epoch(bounty))
    decided(bounty.dataset, {user: 0.5}, in_epoch(bounty))
    reward_epoch_compute(bounty_id=bounty.pk)
    client.force_login(user)
    receipt = client.get(reverse("reward-receipt", kwargs={"reward_id": Reward.objects.get().pk}))
    text = receipt.content.decode()
    assert receipt.status_code == 200
    assert "weighted by F1 against consensus: 1.5 agreeing-item equivalents" in text


def test_pay_follows_the_f1_scores_consensus_gives_real_span_labels(settings):
    """From labels to pay with nothing set by hand: the consensus of three real span labels
    scores each label, and the epoch pays those scores."""
    settings.CONSENSUS_MIN_CONFIDENCE = 0.5  # three labels decide (agreement here is 0.78)
    bounty = span_bounty(rate_per_label=1_000_000)
    dataset = bounty.dataset
    Dataset.objects.filter(pk=dataset.pk).update(labels_per_item=3)
    careful, also_careful, lazy = UserFactory.create_batch(3)
    for user in (careful, also_careful, lazy):
        credibility(user, 1.0)
    item = Item.objects.create(
        dataset=dataset, data={"text": "Ada in London"}, content_hash="ab" * 32, labels_count=3
    )
    for user, spans in ((careful, [PER, LOC]), (also_careful, [PER, LOC]), (lazy, [PER])):
        Label.objects.create(item=item, labeler=user, dataset=dataset, value=spans)

    assert item_consensus_update(item_id=item.pk) == [PER, LOC]
    Item.objects.filter(pk=item.pk).update(consensus_at=in_epoch(bounty))
    reward_epoch_compute(bounty_id=bounty.pk)

    # The lazy label found one of two spans: F1 2/3 against the consensus, and that is the
    # item equivalents it is paid for (credibility, moved by the same round, weighs the rest).
    items = {r.user_id: r.basis["labels"]["f1_weighted_items"] for r in Reward.objects.all()}
    assert items == {
        careful.pk: pytest.approx(1.0),
        also_careful.pk: pytest.approx(1.0),
        lazy.pk: pytest.approx(2 / 3, abs=1e-6),
    }
    paid = {r.user_id: int(r.amount) for r in Reward.objects.all()}
    assert paid[careful.pk] == paid[also_careful.pk] > paid[lazy.pk] > 0
