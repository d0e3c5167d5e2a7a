"""Admin lists staff can moderate with: items, labels and contributions show their content (text
or thumbnails), their dataset and the person by name or short address; filters take a dataset
or a person as typed input; the validation report is a table; token amounts carry their
decimals; and the item list never counts the items table."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from datasets_app.models import Contribution, Dataset, Item, Label
from datasets_app.services import contribution_validate
from marketplace.core.admin_lists import EXACT_COUNT_BELOW
from marketplace.core.models import User
from payments.models import LedgerTransaction, Reward, RewardEpoch
from payments.templatetags.money import format_amount
from tests.factories import (
    BountyFactory,
    ContributionFactory,
    DatasetFactory,
    ItemFactory,
    TokenFactory,
    UserFactory,
    submitted,
)

pytestmark = pytest.mark.django_db

ITEMS = "/admin/datasets_app/item/"
LABELS = "/admin/datasets_app/label/"
CONTRIBUTIONS = "/admin/datasets_app/contribution/"


def page(admin_client: Any, url: str) -> str:
    response = admin_client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return str(response.content.decode())


def rows(html: str) -> list[str]:
    """The result rows of a change list, as HTML."""
    if '<table id="result_list">' not in html:
        return []
    body = html.split('<table id="result_list">', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr>.*?</tr>", body.split("<tbody>", 1)[1], re.S)


def shown(html: str, *texts: str) -> list[str]:
    """Which of ``texts`` appear in the list's rows."""
    body = "".join(rows(html))
    return [text for text in texts if text in body]


@pytest.fixture
def moderated() -> dict[str, Any]:
    """Two datasets, two contributors (one named, one by address only), items of each."""
    birds = DatasetFactory.create(title="Bird calls", slug="bird-calls")
    reviews = DatasetFactory.create(title="Kettle reviews", slug="kettle-reviews")
    ada = UserFactory.create(display_name="Ada Lovelace")
    anon = UserFactory.create(display_name="")
    by_ada = ContributionFactory.create(dataset=birds, contributor=ada, original_name="ada.csv")
    by_anon = ContributionFactory.create(
        dataset=reviews, contributor=anon, original_name="anon.csv"
    )
    return {
        "birds": birds,
        "reviews": reviews,
        "ada": ada,
        "anon": anon,
        "by_ada": by_ada,
        "by_anon": by_anon,
        "robin": ItemFactory.create(
            dataset=birds, contribution=by_ada, data={"text": "robin singing at dawn"}
        ),
        "crow": ItemFactory.create(
            dataset=birds,
            contribution=by_ada,
            data={"text": "crow call, mail me at x@y.z"},
            flags=["pii:email"],
        ),
        "kettle": ItemFactory.create(
            dataset=reviews,
            contribution=by_anon,
            data={"text": "kettle boils fast " + "and quietly " * 30},
            is_hidden=True,
        ),
    }


def test_item_list_shows_content_dataset_and_contributor_not_object_names(admin_client, moderated):
    html = page(admin_client, ITEMS)
    assert shown(html, "robin singing at dawn", "Bird calls", "Kettle reviews") == [
        "robin singing at dawn",
        "Bird calls",
        "Kettle reviews",
    ]
    assert "Ada Lovelace" in html and moderated["ada"].short_address in html
    assert moderated["anon"].short_address in html  # no name: the short address
    assert moderated["anon"].address not in "".join(
        re.sub(r'title="[^"]*"', "", r) for r in rows(html)
    )
    # A long text is cut, and an item is never "Item object (5)" or "item 5 of dataset 3".
    assert "kettle boils fast and quietly" in html and "and quietly " * 30 not in html
    assert "Item object" not in html and "of dataset" not in html
    assert 'class="flag-list">pii:email<' in html


