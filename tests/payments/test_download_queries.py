"""What one licensed range request costs the database: the API token's lookup plus one query for
the file, its release and the license; a signed link's person, file and license in one query.
Every query uses an index, and the one-query license rule agrees with ``license_for``."""

from __future__ import annotations

import re
import weakref
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from datasets_app.models import Dataset, DatasetRelease, ReleaseFile
from marketplace.accounts.models import ApiToken
from marketplace.accounts.services.api_tokens import api_token_create
from marketplace.core.models import User
from payments.services import downloads
from payments.services.downloads import (
    _DOWNLOAD_SQL,
    DOWNLOAD_STATEMENT,
    download_file_access,
    download_link_sign,
    license_for,
)
from tests.factories import DatasetFactory, UserFactory, make_grant, make_release
from tests.payments.test_downloads import body, stored_bytes

pytestmark = pytest.mark.django_db


def two_bytes(url: str, secret: str | None = None, client: Client | None = None) -> Any:
    """``GET url`` with ``Range: bytes=0-1`` (and the API token ``secret``)."""
    headers = {"Range": "bytes=0-1"}
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    return (client or Client()).get(url, headers=headers)


@pytest.fixture
def dataset() -> Dataset:
    return DatasetFactory.create(title="Product reviews", slug="product-reviews")


@pytest.fixture
def shard(dataset: Dataset) -> ReleaseFile:
    return make_release(dataset, shards=1).files.get(name="data/train-00000-of-00001.parquet")


@pytest.fixture(autouse=True)
def _statement_prepared() -> None:
    """The download statement is prepared once per connection: count the queries after that
    (``test_each_connection_prepares_the_download_statement_once`` counts the first time)."""
    download_file_access(file_id=0, user_id=None)


def _prepared() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [DOWNLOAD_STATEMENT])
        return cursor.fetchone() is not None


@pytest.fixture
def buyer(dataset: Dataset, shard: ReleaseFile) -> User:
    buyer = UserFactory.create()
    make_grant(buyer, dataset, [shard.release])
    return buyer


def test_a_licensed_range_request_over_the_api_runs_two_queries(
    buyer, shard, django_assert_num_queries
):
    secret = api_token_create(user=buyer, name="trainer", scopes=["download"]).secret
    url = f"/api/v1/files/{shard.pk}"
    client = Client()
    first = two_bytes(url, secret, client)  # records when the token was used
    assert first.status_code == 206
    with django_assert_num_queries(2) as captured:  # the token with its user; file + license
        response = two_bytes(url, secret, client)
    assert response.status_code == 206 and body(response) == stored_bytes(shard)[:2]
    assert response["Content-Range"] == f"bytes 0-1/{shard.size_bytes}"
    token_sql, file_sql = (query["sql"] for query in captured.captured_queries)
    assert '"payments_apitoken"' in token_sql and '"core_user"' in token_sql
    assert file_sql.startswith(f'EXECUTE "{DOWNLOAD_STATEMENT}"') and "UPDATE" not in token_sql


def test_the_token_s_last_use_is_written_once_a_while_not_per_request(buyer, shard):
    secret = api_token_create(user=buyer, name="trainer", scopes=["download"]).secret
    client = Client()
    with CaptureQueriesContext(connection) as captured:
        for _ in range(5):
            assert two_bytes(f"/api/v1/files/{shard.pk}", secret, client)
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1 and "last_used_at" in updates[0]
    assert ApiToken.objects.get().last_used_at is not None


def test_a_signed_link_range_request_runs_one_query(buyer, shard, django_assert_num_queries):
    token = download_link_sign(user=buyer, release_file=shard)
    with django_assert_num_queries(1):
        response = two_bytes(f"/downloads/{token}/")
    assert response.status_code == 206 and body(response) == stored_bytes(shard)[:2]
    assert "product-reviews-v1-train" in response["Content-Disposition"]


