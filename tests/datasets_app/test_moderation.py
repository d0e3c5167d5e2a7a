"""Moderation in Django admin: every action and edit needs a reason and is written to the audit
log; edits go through ``dataset_update`` (a frozen schema stays frozen, even through a crafted
POST), and recomputing consensus is queued for a worker."""

from __future__ import annotations

from functools import partial

import pytest

from datasets_app.models import Contribution, Dataset, Item, Label
from datasets_app.services import contribution_validate
from marketplace.core.models import AuditLog
from tests.admin_forms import admin_action, post_change_form
from tests.factories import DatasetFactory, ItemFactory, UserFactory, submitted

pytestmark = pytest.mark.django_db


act = partial(admin_action, app="datasets_app")


def test_hiding_a_dataset_takes_it_out_of_the_catalogue_with_an_audit_entry(admin_client, client):
    dataset = DatasetFactory.create(title="Dubious data")
    response = act(admin_client, "dataset", "hide", [dataset.pk], reason="copyright complaint")
    assert response.status_code == 200
    assert Dataset.objects.get().status == "hidden"
    entry = AuditLog.objects.get(action="dataset.moderated")
    assert entry.data == {"from": "open", "to": "hidden", "reason": "copyright complaint"}
    assert entry.actor is not None and entry.actor.is_staff
    assert "Dubious data" not in client.get("/").content.decode()


def test_actions_without_a_reason_are_refused_and_change_nothing(admin_client):
    dataset = DatasetFactory.create()
    response = act(admin_client, "dataset", "hide", [dataset.pk], reason="")
    assert "Give a reason" in response.content.decode()
    assert Dataset.objects.get().status == "open"
    assert not AuditLog.objects.filter(action="dataset.moderated").exists()


def test_rejecting_a_contribution_hides_its_items_and_approving_brings_them_back(admin_client):
    dataset = DatasetFactory.create()
    contribution = submitted(dataset, b"text\nfine\ngood\n", "a.csv")
    contribution_validate(contribution_id=contribution.pk)
    act(admin_client, "contribution", "reject", [contribution.pk], reason="scraped text")
    assert Contribution.objects.get().status == "rejected"
    assert set(Item.objects.values_list("is_hidden", flat=True)) == {True}
    act(admin_client, "contribution", "approve", [contribution.pk], reason="appeal accepted")
    assert Contribution.objects.get().status == "accepted"
    assert set(Item.objects.values_list("is_hidden", flat=True)) == {False}
    actions = list(AuditLog.objects.filter(actor__is_staff=True).values_list("action", flat=True))
    assert set(actions) >= {"contribution.moderation_rejected", "contribution.moderation_approved"}


def test_rejecting_a_label_and_hiding_an_item(admin_client):
    item = ItemFactory.create()
    label = Label.objects.create(
        item=item, labeler=UserFactory.create(), dataset=item.dataset, value="positive"
    )
    act(admin_client, "label", "reject", [label.pk], reason="random clicking")
    act(admin_client, "item", "hide", [item.pk], reason="personal data")
    assert Label.objects.get().is_rejected
    assert Item.objects.get().is_hidden
    assert AuditLog.objects.filter(action__in=["label.rejected", "item.hidden"]).count() == 2


def test_admin_lists_filter_and_search(admin_client):
    DatasetFactory.create(title="Findable birds")
    assert b"Findable birds" in admin_client.get("/admin/datasets_app/dataset/?q=birds").content
    for model in ("dataset", "contribution", "item", "label"):
        assert admin_client.get(f"/admin/datasets_app/{model}/").status_code == 200


