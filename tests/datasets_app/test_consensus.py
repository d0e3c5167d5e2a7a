"""Consensus and credibility through the real services and PostgreSQL."""

from __future__ import annotations

import random

import pytest

from datasets_app.models import Dataset, Item, Label, LabelerCredibility
from datasets_app.services import (
    dataset_consensus_refresh,
    item_consensus_update,
    item_set_gold,
    label_submit,
    labeling_next_item,
)
from tests.factories import DatasetFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db
CLASSES = ["negative", "neutral", "positive"]


def label(item: Item, user, value) -> None:  # type: ignore[no-untyped-def]
    Label.objects.create(item=item, labeler=user, dataset=item.dataset, value=value)
    Item.objects.filter(pk=item.pk).update(labels_count=item.labels_count + 1)
    item.labels_count += 1


def test_an_item_with_k_labels_gets_the_majority_and_labelers_credibility_moves(settings):
    settings.CONSENSUS_EXTRA_LABELS = 0  # a 2-1 split is decided at once here
    dataset = DatasetFactory.create(labels_per_item=3)
    item = ItemFactory.create(dataset=dataset)
    a, b, c = UserFactory.create_batch(3)
    for user, value in ((a, "positive"), (b, "positive"), (c, "negative")):
        label(item, user, value)
    assert item_consensus_update(item_id=item.pk) == "positive"
    item.refresh_from_db()
    assert item.consensus_label == "positive"
    assert item.consensus_confidence is not None and item.consensus_confidence > 0.5
    cred = {row.user_id: row for row in LabelerCredibility.objects.all()}
    assert cred[a.pk].credibility > cred[c.pk].credibility
    assert (cred[c.pk].agreed, cred[c.pk].compared) == (0, 1)
    # Running it again changes nothing.
    assert item_consensus_update(item_id=item.pk) == "positive"
    assert LabelerCredibility.objects.get(user=c).compared == 1


def test_an_item_short_of_k_labels_waits(settings):
    dataset = DatasetFactory.create(labels_per_item=3)
    item = ItemFactory.create(dataset=dataset)
    label(item, UserFactory.create(), "neutral")
    assert item_consensus_update(item_id=item.pk) is None
    assert Item.objects.get(pk=item.pk).consensus_label is None


def test_the_kth_label_enqueues_consensus(settings, django_capture_on_commit_callbacks):
    settings.LABEL_GOLD_RATE = 0.0
    settings.CELERY_TASK_ALWAYS_EAGER = True  # runs the task body inline: a unit test of it
    from marketplace.celery import app

    app.conf.task_always_eager = True
    try:
        dataset = DatasetFactory.create(labels_per_item=2)
        item = ItemFactory.create(dataset=dataset)
        for user in UserFactory.create_batch(2):
            with django_capture_on_commit_callbacks(execute=True):
                labeling_next_item(dataset=dataset, user=user)
                label_submit(item=item, user=user, value="neutral")
    finally:
        app.conf.task_always_eager = False
    assert Item.objects.get(pk=item.pk).consensus_label == "neutral"


def test_gold_answers_count_towards_credibility(settings):
    settings.LABEL_GOLD_RATE = 1.0
    dataset = DatasetFactory.create()
    gold = ItemFactory.create(dataset=dataset)
    item_set_gold(item=gold, actor=dataset.owner, gold_label="positive")
    user = UserFactory.create()
    labeling_next_item(dataset=dataset, user=user)
    label_submit(item=gold, user=user, value="positive")
    row = LabelerCredibility.objects.get(user=user)
    assert (row.gold_correct, row.gold_total) == (1, 1)