def test_refusals_cost_one_query_too(shard, django_assert_num_queries):
    stranger = UserFactory.create()
    token = download_link_sign(user=stranger, release_file=shard)
    with django_assert_num_queries(1):
        response = two_bytes(f"/downloads/{token}/")
    assert response.status_code == 403 and b"license" in response.content
    User.objects.filter(pk=stranger.pk).update(is_active=False)
    with django_assert_num_queries(1):
        response = two_bytes(f"/downloads/{token}/")
    assert response.status_code == 403 and b"not valid" in response.content


def test_the_download_query_and_the_token_lookup_use_indexes(buyer, shard):
    """With sequential scans priced out, a plan that still scans a table has no index to use."""
    token = ApiToken.objects.select_related("user").filter(digest="0" * 64)
    token_sql, token_params = token.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        # A statement of its own, planned now (the shared one may hold a plan from before).
        cursor.execute(_DOWNLOAD_SQL.format(name="explain_download"))
        cursor.execute(
            "EXPLAIN EXECUTE explain_download (%s, %s, %s)", [shard.pk, buyer.pk, timezone.now()]
        )
        download_plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE explain_download")
        cursor.execute(f"EXPLAIN {token_sql}", token_params)
        token_plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in download_plan, download_plan
    assert "Seq Scan" not in token_plan, token_plan
    grants = re.search(r"(\w[\w ]*Scan)\b.* on payments_licensegrant g\b", download_plan)
    assert grants is not None and grants.group(1) != "Seq Scan", download_plan


def test_each_connection_prepares_the_download_statement_once(
    buyer, shard, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(downloads, "_PREPARED_ON", weakref.WeakSet())
    if _prepared():
        with connection.cursor() as cursor:
            cursor.execute(f'DEALLOCATE "{DOWNLOAD_STATEMENT}"')
    with django_assert_num_queries(3):  # is it there? PREPARE; EXECUTE
        assert download_file_access(file_id=shard.pk, user_id=buyer.pk).licensed
    with django_assert_num_queries(1):
        assert download_file_access(file_id=shard.pk, user_id=buyer.pk).licensed
    monkeypatch.setattr(downloads, "_PREPARED_ON", weakref.WeakSet())  # a fresh process
    with django_assert_num_queries(2):  # is it there? yes; EXECUTE
        assert download_file_access(file_id=shard.pk, user_id=buyer.pk).licensed
    assert _prepared()


@pytest.mark.parametrize(
    ("listed", "covers_future", "expiry", "revoked"),
    [
        ((2,), False, None, False),
        ((1,), False, None, False),
        ((3,), False, None, False),
        ((2,), True, None, False),
        ((1,), True, None, False),
        ((3,), True, None, False),
        ((), True, None, False),
        ((2,), False, -1, False),
        ((2,), False, 1, False),
        ((2,), True, None, True),
    ],
)
def test_the_one_query_license_rule_is_license_for_s(
    dataset, listed, covers_future, expiry, revoked
):
    releases = {n: make_release(dataset, number=n, shards=1) for n in (1, 2, 3)}
    holder = UserFactory.create()
    now = timezone.now()
    make_grant(
        holder,
        dataset,
        [releases[n] for n in listed],
        covers_future=covers_future,
        expires_at=None if expiry is None else now + timedelta(days=expiry),
        revoked_at=now if revoked else None,
    )
    make_grant(UserFactory.create(), dataset, list(releases.values()), covers_future=True)
    for release in releases.values():
        release_file = release.files.first()
        assert release_file is not None
        access = download_file_access(file_id=release_file.pk, user_id=holder.pk)
        expected = license_for(user=holder, release=release) is not None
        assert access.licensed == expected, (release.number, listed, covers_future)
        assert access.user_active is True
        assert access.release_file == release_file
        assert access.release_file.release.dataset.slug == dataset.slug


def test_the_one_query_answers_a_missing_file_or_person(dataset, shard):
    missing = download_file_access(file_id=shard.pk + 1000, user_id=None)
    assert missing.release_file is None and missing.user_active is None and not missing.licensed
    nobody = download_file_access(file_id=shard.pk, user_id=10**9)
    assert nobody.release_file == shard and nobody.user_active is None and not nobody.licensed
    release: DatasetRelease = nobody.release_file.release
    assert release.status == "ready" and release.number == 1
