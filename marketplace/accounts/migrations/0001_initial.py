"""SIWE nonces and API tokens move here from ``payments`` without moving a row.

The state gains the two models on the tables they already have (``db_table``), and the database
is not touched (``database_operations=[]``); payments 0009 drops them from payments' state the same
way. Their content types are renamed from payments to accounts, so admin log entries and
permissions follow them (on a fresh database none exist yet: post_migrate creates them later).
"""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Skips a model whose content type already exists under the new label (unique together).
RELABEL = (
    "UPDATE django_content_type SET app_label = %s "
    "WHERE app_label = %s AND model IN ('apitoken', 'siwenonce') AND NOT EXISTS ("
    "SELECT 1 FROM django_content_type AS taken "
    "WHERE taken.app_label = %s AND taken.model = django_content_type.model)"
)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        ("payments", "0001_initial"),  # created both tables; no later migration touched them
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ApiToken",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("name", models.CharField(max_length=80)),
                        ("prefix", models.CharField(max_length=16)),
                        ("digest", models.CharField(max_length=64, unique=True)),
                        (
                            "scopes",
                            django.contrib.postgres.fields.ArrayField(
                                base_field=models.CharField(
                                    choices=[
                                        ("read", "Read: list and view through the API"),
                                        ("write", "Write: create and change through the API"),
                                        ("download", "Download: fetch licensed dataset files"),
                                    ],
                                    max_length=16,
                                ),
                                size=None,
                            ),
                        ),
                        ("expires_at", models.DateTimeField(blank=True, null=True)),
                        ("last_used_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="api_tokens",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "payments_apitoken",
                        "ordering": ("-created_at",),
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("scopes__len__gt", 0)),
                                name="api_token_has_a_scope",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("scopes__contained_by", ["read", "write", "download"])
                                ),
                                name="api_token_scopes_known",
                            ),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="SiweNonce",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("nonce", models.CharField(max_length=64, unique=True)),
                        ("session_key", models.CharField(db_index=True, max_length=40)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("expires_at", models.DateTimeField(db_index=True)),
                        ("used_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "used_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "payments_siwenonce",
                        "verbose_name": "SIWE nonce",
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("expires_at__gt", models.F("created_at"))),
                                name="siwe_nonce_expires_after_creation",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("used_at__isnull", True),
                                    ("used_by__isnull", False),
                                    _connector="OR",
                                ),
                                name="siwe_nonce_used_by_someone",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunSQL(
            sql=[(RELABEL, ["accounts", "payments", "accounts"])],
            reverse_sql=[(RELABEL, ["payments", "accounts", "payments"])],
        ),
    ]
