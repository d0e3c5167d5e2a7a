"""Text spans and image boxes (issue 16) through the real services, API and PostgreSQL: the
dataset definition, coded refusals of bad labels, gold scoring, consensus from k labels with
credibility weights, label scores and the extra label on low agreement."""

from __future__ import annotations

from typing import Any

import pytest

from datasets_app.exceptions import LabelingError
from datasets_app.models import Dataset, Item, Label, LabelerCredibility
from datasets_app.services import (
    item_consensus_update,
    item_set_gold,
    label_submit,
    labeling_next_item,
)
from tests.factories import DatasetFactory, ItemFactory, UserFactory, credibility

pytestmark = pytest.mark.django_db

TEXT = "Ada Lovelace met Charles Babbage in London."
ADA = {"start": 0, "end": 12, "label": "PER"}
CHARLES = {"start": 17, "end": 32, "label": "PER"}
LONDON = {"start": 36, "end": 42, "label": "LOC"}
IMAGE = {"path": "items/street.png", "width": 640, "height": 480, "format": "PNG"}
CAR = {"x": 10, "y": 20, "w": 100, "h": 50, "label": "car"}
BIKE = {"x": 300, "y": 200, "w": 60, "h": 80, "label": "bike"}


@pytest.fixture(autouse=True)
def _no_gold(settings):  # type: ignore[no-untyped-def]
    settings.LABEL_GOLD_RATE = 0.0


def spans_dataset(**fields: Any) -> Dataset:
    return DatasetFactory.create(label_task="spans", label_classes=["PER", "LOC", "ORG"], **fields)


def boxes_dataset(**fields: Any) -> Dataset:
    return DatasetFactory.create(
        modality="image",
        columns=[{"name": "image", "dtype": "image"}, {"name": "city", "dtype": "string"}],
        label_task="boxes",
        label_classes=["car", "bike"],
        **fields,
    )


def label(item: Item, user, value) -> None:  # type: ignore[no-untyped-def]
    """A label as label_submit stores it (already validated), without the queue around it."""
    Label.objects.create(item=item, labeler=user, dataset=item.dataset, value=value)
    Item.objects.filter(pk=item.pk).update(labels_count=item.labels_count + 1)
    item.labels_count += 1


# ---------- the dataset definition ----------