def test_dawid_skene_refresh_overrules_a_majority_of_spammers():
    """Two labelers always answer "positive"; three careful ones are right. On items where the
    two spammers outvote one careful labeler, Dawid-Skene follows the careful one."""
    rng = random.Random(7)  # noqa: S311 - test data
    dataset = DatasetFactory.create(labels_per_item=3)
    careful = UserFactory.create_batch(3)
    spammers = UserFactory.create_batch(2)
    truth: dict[int, str] = {}
    contested: list[int] = []
    for n in range(120):
        item = ItemFactory.create(dataset=dataset)
        truth[item.pk] = rng.choice(CLASSES)
        if n % 4 == 0:  # contested: both spammers and one careful labeler
            voters = [*spammers, careful[n % 3]]
            contested.append(item.pk)
        else:
            voters = careful
        for user in voters:
            label(item, user, "positive" if user in spammers else truth[item.pk])
    Dataset.objects.filter(pk=dataset.pk).update(labels_count=360)
    outcome = dataset_consensus_refresh(dataset_id=dataset.pk)
    decided = dict(Item.objects.values_list("pk", "consensus_label"))
    wrong_contested = [i for i in contested if truth[i] != "positive"]
    assert wrong_contested, "the data must contain items the spammers get wrong"
    assert all(decided[i] == truth[i] for i in wrong_contested)
    assert sum(decided[i] == truth[i] for i in truth) / len(truth) >= 0.98
    dataset.refresh_from_db()
    assert dataset.agreement_alpha is not None and outcome["alpha"] == dataset.agreement_alpha


def test_a_split_vote_asks_for_more_labels_before_deciding(settings):
    settings.CONSENSUS_MIN_CONFIDENCE = 0.7
    settings.CONSENSUS_EXTRA_LABELS = 2
    dataset = DatasetFactory.create(labels_per_item=3)
    item = ItemFactory.create(dataset=dataset, slots_open=0)
    a, b, c, d, e = UserFactory.create_batch(5)
    for user, value in ((a, "positive"), (b, "positive"), (c, "negative")):
        label(item, user, value)
    assert item_consensus_update(item_id=item.pk) is None  # 2-1: one more label is asked for
    item.refresh_from_db()
    assert item.slots_open == 1 and item.consensus_label is None
    assert not LabelerCredibility.objects.filter(compared__gt=0).exists()
    label(item, d, "positive")
    assert item_consensus_update(item_id=item.pk) == "positive"  # 3-1 is clear enough
    item.refresh_from_db()
    assert item.consensus_at is not None

    # A split that stays split is decided at k + CONSENSUS_EXTRA_LABELS labels.
    tied = ItemFactory.create(dataset=dataset, slots_open=0)
    for user, value in ((a, "positive"), (b, "negative"), (c, "neutral"), (d, "positive")):
        label(tied, user, value)
    assert item_consensus_update(item_id=tied.pk) is None
    label(tied, e, "negative")
    assert item_consensus_update(item_id=tied.pk) is not None


def test_span_consensus_reads_the_labels_once_to_decide_and_score_them(
    settings, django_assert_num_queries
):
    settings.CONSENSUS_MIN_CONFIDENCE = 0.0
    dataset = DatasetFactory.create(label_task="spans", label_classes=["PER"], labels_per_item=3)
    item = ItemFactory.create(dataset=dataset, data={"text": "Ada met Charles"})
    ada = {"start": 0, "end": 3, "label": "PER"}
    a, b, c = UserFactory.create_batch(3)
    for user, value in [(a, [ada]), (b, [ada]), (c, [])]:
        label(item, user, value)
    # A savepoint, the item, its labels; get_or_create of 3 credibility rows (4 each: select,
    # savepoint, insert, release) and their lock; an UPDATE of the item, one of the labels'
    # scores, one per credibility row; release.
    with django_assert_num_queries(3 + 3 * 4 + 1 + 1 + 1 + 3 + 1) as captured:
        assert item_consensus_update(item_id=item.pk) == [ada]
    label_reads = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith("SELECT") and 'FROM "datasets_app_label"' in query["sql"]
    ]
    assert len(label_reads) == 1  # the scores are saved from the labels already read
    scores = dict(Label.objects.filter(item=item).values_list("labeler_id", "score"))
    assert scores == {a.pk: 1.0, b.pk: 1.0, c.pk: 0.0}
