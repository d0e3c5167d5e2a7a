"""The catalogue's hero introduces the site on its front door only (first page, no search or
filter), and its mock-up states real figures from the catalogue, or none."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db


def page(client: Any, query: str = "") -> str:
    response = client.get("/" + query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_hero_is_on_the_first_page_without_a_query_only(client: Any) -> None:
    DatasetFactory.create_batch(13, modality="text")  # two pages
    front = page(client)
    assert '<section class="hero">' in front
    assert '<h2 class="section__title" id="catalogue-title">Datasets</h2>' in front

    for query in ("?page=2", "?q=reviews", "?modality=text", "?task=single_label", "?page=1&q=x"):
        body = page(client, query)
        assert '<section class="hero">' not in body, query
        assert '<div id="catalogue-hero"></div>' in body, query  # htmx swaps it out of band
        assert '<h1 class="section__title" id="catalogue-title">Datasets</h1>' in body, query
    assert '<section class="hero">' in page(client, "?order=title")  # sorting is no query


def test_the_mock_up_states_the_catalogues_real_figures_or_none(client: Any) -> None:
    body = page(client)
    assert "hero-card__figures" not in body  # an empty catalogue has no figures to state
    assert "2,431" not in body and "3 labels agreed" not in body  # no invented ones either

    DatasetFactory.create(items_count=1200, labels_count=3400)
    DatasetFactory.create(items_count=34, labels_count=0)
    DatasetFactory.create(items_count=999_999, labels_count=999_999, status="draft")  # private
    body = page(client)
    assert (
        "Across the catalogue now: <strong>1,234</strong> items · <strong>3,400</strong> labels"
    ) in body
