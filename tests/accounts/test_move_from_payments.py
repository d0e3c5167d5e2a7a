"""SIWE nonces and API tokens moved from ``payments`` to ``accounts`` by state only: no SQL
beyond renaming their content types, the rows and tables stay, and the content types (with
their permissions and admin log entries) follow the models both ways."""

from __future__ import annotations

import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from marketplace.accounts.models import ApiToken, SiweNonce
from marketplace.accounts.services.api_tokens import api_token_create
from tests.factories import UserFactory


def _statements(app: str, migration: str, *args: str) -> list[str]:
    out = io.StringIO()
    call_command("sqlmigrate", app, migration, *args, stdout=out)
    lines = [ln for ln in out.getvalue().splitlines() if ln and not ln.startswith("--")]
    return [ln for ln in lines if ln not in ("BEGIN;", "COMMIT;")]


def test_the_tables_keep_their_names():
    assert ApiToken._meta.db_table == "payments_apitoken"
    assert SiweNonce._meta.db_table == "payments_siwenonce"


@pytest.mark.django_db
def test_the_migrations_run_no_sql_but_the_content_type_rename():
    assert _statements("payments", "0009") == []
    (forwards,) = _statements("accounts", "0001")
    (backwards,) = _statements("accounts", "0001", "--backwards")
    rename = "UPDATE django_content_type SET app_label = '{}' WHERE app_label = '{}' "
    assert forwards.startswith(rename.format("accounts", "payments"))
    assert backwards.startswith(rename.format("payments", "accounts"))


@pytest.mark.django_db(transaction=True)
def test_rows_and_content_types_follow_the_models_both_ways():
    token = api_token_create(user=UserFactory.create(), name="kept", scopes=["read"]).token
    content_type = ContentType.objects.get_for_model(ApiToken)
    assert content_type.app_label == "accounts"
    permissions = set(content_type.permission_set.values_list("codename", flat=True))
    assert "change_apitoken" in permissions

    def label() -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT app_label FROM django_content_type WHERE id = %s", [content_type.pk]
            )
            return str(cursor.fetchone()[0])

    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("accounts", None)])  # unapplies payments 0009, then accounts 0001
        assert label() == "payments"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
        ContentType.objects.clear_cache()
    assert label() == "accounts"
    assert ApiToken.objects.get(pk=token.pk).name == "kept"
    assert set(content_type.permission_set.values_list("codename", flat=True)) == permissions