NEW = {
    "title": "News entities",
    "description": "News sentences with their people, places and organisations.",
    "modality": "text",
    "columns": [{"name": "sentence", "dtype": "string"}],
    "label_task": "spans",
    "label_classes": ["PER"],
    "status": "open",
}


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"label_classes": []}, "invalid_classes", "at least one entity class"),
        ({"label_task": "boxes", "label_classes": ["car"]}, "invalid_task", "image dataset"),
        ({"columns": [{"name": "n", "dtype": "int64"}]}, "invalid_task", "type string"),
        ({"span_match": "fuzzy"}, "invalid", "not a valid choice"),
        ({"span_token_overlap": 0}, "invalid", "greater than or equal"),
    ],
)
def test_a_bad_span_or_box_definition_is_refused_and_nothing_stored(client, change, code, message):  # type: ignore[no-untyped-def]
    client.force_login(UserFactory.create())
    response = client.post("/api/v1/datasets/", {**NEW, **change}, content_type="application/json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert code in body["code"] and message in body["detail"]
    assert not Dataset.objects.exists()


def test_a_span_dataset_keeps_its_settings_and_the_api_shows_them(client):  # type: ignore[no-untyped-def]
    client.force_login(UserFactory.create())
    created = client.post(
        "/api/v1/datasets/",
        {**NEW, "spans_allow_overlap": True, "span_match": "exact", "span_token_overlap": 0.6},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    shown = client.get(f"/api/v1/datasets/{created.json()['slug']}/").json()
    assert {k: shown[k] for k in ("label_task", "label_classes", "spans_allow_overlap")} == {
        "label_task": "spans",
        "label_classes": ["PER"],
        "spans_allow_overlap": True,
    }
    assert (shown["span_match"], shown["span_token_overlap"]) == ("exact", 0.6)
    defaults = client.post(
        "/api/v1/datasets/", {**NEW, "title": "Other"}, content_type="application/json"
    ).json()
    assert (defaults["spans_allow_overlap"], defaults["span_match"]) == (False, "token")
    assert defaults["span_token_overlap"] == 0.5


def test_the_dataset_form_creates_a_box_dataset_with_one_class(client):  # type: ignore[no-untyped-def]
    client.force_login(UserFactory.create())
    form = {
        "title": "Cars", "description": "Street photos.", "modality": "image",
        "columns": "image:image", "label_task": "boxes", "label_classes": "car",
        "labels_per_item": 3, "status": "draft", "pii_policy": "reject",
        "near_duplicate_threshold": 0.8,
    }  # fmt: skip
    response = client.post("/datasets/new/", form)
    assert response.status_code == 302, response.context["form"].errors
    dataset = Dataset.objects.get()
    assert (dataset.label_task, dataset.label_classes) == ("boxes", ["car"])
    assert (dataset.span_match, dataset.span_token_overlap) == ("token", 0.5)
    refused = client.post("/datasets/new/", {**form, "label_classes": ""})
    assert "at least one object class" in refused.context["form"].errors["label_classes"][0]


def test_the_labeling_page_and_api_give_the_annotation_js_what_it_needs(client):  # type: ignore[no-untyped-def]
    dataset = boxes_dataset(labels_per_item=1)
    item = ItemFactory.create(dataset=dataset, data={"image": IMAGE, "city": "Oslo"})
    client.force_login(UserFactory.create())
    page = client.get(f"/datasets/{dataset.slug}/label/")
    assert page.context["annotation"] == {
        "task": "boxes",
        "classes": ["car", "bike"],
        "allow_overlap": False,
        "span_match": "token",
        "text_column": "city",
        "image_column": "image",
    }
    got = client.get(f"/api/v1/datasets/{dataset.slug}/labeling/next").json()
    assert got["id"] == item.pk
    assert got["annotate"]["image_url"].endswith("items/street.png")
    assert (got["annotate"]["width"], got["annotate"]["height"]) == (640, 480)

    spans = spans_dataset(labels_per_item=1)
    ItemFactory.create(dataset=spans, data={"text": TEXT})
    got = client.get(f"/api/v1/datasets/{spans.slug}/labeling/next").json()
    assert got["annotate"] == {"text": TEXT}


# ---------- labels: coded refusals, nothing stored ----------


def _post(client, item: Item, value: Any):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/items/{item.pk}/labels/", {"value": value}, content_type="application/json"
    )


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ({"start": 0, "end": 3, "label": "PER"}, "spans_not_a_list"),
        ([{"start": 0, "end": 3}], "span_malformed"),
        ([{"start": 0, "end": 3.5, "label": "PER"}], "span_malformed"),
        ([{"start": 30, "end": 99, "label": "PER"}], "span_outside_text"),
        ([{"start": 5, "end": 5, "label": "PER"}], "span_outside_text"),
        ([{"start": 0, "end": 3, "label": "DATE"}], "span_unknown_class"),
        ([ADA, ADA], "span_duplicate"),
        ([ADA, {"start": 4, "end": 12, "label": "LOC"}], "span_overlap"),
    ],
)
def test_a_bad_span_label_is_refused_with_its_code_and_nothing_is_stored(client, value, code):  # type: ignore[no-untyped-def]
    dataset = spans_dataset(labels_per_item=1)
    item = ItemFactory.create(dataset=dataset, data={"text": TEXT})
    user = UserFactory.create()
    client.force_login(user)
    labeling_next_item(dataset=dataset, user=user)
    response = _post(client, item, value)
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["detail"]
    assert not Label.objects.exists()
    # The slot is still theirs: a good label goes in.
    ok = _post(client, item, [LONDON, ADA])
    assert ok.status_code == 201
    assert Label.objects.get().value == [ADA, LONDON]  # sorted by (start, end, label)


def test_a_label_with_too_many_spans_is_refused():  # type: ignore[no-untyped-def]
    dataset = spans_dataset(labels_per_item=1, spans_allow_overlap=True)
    item = ItemFactory.create(dataset=dataset, data={"text": "x" * 1000})
    user = UserFactory.create()
    labeling_next_item(dataset=dataset, user=user)
    many = [{"start": i, "end": i + 1, "label": "PER"} for i in range(501)]
    with pytest.raises(LabelingError) as refused:
        label_submit(item=item, user=user, value=many)
    assert refused.value.code == "too_many_annotations"
    assert len(label_submit(item=item, user=user, value=many[:500]).value) == 500