def test_image_items_show_their_thumbnail_in_the_list_and_the_image_on_their_page(admin_client):
    dataset = DatasetFactory.create(modality="image", columns=[{"name": "image", "dtype": "image"}])
    item = ItemFactory.create(
        dataset=dataset,
        data={
            "image": {
                "path": f"items/{dataset.pk}/abc.jpg",
                "thumbnail": f"items/{dataset.pk}/thumbs/abc.webp",
                "file_name": "cat.jpg",
                "sha256": "abc",
            },
            "caption": "a cat on a mat",
        },
    )
    html = page(admin_client, ITEMS)
    assert f'<img src="/media/items/{dataset.pk}/thumbs/abc.webp" alt="image: cat.jpg"' in html
    assert "caption: a cat on a mat" in html
    detail = page(admin_client, f"{ITEMS}{item.pk}/change/")
    assert f'<img src="/media/items/{dataset.pk}/abc.jpg" alt="image: cat.jpg"' in detail
    assert f"item {item.pk}: cat.jpg · a cat on a mat" in detail  # its __str__, in the title


def test_label_list_shows_the_item_the_value_and_the_labeler(admin_client, moderated):
    labeler = UserFactory.create(display_name="")
    label = Label.objects.create(
        item=moderated["robin"], labeler=labeler, dataset=moderated["birds"], value="positive"
    )
    html = page(admin_client, LABELS)
    assert shown(html, "robin singing at dawn", "Bird calls", labeler.short_address, "positive")
    assert len(shown(html, "robin singing at dawn", "Bird calls", labeler.short_address)) == 3
    assert "label by" not in html.lower() and "Label object" not in html
    assert str(label) == f"positive by {labeler.short_address} on item {moderated['robin'].pk}"


def test_contribution_list_shows_dataset_and_contributor(admin_client, moderated):
    html = page(admin_client, CONTRIBUTIONS)
    assert shown(html, "ada.csv", "anon.csv", "Bird calls", "Kettle reviews", "Ada Lovelace") == [
        "ada.csv",
        "anon.csv",
        "Bird calls",
        "Kettle reviews",
        "Ada Lovelace",
    ]
    assert moderated["anon"].short_address in html


def item_texts(admin_client: Any, query: str) -> list[str]:
    return shown(
        page(admin_client, f"{ITEMS}?{query}"), "robin singing", "crow call", "kettle boils"
    )


def test_item_filters_by_dataset_contributor_status_and_flag(admin_client, moderated):
    birds, ada, anon = moderated["birds"], moderated["ada"], moderated["anon"]
    assert item_texts(admin_client, "dataset=bird-calls") == ["robin singing", "crow call"]
    assert item_texts(admin_client, f"dataset={birds.pk}") == ["robin singing", "crow call"]
    assert item_texts(admin_client, f"contributor={ada.address}") == [
        "robin singing",
        "crow call",
    ]
    assert item_texts(admin_client, f"contributor={ada.address.lower()}") == [
        "robin singing",
        "crow call",
    ]
    assert item_texts(admin_client, "contributor=ada lovelace") == ["robin singing", "crow call"]
    assert item_texts(admin_client, f"contributor={anon.address[:10]}") == ["kettle boils"]
    assert item_texts(admin_client, "status=hidden") == ["kettle boils"]
    assert item_texts(admin_client, "status=visible") == ["robin singing", "crow call"]
    assert item_texts(admin_client, "flagged=yes") == ["crow call"]
    assert item_texts(admin_client, "flagged=no&dataset=bird-calls") == ["robin singing"]
    assert item_texts(admin_client, "q=dawn") == ["robin singing"]
    assert item_texts(admin_client, f"q={moderated['kettle'].pk}") == ["kettle boils"]
    assert item_texts(admin_client, f"q={moderated['crow'].content_hash}") == ["crow call"]

    html = page(admin_client, f"{ITEMS}?dataset=bird-calls&flagged=yes")
    # The dataset filter names what it selected, and keeps the other filter when changed.
    assert "Bird calls (0 items)" in html  # items_count is kept by the services, not here
    assert '<input type="hidden" name="flagged" value="yes">' in html
    assert '<option value="bird-calls">Bird calls</option>' in html  # suggestions
    missing = page(admin_client, f"{ITEMS}?dataset=no-such-dataset")
    assert "No dataset matches “no-such-dataset”." in missing and rows(missing) == []
    huge = "9" * 30  # no id that big: nothing found, not an error from the database
    assert rows(page(admin_client, f"{ITEMS}?dataset={huge}")) == []
    assert rows(page(admin_client, f"{ITEMS}?q={huge}")) == []
    nobody = page(admin_client, f"{ITEMS}?contributor=0xdeadbeef")
    assert "Nobody matches “0xdeadbeef”." in nobody and rows(nobody) == []


