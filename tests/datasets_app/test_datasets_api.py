"""Datasets through the API and pages: create, edit, visibility, catalogue, query counts."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datasets_app.models import Dataset, Label
from marketplace.core.models import AuditLog
from tests.factories import DatasetFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW = {
    "title": "Street signs",
    "description": "Photos of street signs with their type.",
    "modality": "image",
    "columns": [{"name": "image", "dtype": "image"}, {"name": "city", "dtype": "string"}],
    "label_task": "single_label",
    "label_classes": ["stop", "yield", "speed limit"],
    "labels_per_item": 3,
    "status": "open",
}


@pytest.fixture
def owner(client):  # type: ignore[no-untyped-def]
    user = UserFactory.create()
    client.force_login(user)
    return user


def test_owner_creates_a_dataset_with_a_slug_and_an_audit_entry(client, owner):
    response = client.post("/api/v1/datasets/", NEW, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "street-signs"
    assert body["owner"] == owner.address
    assert AuditLog.objects.filter(action="dataset.created", actor=owner).exists()
    again = client.post("/api/v1/datasets/", NEW, content_type="application/json").json()
    assert again["slug"] == "street-signs-2"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"columns": [{"name": "1bad", "dtype": "string"}], "modality": "text"}, "Column name"),
        ({"columns": [{"name": "a", "dtype": "decimal"}], "modality": "text"}, "not one of"),
        ({"columns": [{"name": "city", "dtype": "string"}]}, "exactly one column of type image"),
        ({"label_classes": ["only"]}, "at least two classes"),
        ({"label_classes": ["a", "A"]}, "distinct"),
        ({"labels_per_item": 0}, "greater than or equal"),
    ],
)
def test_bad_definitions_are_explained_and_nothing_is_stored(client, owner, change, message):
    response = client.post("/api/v1/datasets/", {**NEW, **change}, content_type="application/json")
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Dataset.objects.exists()


def test_only_the_owner_edits_and_the_schema_freezes_once_items_exist(client, owner):
    dataset = DatasetFactory.create(owner=owner)
    ok = client.patch(
        f"/api/v1/datasets/{dataset.slug}/",
        {"title": "Better title"},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["title"] == "Better title"
    ItemFactory.create(dataset=dataset)
    Dataset.objects.filter(pk=dataset.pk).update(items_count=1)
    frozen = client.patch(
        f"/api/v1/datasets/{dataset.slug}/",
        {"label_classes": ["a", "b"]},
        content_type="application/json",
    )
    assert frozen.status_code == 400 and frozen.json()["code"] == "frozen_schema"
    client.force_login(UserFactory.create())
    other = client.patch(
        f"/api/v1/datasets/{dataset.slug}/", {"title": "Mine now"}, content_type="application/json"
    )
    assert other.status_code == 403
    dataset.refresh_from_db()
    assert dataset.title == "Better title"


def test_drafts_are_seen_by_their_owner_only_and_hidden_ones_by_staff(client, owner):
    draft = DatasetFactory.create(owner=owner, status="draft")
    hidden = DatasetFactory.create(status="hidden")
    assert client.get(f"/api/v1/datasets/{draft.slug}/").status_code == 200
    assert client.get(f"/api/v1/datasets/{hidden.slug}/").status_code == 404
    client.logout()
    assert client.get(f"/api/v1/datasets/{draft.slug}/").status_code == 404
    assert client.get(f"/datasets/{draft.slug}/").status_code == 404
    client.force_login(UserFactory.create(is_staff=True))
    assert client.get(f"/api/v1/datasets/{hidden.slug}/").status_code == 200


def test_catalogue_searches_filters_and_paginates(client):
    DatasetFactory.create(
        title="Bird calls", description="Audio transcripts of birds", modality="text"
    )
    DatasetFactory.create(
        title="Road signs",
        description="Traffic sign photos",
        modality="image",
        columns=[{"name": "image", "dtype": "image"}],
    )
    DatasetFactory.create_batch(30, modality="tabular")
    DatasetFactory.create(title="Secret draft", status="draft")
    from datasets_app.services.datasets import _refresh_search

    for dataset in Dataset.objects.all():
        _refresh_search(dataset)
    titles = [d["title"] for d in client.get("/api/v1/datasets/?search=birds").json()["results"]]
    assert titles == ["Bird calls"]
    images = client.get("/api/v1/datasets/?modality=image").json()
    assert [d["title"] for d in images["results"]] == ["Road signs"]
    page = client.get("/api/v1/datasets/").json()
    assert page["count"] == 32 and len(page["results"]) == 24 and page["next"]
    html = client.get("/?q=traffic").content.decode()
    assert "Road signs" in html and "Bird calls" not in html
    assert "Secret draft" not in client.get("/").content.decode()


def _queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    cache.clear()  # what a page counts when its cached figures are gone (a write moved them)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_catalogue_query_count_stays_flat_as_datasets_grow(client):
    DatasetFactory.create_batch(2)
    few = _queries(client, "/")
    DatasetFactory.create_batch(10)
    assert _queries(client, "/") == few


def test_labeling_api_query_count_stays_flat_as_items_grow(client, settings):
    settings.LABEL_GOLD_RATE = 0.0
    dataset = DatasetFactory.create()
    ItemFactory.create_batch(3, dataset=dataset)
    user = UserFactory.create()
    client.force_login(user)
    few = _queries(client, f"/api/v1/datasets/{dataset.slug}/labeling/next")
    client.post(f"/api/v1/datasets/{dataset.slug}/labeling/undo")  # nothing; keeps state simple
    ItemFactory.create_batch(200, dataset=dataset)
    fresh = UserFactory.create()
    client.force_login(fresh)
    assert _queries(client, f"/api/v1/datasets/{dataset.slug}/labeling/next") == few


def test_labeling_through_the_api(client, settings):
    settings.LABEL_GOLD_RATE = 0.0
    dataset = DatasetFactory.create(labels_per_item=1)
    item = ItemFactory.create(dataset=dataset, data={"text": "nice"})
    client.force_login(UserFactory.create())
    got = client.get(f"/api/v1/datasets/{dataset.slug}/labeling/next").json()
    assert got == {"id": item.pk, "data": {"text": "nice"}}
    bad = client.post(
        f"/api/v1/items/{item.pk}/labels/", {"value": "great"}, content_type="application/json"
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_label"
    ok = client.post(
        f"/api/v1/items/{item.pk}/labels/", {"value": "positive"}, content_type="application/json"
    )
    assert ok.status_code == 201
    assert client.get(f"/api/v1/datasets/{dataset.slug}/labeling/next").status_code == 204
    assert [lb["value"] for lb in client.get("/api/v1/labels/").json()["results"]] == ["positive"]


def test_dataset_card_markdown_is_rendered_without_raw_html(client):
    dataset = DatasetFactory.create(
        card_markdown="# Card\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) **bold**"
    )
    html = client.get(f"/datasets/{dataset.slug}/").content.decode()
    assert "<h2>Card</h2>" in html and "<strong>bold</strong>" in html  # under the page's h1
    assert "<script>alert(1)</script>" not in html
    assert 'href="javascript:' not in html


def test_dataset_card_code_blocks_and_tables_are_keyboard_scrollable(client):
    dataset = DatasetFactory.create(
        card_markdown="```\nwide code\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<pre>raw</pre>"
    )
    html = client.get(f"/datasets/{dataset.slug}/").content.decode()
    assert '<pre tabindex="0"><code>wide code' in html and '<table tabindex="0">' in html
    assert "&lt;pre&gt;raw&lt;/pre&gt;" in html  # raw HTML stays text, untouched


def test_dataset_form_puts_a_service_refusal_beside_its_field(client, owner):
    response = client.post(
        "/datasets/new/",
        {
            "title": "T", "description": "D", "modality": "text", "columns": "text:decimal",
            "label_task": "single_label", "label_classes": "a\nb", "labels_per_item": 2,
            "status": "draft", "pii_policy": "reject", "near_duplicate_threshold": 0.8,
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "not one of" in response.context["form"].errors["columns"][0]
    assert not Dataset.objects.exists()


def test_labeling_page_query_count_stays_flat_as_items_and_labels_grow(client):
    dataset = DatasetFactory.create()
    user = UserFactory.create()
    client.force_login(user)
    ItemFactory.create_batch(2, dataset=dataset)
    few = _queries(client, f"/datasets/{dataset.slug}/label/")
    for item in ItemFactory.create_batch(30, dataset=dataset):
        Label.objects.create(item=item, labeler=user, dataset=dataset, value="positive")
    assert _queries(client, f"/datasets/{dataset.slug}/label/") == few


def test_dataset_page_query_count_stays_flat_as_items_and_labels_grow(client):
    dataset = DatasetFactory.create()
    ItemFactory.create_batch(2, dataset=dataset)
    few = _queries(client, f"/datasets/{dataset.slug}/")
    labelers = UserFactory.create_batch(3)
    for item in ItemFactory.create_batch(30, dataset=dataset):
        for labeler in labelers:
            Label.objects.create(item=item, labeler=labeler, dataset=dataset, value="neutral")
    assert _queries(client, f"/datasets/{dataset.slug}/") == few


def test_quality_policy_is_part_of_the_definition_and_checked(client, owner):
    body = {**NEW, "language": "EN", "pii_policy": "flag", "near_duplicate_threshold": 0.9}
    response = client.post("/api/v1/datasets/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["language"], created["pii_policy"], created["near_duplicate_threshold"]) == (
        "en", "flag", 0.9,
    )  # fmt: skip
    bad = client.post(
        "/api/v1/datasets/", {**NEW, "language": "xx"}, content_type="application/json"
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_language"