def test_switching_a_text_dataset_to_boxes_is_refused(client):  # type: ignore[no-untyped-def]
    dataset = DatasetFactory.create(status="draft")
    client.force_login(dataset.owner)
    response = client.patch(
        f"/api/v1/datasets/{dataset.slug}/",
        {"label_task": "boxes", "label_classes": ["car"]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_task"
    dataset.refresh_from_db()
    assert dataset.label_task == "single_label"


def test_overlapping_spans_go_in_where_the_dataset_allows_them(client):  # type: ignore[no-untyped-def]
    dataset = spans_dataset(labels_per_item=1, spans_allow_overlap=True)
    item = ItemFactory.create(dataset=dataset, data={"text": TEXT})
    user = UserFactory.create()
    labeling_next_item(dataset=dataset, user=user)
    nested = {"start": 4, "end": 12, "label": "LOC"}
    assert label_submit(item=item, user=user, value=[ADA, nested]).value == [ADA, nested]


def test_an_empty_list_is_a_label():  # type: ignore[no-untyped-def]
    dataset = spans_dataset(labels_per_item=1)
    item = ItemFactory.create(dataset=dataset, data={"text": TEXT})
    user = UserFactory.create()
    labeling_next_item(dataset=dataset, user=user)
    assert label_submit(item=item, user=user, value=[]).value == []


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("car", "boxes_not_a_list"),
        ([{"x": 1, "y": 1, "w": 5, "label": "car"}], "box_malformed"),
        ([{**CAR, "w": 0}], "box_empty"),
        ([{**CAR, "x": 600}], "box_outside_image"),
        ([{**CAR, "y": -1}], "box_outside_image"),
        ([{**CAR, "label": "truck"}], "box_unknown_class"),
    ],
)
def test_a_bad_box_label_is_refused_with_its_code_and_nothing_is_stored(client, value, code):  # type: ignore[no-untyped-def]
    dataset = boxes_dataset(labels_per_item=1)
    item = ItemFactory.create(dataset=dataset, data={"image": IMAGE, "city": "Oslo"})
    user = UserFactory.create()
    client.force_login(user)
    labeling_next_item(dataset=dataset, user=user)
    response = _post(client, item, value)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not Label.objects.exists()


def test_boxes_are_checked_against_the_original_size_and_stored_in_whole_pixels():  # type: ignore[no-untyped-def]
    dataset = boxes_dataset(labels_per_item=1)
    item = ItemFactory.create(dataset=dataset, data={"image": IMAGE, "city": "Oslo"})
    user = UserFactory.create()
    labeling_next_item(dataset=dataset, user=user)
    # The right edge at exactly 640 is inside a 640-pixel-wide image.
    edge = {"x": 539.6, "y": 0.4, "w": 100.4, "h": 479.2, "label": "bike"}
    stored = label_submit(item=item, user=user, value=[edge]).value
    assert stored == [{"x": 540, "y": 0, "w": 100, "h": 480, "label": "bike"}]


def test_a_box_that_rounds_to_nothing_keeps_the_pixel_it_lies_in():  # type: ignore[no-untyped-def]
    dataset = boxes_dataset(labels_per_item=1)
    item = ItemFactory.create(dataset=dataset, data={"image": IMAGE, "city": "Oslo"})
    user = UserFactory.create()
    labeling_next_item(dataset=dataset, user=user)
    # Slivers whose edges round together: one mid-image, one in the bottom-right corner pixel
    # (its edges round to 640 and 480, yet it is drawn inside the image and stays there).
    slivers = [
        {"x": 10.6, "y": 20.1, "w": 0.2, "h": 0.3, "label": "car"},
        {"x": 639.6, "y": 479.7, "w": 0.3, "h": 0.2, "label": "car"},
    ]
    stored = label_submit(item=item, user=user, value=slivers).value
    assert stored == [
        {"x": 10, "y": 20, "w": 1, "h": 1, "label": "car"},
        {"x": 639, "y": 479, "w": 1, "h": 1, "label": "car"},
    ]


def test_an_item_without_a_known_image_size_refuses_boxes():  # type: ignore[no-untyped-def]
    dataset = boxes_dataset(labels_per_item=1)
    item = ItemFactory.create(dataset=dataset, data={"image": {"path": "a.png"}, "city": "x"})
    user = UserFactory.create()
    labeling_next_item(dataset=dataset, user=user)
    with pytest.raises(LabelingError) as refused:
        label_submit(item=item, user=user, value=[CAR])
    assert refused.value.code == "image_size_unknown"


# ---------- gold ----------


