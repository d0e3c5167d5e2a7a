"""``{{ user|person }}``: a person is shown by their display name, with their short address as
the fallback, and the full address in the title, on every page that names one."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Context, Template

from datasets_app.models import Contribution
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db

ADDRESS = "0x1111111111111111111111111111111111111111"


def render(user: Any) -> str:
    return Template("{% load people %}{{ user|person }}").render(Context({"user": user}))


def test_a_display_name_is_shown_with_the_address_in_the_title() -> None:
    user = UserFactory.create(address=ADDRESS, display_name="Ada <Lovelace>")
    assert render(user) == (
        f'<span class="person" title="{ADDRESS}" data-address="{ADDRESS}">'
        "Ada &lt;Lovelace&gt;</span>"
    )


def test_without_a_display_name_the_short_address_is_shown() -> None:
    user = UserFactory.create(address=ADDRESS, display_name="")
    assert render(user) == (
        f'<span class="person person--address mono" title="{ADDRESS}" data-address="{ADDRESS}">'
        "0x1111…1111</span>"
    )


def test_no_one_is_a_dash() -> None:
    assert render(None) == "—"


def test_pages_name_the_owner_and_the_contributor_by_display_name(client: Any) -> None:
    owner = UserFactory.create(display_name="Grace Hopper")
    contributor = UserFactory.create(display_name="Ada Lovelace")
    staff = UserFactory.create(display_name="", is_staff=True)
    dataset = DatasetFactory.create(owner=owner)
    contribution = Contribution.objects.create(
        dataset=dataset, contributor=contributor, original_name="a.csv", file="x/a.csv",
        file_format="csv", size_bytes=10, sha256="0" * 64, status="accepted",
    )  # fmt: skip

    for url in ("/", f"/datasets/{dataset.slug}/"):
        body = client.get(url).content.decode()
        assert f'title="{owner.address}" data-address="{owner.address}">Grace Hopper<' in body
        assert owner.short_address not in body

    client.force_login(staff)
    body = client.get(f"/contributions/{contribution.pk}/").content.decode()
    assert ">Ada Lovelace</span>" in body
    assert contributor.short_address not in body
