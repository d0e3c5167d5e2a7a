"""Moderation in Django admin: every action needs a reason and is written to the audit log."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from datasets_app.models import Contribution, Dataset, Item, Label
from datasets_app.services import contribution_submit, contribution_validate
from marketplace.core.models import AuditLog
from tests.factories import DatasetFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


def act(admin_client, model: str, action: str, pks: list[int], reason: str = "spam"):  # type: ignore[no-untyped-def]
    return admin_client.post(
        f"/admin/datasets_app/{model}/",
        {"action": action, "_selected_action": pks, "reason": reason},
        follow=True,
    )


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
    contribution = contribution_submit(
        dataset=dataset,
        contributor=UserFactory.create(),
        file=ContentFile(b"text\nfine\ngood\n", name="a.csv"),
        filename="a.csv",
        size=15,
    )
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


def test_staff_recompute_consensus_from_admin(admin_client):
    dataset = DatasetFactory.create(labels_per_item=2)
    item = ItemFactory.create(dataset=dataset, labels_count=2)
    for user in UserFactory.create_batch(2):
        Label.objects.create(item=item, labeler=user, dataset=dataset, value="neutral")
    Dataset.objects.filter(pk=dataset.pk).update(labels_count=2)
    response = act(admin_client, "dataset", "refresh_consensus", [dataset.pk])
    assert "1 item(s) changed" in response.content.decode()
    assert Item.objects.get().consensus_label == "neutral"
    assert admin_client.get("/admin/datasets_app/labelercredibility/").status_code == 200
