"""datasets_app never imports payments: payments registers the dataset page's panels and the row
viewer's license check (datasets_app/panels.py, payments/panels.py), and the page reads them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory

from datasets_app import panels
from datasets_app.selectors.rows import release_rows_see_all, rows_see_all
from payments.models import LicenseGrant, LicenseTier
from tests.factories import BountyFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_payments_registers_the_bounty_and_license_panels_in_their_slots() -> None:
    registered = {panel.name: panel for panel in panels.dataset_panels()}
    assert registered["bounties"].slot == "main"
    assert registered["bounties"].template == "payments/_bounty_list.html"
    assert registered["licenses"].slot == "aside"
    assert registered["licenses"].template == "payments/_license_card.html"


def test_the_panels_context_holds_each_panel_s_values_and_its_templates_by_slot() -> None:
    dataset = DatasetFactory.create()
    BountyFactory.create(dataset=dataset, title="Pays for reviews")
    request = RequestFactory().get("/")
    request.user = UserFactory.create()
    context = panels.dataset_panels_context(request, dataset)
    assert [bounty.title for bounty in context["bounties"]] == ["Pays for reviews"]
    assert context["licenses"].grant is None
    assert context["panels"] == {
        "main": ["payments/_bounty_list.html"],
        "aside": ["payments/_license_card.html"],
    }


def test_a_panel_goes_in_a_known_slot_only() -> None:
    with pytest.raises(ValueError, match="goes in one of"):
        panels.register_dataset_panel(
            "elsewhere", slot="footer", template="x.html", context=lambda request, dataset: {}
        )
    assert "elsewhere" not in {panel.name for panel in panels.dataset_panels()}


def test_the_dataset_page_shows_the_registered_panels() -> None:
    dataset = DatasetFactory.create()
    BountyFactory.create(dataset=dataset, title="Pays for reviews")
    LicenseTier.objects.create(dataset=dataset, name="Research", spdx_id="CC-BY-4.0")
    body = Client().get(f"/datasets/{dataset.slug}/").content.decode()
    assert "Pays for reviews" in body
    assert "Research" in body


def test_without_a_license_check_nobody_but_the_owner_sees_every_row(monkeypatch: Any) -> None:
    dataset = DatasetFactory.create()
    tier = LicenseTier.objects.create(dataset=dataset, name="Research", spdx_id="CC-BY-4.0")
    buyer = UserFactory.create()
    LicenseGrant.objects.create(buyer=buyer, dataset=dataset, tier=tier)
    assert rows_see_all(dataset=dataset, user=buyer)  # payments' check answers

    monkeypatch.setattr(panels, "_license_checks", [])
    assert not rows_see_all(dataset=dataset, user=buyer)
    assert rows_see_all(dataset=dataset, user=dataset.owner)


def test_the_row_viewer_asks_the_registered_check_about_the_dataset_and_the_release(
    monkeypatch: Any,
) -> None:
    dataset = DatasetFactory.create()
    release = dataset.releases.create(number=1, created_by=dataset.owner)
    person = UserFactory.create()
    asked: list[tuple[Any, ...]] = []

    def check(user: Any, on: Any, version: Any) -> bool:
        asked.append((user, on, version))
        return version is not None

    monkeypatch.setattr(panels, "_license_checks", [])
    panels.register_license_check(check)
    panels.register_license_check(check)  # once only
    assert not rows_see_all(dataset=dataset, user=person)
    assert release_rows_see_all(release=release, user=person)
    assert asked == [(person, dataset, None), (person, dataset, release)]