def test_label_filters_by_dataset_labeler_status_and_flagged_item(admin_client, moderated):
    alice, bob = UserFactory.create(display_name="Alice"), UserFactory.create(display_name="Bob")
    for item, user in ((moderated["robin"], alice), (moderated["crow"], bob)):
        Label.objects.create(item=item, labeler=user, dataset=item.dataset, value="neutral")
    Label.objects.create(
        item=moderated["kettle"], labeler=bob, dataset=moderated["reviews"], value="positive",
        is_rejected=True,
    )  # fmt: skip

    def labelled(query: str) -> list[str]:
        return shown(
            page(admin_client, f"{LABELS}?{query}"), "robin singing", "crow call", "kettle boils"
        )

    assert labelled(f"labeler={alice.address}") == ["robin singing"]
    assert labelled("labeler=bob") == ["crow call", "kettle boils"]
    assert labelled("dataset=kettle-reviews") == ["kettle boils"]
    assert labelled("status=rejected") == ["kettle boils"]
    assert labelled("status=kept&labeler=bob") == ["crow call"]
    assert labelled("flagged=yes") == ["crow call"]


def test_contribution_filters_by_dataset_contributor_status_and_flagged(admin_client, moderated):
    Contribution.objects.filter(pk=moderated["by_anon"].pk).update(
        status="rejected", report={"flagged": 3, "personal_data": [{"kind": "email"}]}
    )

    def listed(query: str) -> list[str]:
        return shown(page(admin_client, f"{CONTRIBUTIONS}?{query}"), "ada.csv", "anon.csv")

    assert listed("dataset=bird-calls") == ["ada.csv"]
    assert listed(f"contributor={moderated['anon'].address}") == ["anon.csv"]
    assert listed("contributor=Ada Lovelace") == ["ada.csv"]
    assert listed("status__exact=rejected") == ["anon.csv"]
    assert listed("flagged=yes") == ["anon.csv"]
    assert listed("flagged=personal") == ["anon.csv"]


CSV = (
    "text\n"
    "the kettle boils water quickly and quietly\n"
    "write to jane.doe@example.com for the full review\n"
    "\n"
    "the kettle boils water quickly and quietly\n"
    "a sturdy handle that stays cool while pouring\n"
)


def test_the_validation_report_is_a_table_on_the_contribution_page(admin_client):
    dataset = DatasetFactory.create()
    contribution = submitted(
        dataset, CSV.encode(), "reviews.csv", contributor=UserFactory.create(display_name="Grace")
    )
    contribution_validate(contribution_id=contribution.pk)
    contribution.refresh_from_db()
    report = contribution.report
    assert report["reasons"] and report["personal_data"]

    html = page(admin_client, f"{CONTRIBUTIONS}{contribution.pk}/change/")
    reasons = html.split('id="report-reasons"', 1)[1].split("</table>", 1)[0]
    for reason, count in report["reasons"].items():
        assert re.search(
            rf"<th scope=\"row\">{re.escape(escape(reason))}</th><td class=\"num\">{count}</td>",
            reasons,
        ), reason
    personal = html.split('id="report-personal-data"', 1)[1].split("</table>", 1)[0]
    assert "email" in personal and "Rows rejected" in personal
    scores = html.split('id="report-scores"', 1)[1].split("</table>", 1)[0]
    distribution = report["score_distribution"]
    assert f'<td class="num">{distribution["rows"]}</td>' in scores
    assert scores.count("<tr") == 10 + 1 + 3  # ten buckets, the header, three summary rows
    examples = html.split('id="report-examples"', 1)[1].split("</table>", 1)[0]
    assert str(report["examples"][0]["row"]) in examples
    assert '"reasons"' not in html and "score_distribution" not in html  # no raw JSON
    assert "Grace" in html


def test_an_empty_or_running_report_says_so(admin_client):
    contribution = ContributionFactory.create(status="validating", report={"shards": {}})
    html = page(admin_client, f"{CONTRIBUTIONS}{contribution.pk}/change/")
    assert "Validation is still running" in html and "No row was rejected." in html
    assert "No accepted rows." in html