def test_a_gold_answer_is_validated_like_a_label():  # type: ignore[no-untyped-def]
    dataset = spans_dataset()
    item = ItemFactory.create(dataset=dataset, data={"text": TEXT})
    with pytest.raises(LabelingError) as refused:
        item_set_gold(item=item, actor=dataset.owner, gold_label=[{**ADA, "end": 99}])
    assert refused.value.code == "span_outside_text"
    item.refresh_from_db()
    assert (item.is_gold, item.gold_label) == (False, None)
    item_set_gold(item=item, actor=dataset.owner, gold_label=[LONDON, ADA])
    item.refresh_from_db()
    assert (item.is_gold, item.gold_label) == (True, [ADA, LONDON])


def test_gold_items_score_labelers_by_span_f1(settings):  # type: ignore[no-untyped-def]
    settings.LABEL_GOLD_RATE = 1.0
    dataset = spans_dataset(span_match="exact")
    gold = ItemFactory.create(dataset=dataset, data={"text": TEXT})
    item_set_gold(item=gold, actor=dataset.owner, gold_label=[ADA, CHARLES, LONDON])
    good, half, bad = UserFactory.create_batch(3)
    answers = {
        good: [ADA, CHARLES, LONDON],
        half: [ADA],  # F1 = 2 * 1 / (1 + 3) = 0.5: just gold-correct
        bad: [{"start": 17, "end": 24, "label": "LOC"}],
    }
    for user, value in answers.items():
        assert labeling_next_item(dataset=dataset, user=user) == gold
        label_submit(item=gold, user=user, value=value)
    scored = {row.labeler_id: row for row in Label.objects.filter(item=gold)}
    assert (scored[good.pk].gold_score, scored[good.pk].gold_correct) == (1.0, True)
    assert (scored[half.pk].gold_score, scored[half.pk].gold_correct) == (0.5, True)
    assert (scored[bad.pk].gold_score, scored[bad.pk].gold_correct) == (0.0, False)
    rows = {row.user_id: row for row in LabelerCredibility.objects.all()}
    assert [(rows[u.pk].gold_correct, rows[u.pk].gold_total) for u in (good, half, bad)] == [
        (1.0, 1),
        (0.5, 1),
        (0.0, 1),
    ]
    # Gold items are graded, never decided by consensus; they hold no slot.
    assert item_consensus_update(item_id=gold.pk) is None


def test_gold_items_score_labelers_by_box_f1_at_iou_half(settings):  # type: ignore[no-untyped-def]
    settings.LABEL_GOLD_RATE = 1.0
    dataset = boxes_dataset()
    gold = ItemFactory.create(dataset=dataset, data={"image": IMAGE, "city": "Oslo"})
    item_set_gold(item=gold, actor=dataset.owner, gold_label=[CAR, BIKE])
    close, far = UserFactory.create_batch(2)
    near_car = {**CAR, "x": 15, "w": 100}  # IoU 95/105 with the gold car
    for user, value in ((close, [near_car, BIKE]), (far, [{**CAR, "x": 200}])):
        labeling_next_item(dataset=dataset, user=user)
        label_submit(item=gold, user=user, value=value)
    scored = {row.labeler_id: row for row in Label.objects.filter(item=gold)}
    assert (scored[close.pk].gold_score, scored[close.pk].gold_correct) == (1.0, True)
    assert (scored[far.pk].gold_score, scored[far.pk].gold_correct) == (0.0, False)


# ---------- consensus ----------


def test_span_consensus_from_k_labels_scores_each_label_and_moves_credibility(settings):  # type: ignore[no-untyped-def]
    settings.CONSENSUS_MIN_CONFIDENCE = 0.5
    dataset = spans_dataset(labels_per_item=3)
    item = ItemFactory.create(dataset=dataset, data={"text": TEXT})
    a, b, lazy = UserFactory.create_batch(3)
    credibility(a, 0.8)  # between two matching spans, the one more weight marked exactly wins
    label(item, a, [ADA, CHARLES, LONDON])
    label(item, b, [{**ADA, "end": 3}, CHARLES, LONDON])  # "Ada" alone: shares 1 of 2 tokens
    label(item, lazy, [LONDON])
    decided = item_consensus_update(item_id=item.pk)
    assert decided == [ADA, CHARLES, LONDON]
    item.refresh_from_db()
    assert item.consensus_label == decided and item.consensus_at is not None
    # Mean pairwise span F1 with token matching: a-b 1, a-lazy 0.5, b-lazy 0.5.
    assert item.consensus_confidence == pytest.approx(2 / 3)
    scores = dict(Label.objects.filter(item=item).values_list("labeler_id", "score"))
    assert scores == {a.pk: 1.0, b.pk: 1.0, lazy.pk: 0.5}
    rows = {row.user_id: row for row in LabelerCredibility.objects.all()}
    assert (rows[lazy.pk].agreed, rows[lazy.pk].compared) == (0.5, 1)
    assert rows[a.pk].credibility > rows[lazy.pk].credibility
    # Safe to run twice: nothing changes.
    assert item_consensus_update(item_id=item.pk) == decided
    assert LabelerCredibility.objects.get(user=lazy).compared == 1


