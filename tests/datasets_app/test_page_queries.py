"""The dataset page and the home page run a small, fixed number of queries, whatever the data;
the dataset page's aggregate figures come from the cache and move with a write."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache

from datasets_app.models import DatasetRelease
from datasets_app.services.labeling import label_submit, labeling_next_item
from datasets_app.services.moderation import item_set_hidden
from tests.factories import (
    BountyFactory,
    ContributionFactory,
    DatasetFactory,
    ItemFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def busy_dataset() -> Any:
    """A dataset with rows, contributions, a bounty and a ready version with statistics."""
    dataset = DatasetFactory.create(items_count=30, labels_per_item=1, contributions_count=3)
    for _ in range(3):
        ContributionFactory.create(dataset=dataset, rows_accepted=10, rows_total=12)
    ItemFactory.create_batch(30, dataset=dataset, slots_open=1)
    BountyFactory.create(dataset=dataset)
    DatasetRelease.objects.create(
        dataset=dataset,
        number=1,
        status="ready",
        content_hash="a" * 64,
        created_by=dataset.owner,
        statistics={"rows": 30, "columns": [{"name": "text", "kind": "text", "count": 30}]},
    )
    return dataset


def test_the_dataset_page_runs_at_most_six_queries(
    client: Any, django_assert_max_num_queries: Any
) -> None:
    dataset = busy_dataset()
    url = f"/datasets/{dataset.slug}/"
    first = client.get(url)  # counts the figures once
    assert first.status_code == 200
    with django_assert_max_num_queries(6):
        again = client.get(url)
    body = again.content.decode()
    assert "Columns of the latest version" in body  # the column statistics section
    assert 'id="viewer"' in body and "review number" in body  # the row viewer's preview


def test_the_dataset_page_signed_in_stays_small(
    client: Any, django_assert_max_num_queries: Any
) -> None:
    dataset = busy_dataset()
    client.force_login(UserFactory.create())
    client.get(f"/datasets/{dataset.slug}/")
    # + session, user, the license grant (asked by the viewer and the license card), and the
    # viewer's own preview page: no aggregate is counted again.
    with django_assert_max_num_queries(12):
        assert client.get(f"/datasets/{dataset.slug}/").status_code == 200


def test_home_runs_at_most_three_queries(client: Any, django_assert_max_num_queries: Any) -> None:
    DatasetFactory.create_batch(14)
    with django_assert_max_num_queries(3):
        assert client.get("/").status_code == 200


def labels_stat(body: str) -> tuple[str, str]:
    block = body[body.index('<dt class="stat__label">Labels</dt>') :]
    value = re.search(r'<dd class="stat__value">([^<]*)</dd>', block)
    note = re.search(r'<dd class="stat__note">([^<]*)</dd>', block)
    assert value and note
    return value.group(1), " ".join(note.group(1).split())


def test_a_cached_figure_moves_with_a_label(client: Any) -> None:
    dataset = busy_dataset()
    url = f"/datasets/{dataset.slug}/"
    body = client.get(url).content.decode()
    assert labels_stat(body) == ("0", "by 0 labelers")
    assert "No labels in the last 30 days." in body
    assert any(key.startswith("dataset-page:figures:") for key in _keys())

    labeler = UserFactory.create()
    item = labeling_next_item(dataset=dataset, user=labeler)
    assert item is not None
    label_submit(item=item, user=labeler, value="positive")

    body = client.get(url).content.decode()
    assert labels_stat(body) == ("1", "by 1 labeler")  # the distinct labelers: a cached COUNT
    assert "No labels in the last 30 days." not in body
    assert 'id="labels-per-day"' in body  # the chart's data


def _keys() -> list[str]:
    client = cache._cache.get_client()  # type: ignore[attr-defined]
    return [key.decode().split(":", 2)[-1] for key in client.keys("*")]


def test_a_row_a_moderator_hides_leaves_the_cached_preview_at_once(
    client: Any, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dataset = busy_dataset()
    url = f"/datasets/{dataset.slug}/"
    first = dataset.items.order_by("id").first()
    row = f'data-row-id="{first.pk}"'
    assert row in client.get(url).content.decode()  # the preview's first row; cached now

    with django_capture_on_commit_callbacks(execute=True):
        item_set_hidden(item=first, actor=admin_user, hidden=True, reason="personal data")

    assert row not in client.get(url).content.decode()