def test_amounts_show_the_token_s_decimals(admin_client):
    from tests.payments.test_money_admin import act, earned

    bounty: Any = earned()  # a funded bounty of an 18-decimals token, one contributor's rows due
    act(admin_client, "bounty", "compute_epochs", [bounty.pk])
    reward = Reward.objects.select_related("token").get()
    token = reward.token
    pool = format_amount(bounty.pool_amount, token.decimals, token.symbol)
    assert pool in page(admin_client, "/admin/payments/bounty/")
    assert pool in page(admin_client, f"/admin/payments/bounty/{bounty.pk}/change/")
    rewarded = format_amount(reward.amount, token.decimals, token.symbol)
    assert rewarded in page(admin_client, "/admin/payments/reward/")
    assert rewarded in page(admin_client, f"/admin/payments/reward/{reward.pk}/change/")
    epoch = RewardEpoch.objects.get()
    assert format_amount(epoch.awarded, token.decimals, token.symbol) in page(
        admin_client, "/admin/payments/rewardepoch/"
    )
    posting = LedgerTransaction.objects.filter(idempotency_key__startswith="reward").first()
    assert posting is not None
    entries = page(admin_client, f"/admin/payments/ledgertransaction/{posting.pk}/change/")
    assert f"-{rewarded}" in entries or rewarded in entries

    six = TokenFactory.create(symbol="USDX", decimals=6)
    dollars = BountyFactory.create(token=six, pool_amount=1_234_500, rate_per_row=2_500_000)
    html = page(admin_client, "/admin/payments/bounty/")
    assert "1.2345 USDX" in html and ">1234500<" not in html
    detail = page(admin_client, f"/admin/payments/bounty/{dollars.pk}/change/")
    assert "1.2345 USDX" in detail and "2.5 USDX" in detail and ">2500000<" not in detail


def item_list_queries(admin_client: Any, query: str = "") -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        page(admin_client, f"{ITEMS}?{query}")
    return [q["sql"] for q in captured.captured_queries]


COUNT_OVER_ITEMS = re.compile(r'COUNT\(\*\).*FROM "datasets_app_item"', re.S | re.I)


def test_the_item_list_never_counts_items_and_its_queries_stay_flat(admin_client, moderated):
    few = item_list_queries(admin_client)
    for query in ("", "dataset=bird-calls", "flagged=yes", "status=hidden", "q=dawn"):
        assert not [
            sql for sql in item_list_queries(admin_client, query) if COUNT_OVER_ITEMS.search(sql)
        ]
    contribution = ContributionFactory.create(contributor=UserFactory.create())
    for n in range(30):
        ItemFactory.create(
            dataset=contribution.dataset, contribution=contribution, data={"text": f"row {n}"}
        )
    assert len(item_list_queries(admin_client)) == len(few)
    labels = [
        Label(item=item, labeler=UserFactory.create(), dataset=item.dataset, value="x")
        for item in Item.objects.all()[:20]
    ]
    Label.objects.bulk_create(labels)
    with CaptureQueriesContext(connection) as captured:
        page(admin_client, LABELS)
    assert len(captured.captured_queries) <= len(few) + 1


def test_big_lists_say_about_how_many_from_the_planner_and_still_page(admin_client):
    dataset = DatasetFactory.create(slug="big")
    total = EXACT_COUNT_BELOW + 500
    Item.objects.bulk_create(
        Item(
            dataset=dataset,
            data={"text": f"row {n}" + (" rare" if n % 100 == 0 else "")},
            content_hash=f"{n:064x}",
        )
        for n in range(total)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE datasets_app_item")
    html = page(admin_client, ITEMS)
    assert re.search(r"about [\d,]+ items", html)
    assert len(rows(html)) == 100
    second = page(admin_client, f"{ITEMS}?p=2")
    assert len(rows(second)) == 100 and rows(second)[0] != rows(html)[0]
    small = page(admin_client, f"{ITEMS}?q=rare")  # under the threshold: counted exactly
    assert len(rows(small)) == 15
    assert "15 items" in small
    common = page(admin_client, f"{ITEMS}?q=row")  # every row: found reading newest first
    assert (
        len(rows(common)) == 100
        and f"row {total - 1}<" in rows(common)[0]
        and "about" not in small.split('class="paginator"')[1]
    )
    assert Dataset.objects.count() == 1 and User.objects.filter(is_staff=True).count() == 1