def test_span_consensus_follows_credibility_not_heads(settings):  # type: ignore[no-untyped-def]
    settings.CONSENSUS_MIN_CONFIDENCE = 0.0
    dataset = spans_dataset(labels_per_item=3, span_match="exact")
    item = ItemFactory.create(dataset=dataset, data={"text": TEXT})
    trusted, new1, new2 = UserFactory.create_batch(3)
    credibility(trusted, 0.9)
    credibility(new1, 0.2)
    credibility(new2, 0.2)
    label(item, trusted, [ADA])
    wrong = [{"start": 0, "end": 12, "label": "ORG"}]
    label(item, new1, wrong)
    label(item, new2, wrong)
    # Two heads against one, but 0.9 of 1.3 weight says PER.
    assert item_consensus_update(item_id=item.pk) == [ADA]
    scores = dict(Label.objects.filter(item=item).values_list("labeler_id", "score"))
    assert scores == {trusted.pk: 1.0, new1.pk: 0.0, new2.pk: 0.0}


def test_box_consensus_is_the_weighted_mean_in_whole_pixels_and_scores_a_lazy_labeler(
    settings,
):  # type: ignore[no-untyped-def]
    settings.CONSENSUS_MIN_CONFIDENCE = 0.5
    dataset = boxes_dataset(labels_per_item=3)
    item = ItemFactory.create(dataset=dataset, data={"image": IMAGE, "city": "Oslo"})
    a, b, lazy = UserFactory.create_batch(3)
    label(item, a, [CAR, BIKE])
    label(item, b, [{**CAR, "x": 14}, BIKE])
    label(item, lazy, [{**CAR, "x": 12}])  # one box of two
    decided = item_consensus_update(item_id=item.pk)
    assert decided == [BIKE, {**CAR, "x": 12}]  # classes in order, x the mean of 10, 14, 12
    assert all(isinstance(box[k], int) for box in decided for k in "xywh")
    item.refresh_from_db()
    # F1@0.5 per pair: a-b 1, a-lazy 2/3, b-lazy 2/3.
    assert item.consensus_confidence == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    scores = dict(Label.objects.filter(item=item).values_list("labeler_id", "score"))
    assert scores[a.pk] == scores[b.pk] == 1.0
    assert scores[lazy.pk] == pytest.approx(2 / 3)


def test_low_agreement_asks_for_another_label_up_to_the_extra_ones(settings):  # type: ignore[no-untyped-def]
    settings.CONSENSUS_MIN_CONFIDENCE = 0.8
    settings.CONSENSUS_EXTRA_LABELS = 1
    dataset = spans_dataset(labels_per_item=2, span_match="exact")
    item = ItemFactory.create(dataset=dataset, data={"text": TEXT}, slots_open=0)
    a, b, c = UserFactory.create_batch(3)
    label(item, a, [ADA, LONDON])
    label(item, b, [CHARLES])  # pairwise F1 0: no agreement yet
    assert item_consensus_update(item_id=item.pk) is None
    item.refresh_from_db()
    assert (item.consensus_label, item.slots_open) == (None, 1)
    assert not LabelerCredibility.objects.filter(compared__gt=0).exists()
    # The extra label is the last one allowed: consensus is decided whatever the agreement.
    assert labeling_next_item(dataset=dataset, user=c) == item
    label_submit(item=item, user=c, value=[ADA, LONDON])
    assert item_consensus_update(item_id=item.pk) == [ADA, LONDON]
    item.refresh_from_db()
    assert item.consensus_confidence == pytest.approx(1 / 3)
    scores = dict(Label.objects.filter(item=item).values_list("labeler_id", "score"))
    assert scores == {a.pk: 1.0, b.pk: 0.0, c.pk: 1.0}
