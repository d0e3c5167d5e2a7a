"""The row viewer: the rows API (keyset pages, filters, search, who sees what, refusals), the
viewer on the dataset and release pages, and the owner's preview setting."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from datasets_app.enums import LabelTask
from datasets_app.models import Dataset, DatasetRelease, Item, Label
from datasets_app.services import release_parquet
from datasets_app.services.releases import release_build
from tests.factories import DatasetFactory, ItemFactory, UserFactory, make_grant, submitted

pytestmark = pytest.mark.django_db


def rows_url(dataset: Any, **params: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/datasets/{dataset.slug}/rows/" + (f"?{query}" if query else "")


def client_for(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def add_rows(dataset: Any, texts: list[str], **extra: Any) -> list[Item]:
    start = Item.objects.count()
    items = [
        ItemFactory.create(
            dataset=dataset, data={"text": text}, content_hash=f"{start + i:064x}", **extra
        )
        for i, text in enumerate(texts)
    ]
    dataset.items_count = Item.objects.filter(dataset=dataset).count()
    dataset.save(update_fields=["items_count"])
    return items


def walk(client: APIClient, url: str) -> list[dict[str, Any]]:
    """Every row, following ``next`` from ``url``."""
    rows: list[dict[str, Any]] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        rows += response.json()["results"]
        url = response.json()["next"]
    return rows


@pytest.fixture
def dataset() -> Any:
    return DatasetFactory.create(preview_rows=5)


def test_pages_are_complete_stable_and_go_back(dataset: Any) -> None:
    items = add_rows(dataset, [f"row {n}" for n in range(23)])
    owner = client_for(dataset.owner)
    first = owner.get(rows_url(dataset, page_size=5)).json()
    assert first["count"] == 23 and first["previous"] is None and not first["preview"]
    rows = walk(owner, rows_url(dataset, page_size=5))
    assert [row["id"] for row in rows] == [item.pk for item in items]
    # A row added while paging lands at the end; pages already read do not shift.
    second = owner.get(first["next"]).json()
    add_rows(dataset, ["late row"])
    third = owner.get(second["next"]).json()
    assert third["results"][0]["id"] == items[10].pk
    # previous goes back to exactly the page before.
    back = owner.get(third["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in second["results"]]
    back = owner.get(back["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in first["results"]]
    assert back["previous"] is None


def test_hidden_and_gold_items_never_appear(dataset: Any) -> None:
    shown = add_rows(dataset, ["apple one", "apple two"])
    add_rows(dataset, ["apple hidden"], is_hidden=True)
    add_rows(dataset, ["apple gold"], is_gold=True, gold_label="positive")
    owner = client_for(dataset.owner)
    assert [r["id"] for r in walk(owner, rows_url(dataset))] == [i.pk for i in shown]
    assert [r["id"] for r in walk(owner, rows_url(dataset, q="apple"))] == [i.pk for i in shown]
    staff = client_for(UserFactory.create(is_staff=True))
    assert len(walk(staff, rows_url(dataset, q="hidden"))) == 0


def test_filters_by_label_consensus_state_and_flags(dataset: Any) -> None:
    now = timezone.now()
    positive = add_rows(dataset, ["good", "great"], consensus_label="positive", consensus_at=now)
    negative = add_rows(dataset, ["bad"], consensus_label="negative", consensus_at=now)
    pending = add_rows(dataset, ["meh"], labels_count=2)
    unlabelled = add_rows(dataset, ["new"])
    flagged = add_rows(dataset, ["mail me a@b.co"], flags=["pii:email"])
    owner = client_for(dataset.owner)

    def ids(**params: Any) -> list[int]:
        return [r["id"] for r in walk(owner, rows_url(dataset, **params))]

    assert ids(label="positive") == [i.pk for i in positive]
    assert ids(consensus="decided") == [i.pk for i in positive + negative]
    assert ids(consensus="pending") == [i.pk for i in pending]
    assert ids(consensus="none") == [i.pk for i in unlabelled + flagged]
    assert ids(flagged="true") == [i.pk for i in flagged]
    assert ids(flagged="false", consensus="none") == [i.pk for i in unlabelled]
    assert ids(label="positive", flagged="true") == []
    response = owner.get(rows_url(dataset, label="negative")).json()
    assert response["count"] is None  # a filtered count would need a scan
    assert response["results"][0]["label"] == "negative"
    assert response["results"][0]["consensus"] == "decided"
    assert response["results"][0]["flags"] == []
    assert owner.get(rows_url(dataset, flagged="true")).json()["results"][0]["flags"] == [
        "pii:email"
    ]


def test_multi_label_filter_matches_rows_holding_the_label() -> None:
    dataset = DatasetFactory.create(label_task="multi_label", label_classes=["cat", "dog", "owl"])
    both = add_rows(dataset, ["a"], consensus_label=["cat", "dog"])
    dog = add_rows(dataset, ["b"], consensus_label=["dog"])
    add_rows(dataset, ["c"], consensus_label=["owl"])
    rows = walk(client_for(dataset.owner), rows_url(dataset, label="dog"))
    assert [r["id"] for r in rows] == [both[0].pk, dog[0].pk]


def test_search_finds_whole_words_in_any_text_column() -> None:
    dataset = DatasetFactory.create(
        columns=[{"name": "title", "dtype": "string"}, {"name": "body", "dtype": "string"}]
    )
    make = ItemFactory.create
    one = make(dataset=dataset, data={"title": "Zebra crossing", "body": "black and white"})
    two = make(dataset=dataset, data={"title": "Horse", "body": "a zebra's cousin"})
    make(dataset=dataset, data={"title": "Lion", "body": "zebras beware"})
    owner = client_for(dataset.owner)

    def ids(q: str) -> list[int]:
        return [r["id"] for r in walk(owner, rows_url(dataset, q=q))]

    assert ids("zebra") == [one.pk, two.pk]  # whole words: "zebras" is another word
    assert ids("black white") == [one.pk]
    assert ids('"white and black"') == []  # a phrase keeps its order
    assert ids("zebra -crossing") == [two.pk]


def test_visitors_without_a_license_see_the_preview_only(dataset: Any) -> None:
    items = add_rows(dataset, [f"row {n}" for n in range(12)])
    add_rows(dataset, ["hidden first"], is_hidden=True)  # not counted in the preview
    for client in (client_for(), client_for(UserFactory.create())):
        response = client.get(rows_url(dataset, page_size=2)).json()
        assert response["preview"] is True and response["preview_rows"] == 5
        assert response["count"] == 5 and response["total"] == 13
        assert [r["id"] for r in walk(client, rows_url(dataset, page_size=2))] == [
            i.pk for i in items[:5]
        ]
        # Search and filters look within the preview, never past it.
        assert walk(client, rows_url(dataset, q="11")) == []
        assert [r["id"] for r in walk(client, rows_url(dataset, q="3"))] == [items[3].pk]
        assert client.get(rows_url(dataset, q="row")).json()["count"] == 5
        # A cursor made up to point past the preview still stops there.
        after = client.get(rows_url(dataset, page_size=5)).json()["results"][-1]["id"]
        from datasets_app.selectors.rows import Cursor

        past = client.get(rows_url(dataset, page=Cursor(after=after).encode())).json()
        assert past["results"] == []


def test_licensee_owner_and_staff_see_every_row(dataset: Any) -> None:
    items = add_rows(dataset, [f"row {n}" for n in range(9)])
    buyer = UserFactory.create()
    for user in (buyer, dataset.owner, UserFactory.create(is_staff=True)):
        if user is buyer:
            make_grant(buyer, dataset)
        rows = walk(client_for(user), rows_url(dataset, page_size=4))
        assert [r["id"] for r in rows] == [i.pk for i in items]
    expired = UserFactory.create()
    make_grant(expired, dataset, expires_at=timezone.now() - timedelta(days=1))
    assert len(walk(client_for(expired), rows_url(dataset))) == 5


def test_a_zero_preview_shows_nothing_to_visitors(dataset: Any) -> None:
    dataset.preview_rows = 0
    dataset.save()
    add_rows(dataset, ["a", "b"])
    response = client_for().get(rows_url(dataset)).json()
    assert response["results"] == [] and response["count"] == 0 and response["preview"]


def test_draft_datasets_rows_are_not_found_for_others() -> None:
    dataset = DatasetFactory.create(status="draft")
    add_rows(dataset, ["secret"])
    response = client_for(UserFactory.create()).get(rows_url(dataset))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert len(walk(client_for(dataset.owner), rows_url(dataset))) == 1


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"page": "not-a-cursor"}, "invalid_cursor"),
        ({"page": "eyJhZnRlciI6ICJ4In0"}, "invalid_cursor"),  # {"after": "x"}
        ({"page": "eyJvZmZzZXQiOiAzfQ"}, "invalid_cursor"),  # a release's {"offset": 3}
        ({"page_size": "0"}, "invalid_parameter"),
        ({"page_size": "101"}, "invalid_parameter"),
        ({"consensus": "maybe"}, "invalid_parameter"),
        ({"flagged": "perhaps"}, "invalid_parameter"),
        ({"label": "purple"}, "invalid_label"),
        ({"q": "x" * 201}, "invalid_parameter"),
    ],
)
def test_bad_parameters_answer_400_json(dataset: Any, params: dict[str, str], code: str) -> None:
    add_rows(dataset, ["a"])
    response = client_for(dataset.owner).get(rows_url(dataset, **params))
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["detail"]


def test_agreement_is_the_share_of_labels_equal_to_the_consensus(dataset: Any) -> None:
    item, _unlabelled = add_rows(dataset, ["x", "y"], labels_count=3)
    Item.objects.filter(pk=item.pk).update(consensus_label="positive", consensus_confidence=0.7)
    for value in ("positive", "positive", "negative"):
        Label.objects.create(item=item, dataset=dataset, labeler=UserFactory.create(), value=value)
    rows = client_for(dataset.owner).get(rows_url(dataset)).json()["results"]
    assert rows[0]["agreement"] == 0.667 and rows[0]["agreeing_labels"] == 2
    assert rows[0]["labels"] == 3 and rows[0]["confidence"] == 0.7
    assert rows[1]["agreement"] is None and rows[1]["consensus"] == "pending"


def test_query_count_stays_flat_as_the_page_grows(dataset: Any) -> None:
    items = add_rows(dataset, [f"row {n}" for n in range(40)], labels_count=1)
    Item.objects.filter(pk__in=[i.pk for i in items]).update(consensus_label="neutral")
    for item in items:
        Label.objects.create(item=item, dataset=dataset, labeler=dataset.owner, value="neutral")
    counts = []
    for size in (5, 40):
        with CaptureQueriesContext(connection) as queries:
            response = client_for(dataset.owner).get(rows_url(dataset, page_size=size))
        assert len(response.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_image_rows_carry_thumbnail_urls() -> None:
    dataset = DatasetFactory.create(
        modality="image", columns=[{"name": "image", "dtype": "image"}], preview_rows=3
    )
    image = {"path": "items/1/cat.png", "thumbnail": "items/1/cat.thumb.webp", "file_name": "c"}
    ItemFactory.create(dataset=dataset, data={"image": image})
    row = client_for().get(rows_url(dataset)).json()["results"][0]
    assert row["thumbnail_url"].endswith("items/1/cat.thumb.webp")
    assert row["data"]["image"]["url"].endswith("items/1/cat.png")
    assert "path" not in row["data"]["image"]


def test_rows_api_is_in_the_openapi_schema() -> None:
    schema = Client().get("/api/v1/schema/").content.decode()
    assert "/api/v1/datasets/{slug}/rows/" in schema
    assert "DatasetRowPage" in schema


# --- Pages ---------------------------------------------------------------------------------


def test_dataset_page_viewer_works_without_js(dataset: Any) -> None:
    add_rows(dataset, [f"plain row {n}" for n in range(8)], consensus_label="neutral")
    add_rows(dataset, ["long " + "word " * 100])
    page = Client().get(reverse("datasets:detail", kwargs={"slug": dataset.slug}))
    html = page.content.decode()
    assert 'id="viewer"' in html
    assert "Showing the first 5 rows" in html and "see all 9" in html
    assert html.count("<tr data-row-id=") == 5
    dataset.preview_rows = 20  # more than there are: the notice does not promise more rows
    dataset.save(update_fields=["preview_rows", "updated_at"])  # as the edit form saves
    html = Client().get(reverse("datasets:detail", kwargs={"slug": dataset.slug})).content.decode()
    assert "The preview shows all 9 rows" in html and "Showing the first" not in html
    assert html.count("<tr data-row-id=") == 9
    owner = Client()
    owner.force_login(dataset.owner)
    html = owner.get(
        reverse("datasets:detail", kwargs={"slug": dataset.slug}) + "?q=long"
    ).content.decode()
    assert html.count("<tr data-row-id=") == 1
    assert "row-viewer__long" in html and "Showing the first" not in html
    html = owner.get(
        reverse("datasets:detail", kwargs={"slug": dataset.slug}) + "?page=garbage"
    ).content.decode()
    assert "The page cursor is not valid" in html
    assert html.count("<tr data-row-id=") == 9  # the first page instead


def test_viewer_fragment_for_htmx_and_redirect_without(dataset: Any) -> None:
    add_rows(dataset, ["alpha", "beta"])
    url = reverse("datasets:rows", kwargs={"slug": dataset.slug}) + "?q=beta"
    response = Client().get(url, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith("{") is False and "<html" not in html
    assert html.count("<tr data-row-id=") == 1 and "beta" in html
    assert response["HX-Push-Url"] == f"/datasets/{dataset.slug}/?q=beta"
    plain = Client().get(url)
    assert (
        plain.status_code == 302 and plain["Location"] == f"/datasets/{dataset.slug}/?q=beta#viewer"
    )


def test_owner_sets_preview_rows_on_the_edit_form(dataset: Any) -> None:
    client = Client()
    client.force_login(dataset.owner)
    url = reverse("datasets:edit", kwargs={"slug": dataset.slug})
    form = client.get(url).content.decode()
    assert 'name="preview_rows"' in form and 'value="5"' in form
    data = {
        "title": dataset.title,
        "description": dataset.description,
        "modality": "text",
        "columns": "text:string",
        "label_task": "single_label",
        "label_classes": "negative\nneutral\npositive",
        "labels_per_item": 3,
        "pii_policy": "reject",
        "near_duplicate_threshold": 0.7,
        "min_labelled_share": 80,  # percent, when the form has the field
        "status": "open",
        "preview_rows": 25,
    }
    assert client.post(url, data).status_code == 302
    dataset.refresh_from_db()
    assert dataset.preview_rows == 25
    data["preview_rows"] = 5000
    assert client.post(url, data).status_code == 200
    dataset.refresh_from_db()
    assert dataset.preview_rows == 25


# --- Releases ------------------------------------------------------------------------------


def built_release(dataset: Any, monkeypatch: pytest.MonkeyPatch) -> DatasetRelease:
    monkeypatch.setattr(release_parquet, "ROW_GROUP_ROWS", 4)  # several row groups per shard
    release = DatasetRelease.objects.create(dataset=dataset, number=1, created_by=dataset.owner)
    assert release_build(release_id=release.pk) == "ready"
    release.refresh_from_db()
    return release


def test_release_viewer_reads_the_parquet_rows_across_row_groups(
    dataset: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.RELEASE_SHARD_ROWS = 7
    items = add_rows(dataset, [f"frozen {n}" for n in range(17)], consensus_label="positive")
    release = built_release(dataset, monkeypatch)
    Item.objects.filter(pk=items[0].pk).update(is_hidden=True)  # later changes do not show
    from datasets_app.selectors.rows import Cursor, release_row_page

    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = release_row_page(release=release, user=dataset.owner, cursor=cursor, size=3)
        rows += page.rows
        if page.next is None:
            break
        cursor = page.next
    assert [r["data"]["text"] for r in rows] == [f"frozen {n}" for n in range(17)]
    assert [r["number"] for r in rows] == list(range(1, 18))
    assert {r["label"] for r in rows} == {"positive"}
    visitor = release_row_page(release=release, user=None, cursor=Cursor(offset=3), size=3)
    assert [r["number"] for r in visitor.rows] == [4, 5] and visitor.next is None
    buyer = UserFactory.create()
    make_grant(buyer, dataset, [release])
    full = release_row_page(release=release, user=buyer, cursor=Cursor(offset=15), size=3)
    assert [r["number"] for r in full.rows] == [16, 17] and full.full


def test_release_page_shows_its_rows(dataset: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    add_rows(dataset, [f"frozen {n}" for n in range(8)])
    release = built_release(dataset, monkeypatch)
    url = reverse("datasets:release", kwargs={"slug": dataset.slug, "number": release.number})
    html = Client().get(url).content.decode()
    assert html.count("<tr data-row-id=") == 5
    assert "Showing the first 5 rows of v1" in html
    owner = Client()
    owner.force_login(dataset.owner)
    html = owner.get(url).content.decode()
    assert html.count("<tr data-row-id=") == 8 and "frozen 7" in html


def test_release_viewer_shows_image_thumbnails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    dataset = DatasetFactory.create(
        modality="image", columns=[{"name": "image", "dtype": "image"}], preview_rows=3
    )
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, format="PNG")
    path = default_storage.save("items/red.png", ContentFile(buffer.getvalue()))
    ItemFactory.create(dataset=dataset, data={"image": {"path": path, "file_name": "red.png"}})
    release = built_release(dataset, monkeypatch)
    from datasets_app.selectors.rows import release_row_page

    opened: list[Any] = []
    real_open = Image.open

    def counting_open(*args: Any, **kwargs: Any) -> Any:
        opened.append(args[0])
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", counting_open)
    row = release_row_page(release=release, user=None).rows[0]
    assert row["data"]["image"]["thumbnail_url"].startswith("data:image/webp;base64,")
    assert row["data"]["image"]["file_name"] == "red.png"
    # The original's size (box coordinates refer to it) and the thumbnail come from one read.
    assert (row["data"]["image"]["width"], row["data"]["image"]["height"]) == (40, 30)
    assert len(opened) == 1


def test_rows_validation_copies_in_are_searchable_at_once() -> None:

    from datasets_app.services import contribution_validate

    dataset = DatasetFactory.create(
        columns=[{"name": "text", "dtype": "string"}, {"name": "stars", "dtype": "int64"}],
        modality="tabular",
    )
    content = b"text,stars\nquokka smiles,5\nplain row,3\nanother quokka,1\n"
    contribution = submitted(dataset, content, "r.csv")
    assert contribution_validate(contribution_id=contribution.pk) == "accepted"
    rows = walk(client_for(dataset.owner), rows_url(dataset, q="quokka"))
    assert [r["data"]["text"] for r in rows] == ["quokka smiles", "another quokka"]


def test_the_viewer_indexes_exist_and_the_search_one_matches_the_query() -> None:
    """The search must spell the indexed expression exactly, or PostgreSQL scans the table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
            "('item_viewer_idx', 'item_search_idx') ORDER BY indexname"
        )
        indexes = dict(cursor.fetchall())
        # Whole, so admin's item list filtered by dataset walks it too.
        assert indexes["item_viewer_idx"].endswith("(dataset_id, id)")
        assert "to_tsvector('simple'::regconfig, data)" in indexes["item_search_idx"]
        assert " WHERE " not in indexes["item_search_idx"]  # statistics need a whole index
        # The selector's search condition alone, over the whole table: only the GIN index can
        # serve it, if the expressions are spelt alike.
        from datasets_app.selectors.rows import RowFilters, _filtered

        searched = _filtered(Item.objects.all(), RowFilters(q="zebra"))
        sql, params = searched.query.sql_with_params()
        cursor.execute("SET LOCAL enable_seqscan = off")  # rolls back with the test
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "item_search_idx" in plan


