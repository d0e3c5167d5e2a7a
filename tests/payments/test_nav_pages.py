"""The signed-in nav leads to "My datasets" (the datasets the person owns, drafts included) and
"Purchases"; signed out, neither shows and the pages ask to sign in first."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from payments.templatetags.money import format_amount_short, share_percent
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_nav_has_my_datasets_and_purchases_when_signed_in(client: Client) -> None:
    html = client.get("/").content.decode()
    assert reverse("datasets:my-datasets") not in html and reverse("purchases") not in html
    client.force_login(UserFactory.create())
    html = client.get("/").content.decode()
    assert f'href="{reverse("datasets:my-datasets")}"' in html and ">My datasets<" in html
    assert f'href="{reverse("purchases")}"' in html and ">Purchases<" in html


def test_my_datasets_lists_the_owners_datasets_drafts_included(client: Client) -> None:
    owner = UserFactory.create()
    DatasetFactory.create(owner=owner, title="Open reviews")
    DatasetFactory.create(owner=owner, title="Draft photos", status="draft")
    DatasetFactory.create(title="Someone else's")
    url = reverse("datasets:my-datasets")
    assert client.get(url).status_code == 302
    client.force_login(owner)
    response = client.get(url)
    html = response.content.decode()
    assert "Open reviews" in html and "Draft photos" in html and "Someone else" not in html
    assert 'aria-current="page"' in html.split(">My datasets<")[0].rsplit("<a", 1)[1]
    client.force_login(UserFactory.create())
    assert "No datasets yet" in client.get(url).content.decode()


@pytest.mark.parametrize(
    ("amount", "decimals", "shown"),
    [
        (9_950_975_006, 6, "9,950.98 DBT"),  # rounded half up to two places
        (9_950_974_999, 6, "9,950.97 DBT"),
        (25_000_000, 6, "25 DBT"),  # exact already: as format_amount writes it
        (25_500_000, 6, "25.5 DBT"),
        (1, 6, "<0.01 DBT"),  # never "0.00" for something
        (-9_950_975_006, 6, "-9,950.98 DBT"),
        (1_234_500_000_000_000_000, 18, "1.23 DBT"),
        (12_345, 2, "123.45 DBT"),
    ],
)
def test_amounts_for_reading_round_to_two_places(amount: int, decimals: int, shown: str) -> None:
    assert format_amount_short(amount, decimals, "DBT") == shown


def test_a_share_reads_as_a_percentage() -> None:
    assert [share_percent(v) for v in (0.8125, 1.0, 0, None)] == [
        "81.2\N{NO-BREAK SPACE}%",
        "100\N{NO-BREAK SPACE}%",
        "0\N{NO-BREAK SPACE}%",
        "—",
    ]