def test_recompute_consensus_is_queued_for_a_worker_not_run_in_the_request(
    admin_client, django_capture_on_commit_callbacks, monkeypatch
):
    from datasets_app.tasks import refresh_dataset_consensus

    dataset = DatasetFactory.create(labels_per_item=2)
    item = ItemFactory.create(dataset=dataset, labels_count=2)
    for user in UserFactory.create_batch(2):
        Label.objects.create(item=item, labeler=user, dataset=dataset, value="neutral")
    Dataset.objects.filter(pk=dataset.pk).update(labels_count=2)
    # What reaches the broker is recorded instead of sent: this test is about the request; the
    # task body runs below, and the beat's refresh runs on a real worker elsewhere.
    sent: list[int] = []
    monkeypatch.setattr(refresh_dataset_consensus, "delay", sent.append)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = act(
            admin_client, "dataset", "refresh_consensus", [dataset.pk], reason="labels fixed"
        )
    assert Item.objects.get().consensus_label is None  # Dawid-Skene did not run in the request
    assert len(callbacks) == 1 and sent == [dataset.pk]
    assert "consensus recomputation queued" in response.content.decode()
    response = act(admin_client, "dataset", "refresh_consensus", [dataset.pk], reason="")
    assert "Give a reason" in response.content.decode() and sent == [dataset.pk]
    entry = AuditLog.objects.get(action="dataset.consensus_refresh_queued")
    assert entry.target_id == str(dataset.pk) and entry.data == {"reason": "labels fixed"}

    outcome = refresh_dataset_consensus(dataset.pk)  # the task body, as the worker runs it

    assert outcome["changed"] == 1
    assert Item.objects.get().consensus_label == "neutral"
    assert admin_client.get("/admin/datasets_app/labelercredibility/").status_code == 200


def dataset_url(dataset: Dataset) -> str:
    return f"/admin/datasets_app/dataset/{dataset.pk}/change/"


def test_admin_edits_go_through_dataset_update_with_a_reason(admin_client):
    dataset = DatasetFactory.create(title="Old title", labels_per_item=3)

    response = post_change_form(admin_client, dataset_url(dataset), title="New title", reason="")
    assert "Give a reason: it goes to the audit log." in response.content.decode()
    assert Dataset.objects.get().title == "Old title"

    post_change_form(
        admin_client,
        dataset_url(dataset),
        title="  New title  ",
        labels_per_item="5",
        reason="owner asked by e-mail",
    )

    dataset.refresh_from_db()
    assert (dataset.title, dataset.labels_per_item) == ("New title", 5)  # the service cleaned it
    entry = AuditLog.objects.get(action="dataset.updated")
    assert entry.data == {"fields": ["labels_per_item", "title"], "reason": "owner asked by e-mail"}
    assert entry.actor is not None and entry.actor.is_staff
    assert not AuditLog.objects.filter(action="dataset.admin_edited").exists()


def test_admin_shows_the_service_s_refusal_instead_of_saving(admin_client):
    dataset = DatasetFactory.create(label_classes=["a", "b"])

    response = post_change_form(
        admin_client, dataset_url(dataset), label_classes='["a", "A"]', reason="typo"
    )

    assert response.status_code == 200
    assert "Label classes must be distinct." in response.content.decode()
    assert Dataset.objects.get().label_classes == ["a", "b"]
    assert not AuditLog.objects.filter(action="dataset.updated").exists()


def test_a_frozen_schema_cannot_change_even_through_a_crafted_admin_post(admin_client):
    dataset = DatasetFactory.create()
    ItemFactory.create(dataset=dataset)
    Dataset.objects.filter(pk=dataset.pk).update(items_count=1)
    before = Dataset.objects.values().get(pk=dataset.pk)

    post_change_form(
        admin_client,
        dataset_url(dataset),
        reason="crafted",
        columns='[{"name": "body", "dtype": "string"}]',
        label_task="multi_label",
        label_classes='["x", "y"]',
        modality="tabular",
        status="hidden",
        slug="stolen-slug",
        owner=str(UserFactory.create().pk),
        items_count="0",
        description="A changed description.",
    )

    after = Dataset.objects.values().get(pk=dataset.pk)
    assert after["description"] == "A changed description."
    for field in ("columns", "label_task", "label_classes", "modality", "status", "slug",
                  "owner_id", "items_count"):  # fmt: skip
        assert after[field] == before[field], field
    page = admin_client.get(dataset_url(dataset)).content.decode()
    assert 'name="columns"' not in page and 'name="label_task"' not in page