def test_a_release_label_that_is_not_a_class_index_is_shown_as_stored() -> None:
    """A release built with string labels (or an index out of range) reads as stored: it was a
    500 on the release page."""
    from datasets_app.selectors.rows import _label

    dataset = Dataset(label_task=LabelTask.SINGLE_LABEL, label_classes=["neg", "pos"])
    assert _label(dataset, 1) == "pos"
    assert _label(dataset, "pos") == "pos"
    assert _label(dataset, 7) == 7
    assert _label(dataset, ["neg", 0]) == ["neg", "neg"]


def test_a_label_class_has_one_colour_going_round_nine() -> None:
    from datasets_app.templatetags.label_colours import class_colours

    colours = class_colours([f"class {n}" for n in range(11)])
    assert list(colours.values()) == [f"ann-c{n}" for n in range(9)] + ["ann-c0", "ann-c1"]


def test_the_viewer_and_the_labeling_page_colour_classes_by_the_one_rule() -> None:
    """The labeling page hands its script each class's colour, and the viewer paints each span
    and its legend with the same: a class marked in one colour is found in it among the rows."""
    from datasets_app.templatetags.label_colours import class_colours

    # "items" is a class name a template's dict lookup would mistake for the method.
    classes = ["PER", "items", "LOC"]
    dataset = DatasetFactory.create(label_task="spans", label_classes=classes, preview_rows=5)
    spans: list[dict[str, Any]] = [
        {"start": 0, "end": 3, "label": "LOC"},
        {"start": 4, "end": 9, "label": "items"},
    ]
    ItemFactory.create(dataset=dataset, data={"text": "Rio items"}, consensus_label=spans)
    colours = class_colours(classes)
    assert colours == {"PER": "ann-c0", "items": "ann-c1", "LOC": "ann-c2"}

    labeler = Client()
    labeler.force_login(UserFactory.create())
    page = labeler.get(reverse("datasets:label", kwargs={"slug": dataset.slug}))
    html = page.content.decode()
    script = html.split('id="label-colours" type="application/json">')[1].split("</script>")[0]
    assert json.loads(script) == colours

    html = Client().get(reverse("datasets:detail", kwargs={"slug": dataset.slug})).content.decode()
    for name in classes:
        assert f'<li class="ann-legend__item {colours[name]}">' in html
    for span in spans:
        label = span["label"]
        assert f'<li class="ann-list__item {colours[label]}" data-start="{span["start"]}"' in html
        assert f'data-label="{label}" data-colour="{colours[label]}">' in html
