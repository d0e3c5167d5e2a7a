"""API tokens: created once-visible, stored hashed, scoped, expiring, revocable."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from marketplace.accounts.exceptions import ApiTokenError
from marketplace.accounts.models import ApiToken
from marketplace.accounts.services.api_tokens import api_token_create
from marketplace.core.models import AuditLog
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKENS_URL = "/api/v1/auth/tokens"


@pytest.fixture
def user():  # type: ignore[no-untyped-def]
    return UserFactory.create()


@pytest.fixture
def session(client, user):  # type: ignore[no-untyped-def]
    client.force_login(user)
    return client


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def rename_me(headers: dict[str, str], display_name: str) -> Any:
    """PATCH /api/v1/me with a new display name: a write."""
    return Client().patch(
        "/api/v1/me",
        {"display_name": display_name},
        content_type="application/json",
        headers=headers,
    )


def create(session, **body):  # type: ignore[no-untyped-def]
    payload = {"name": "training box", "scopes": ["read"], **body}
    return session.post(TOKENS_URL, payload, content_type="application/json")


def test_secret_is_returned_once_and_stored_only_as_its_hash(session, user):
    response = create(session)
    assert response.status_code == 201, response.content
    secret = response.json()["secret"]
    assert secret.startswith("dbt_") and len(secret) > 40
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM payments_apitoken")
        assert secret not in repr(cursor.fetchall())
    listing = session.get(TOKENS_URL).json()
    assert [t["name"] for t in listing] == ["training box"]
    assert "secret" not in listing[0] and "digest" not in listing[0]
    assert AuditLog.objects.filter(action="api_token.created", actor=user).exists()


def test_bearer_token_authenticates_and_records_last_use(session, user):
    secret = create(session).json()["secret"]
    response = Client().get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 200
    assert response.json()["address"] == user.address
    assert ApiToken.objects.get().last_used_at is not None


def test_read_scope_cannot_write_and_write_scope_can(session):
    read_only = create(session).json()["secret"]
    response = rename_me(bearer(read_only), "x")
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"
    writer = create(session, name="writer", scopes=["read", "write"]).json()["secret"]
    response = rename_me(bearer(writer), "Ada")
    assert response.status_code == 200
    assert response.json()["display_name"] == "Ada"


def test_download_scope_is_required_where_a_view_asks_for_it(user):
    class DownloadView(APIView):
        token_scope = "download"

        def get(self, request):  # type: ignore[no-untyped-def]
            from rest_framework.response import Response

            return Response({"ok": True})

    view = DownloadView.as_view()
    reader = api_token_create(user=user, name="r", scopes=["read"]).secret
    downloader = api_token_create(user=user, name="d", scopes=["download"]).secret
    factory = APIRequestFactory()
    refused = view(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {reader}"))
    assert refused.status_code == 403
    assert refused.data["code"] == "missing_scope"
    assert view(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {downloader}")).status_code == 200


def test_expired_token_is_refused(user):
    created = api_token_create(
        user=user, name="soon", scopes=["read"], expires_at=timezone.now() + timedelta(hours=1)
    )
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().get("/api/v1/me", headers=bearer(created.secret))
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_refused(session, user):
    created = create(session).json()
    assert session.delete(f"{TOKENS_URL}/{created['id']}").status_code == 204
    response = Client().get("/api/v1/me", headers=bearer(created["secret"]))
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    assert AuditLog.objects.filter(action="api_token.revoked").count() == 1
    assert session.delete(f"{TOKENS_URL}/{created['id']}").status_code == 204  # idempotent
    assert AuditLog.objects.filter(action="api_token.revoked").count() == 1


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer dbt_0000_unknown", "invalid_token"),
        ("Bearer not-one-of-ours", "invalid_token"),
        ("Bearer", "invalid_token"),
        ("Bearer a b", "invalid_token"),
    ],
)
def test_unknown_or_malformed_tokens_are_refused(header, code):
    response = Client().get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["code"] == code


def test_someone_elses_token_cannot_be_revoked(session):
    other = api_token_create(user=UserFactory.create(), name="theirs", scopes=["read"])
    response = session.delete(f"{TOKENS_URL}/{other.token.pk}")
    assert response.status_code == 404
    assert ApiToken.objects.get(pk=other.token.pk).revoked_at is None


def test_a_token_cannot_manage_tokens(session):
    secret = create(session, scopes=["read", "write"]).json()["secret"]
    for response in (
        Client().get(TOKENS_URL, headers=bearer(secret)),
        Client().post(
            TOKENS_URL,
            {"name": "more", "scopes": ["read"]},
            content_type="application/json",
            headers=bearer(secret),
        ),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "session_required"
    assert ApiToken.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["admin"]}, "scopes"),
        ({"name": ""}, "name"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, None),
    ],
)
def test_bad_token_requests_get_clear_errors_and_store_nothing(session, body, field):
    response = create(session, **body)
    assert response.status_code == 400
    assert response.json()["detail"]
    if field:
        assert field in response.json()["errors"]
    assert not ApiToken.objects.exists()


def test_anonymous_requests_get_401_with_a_bearer_challenge():
    response = Client().get(TOKENS_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_suspended_users_tokens_stop_working(user):
    secret = api_token_create(user=user, name="t", scopes=["read"]).secret
    user.is_active = False
    user.save()
    response = Client().get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 401
    assert response.json()["code"] == "account_disabled"


def test_staff_revoke_a_token_in_admin_with_an_audit_entry(admin_client, user):
    created = api_token_create(user=user, name="leaked", scopes=["read"])
    response = admin_client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [created.token.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert ApiToken.objects.get().revoked_at is not None
    entry = AuditLog.objects.get(action="api_token.revoked")
    assert entry.actor is not None and entry.actor.is_staff
    assert entry.data["owner"] == user.address
    assert Client().get("/api/v1/me", headers=bearer(created.secret)).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_the_token_cap_holds_for_two_creations_at_once(user, settings):  # type: ignore[no-untyped-def]
    """A creation locks the person's row before counting their tokens: one that starts while
    another is uncommitted waits for it and counts its token, so both cannot pass the cap."""
    settings.API_TOKEN_MAX_PER_USER = 1
    outcome: list[str] = []

    def create_second() -> None:
        try:
            api_token_create(user=user, name="second", scopes=["read"])
            outcome.append("created")
        except ApiTokenError as exc:
            outcome.append(exc.code)
        finally:
            connections.close_all()

    second = threading.Thread(target=create_second)
    with transaction.atomic():
        api_token_create(user=user, name="first", scopes=["read"])
        second.start()
        second.join(timeout=0.5)
        assert second.is_alive()  # waiting for the row lock this transaction holds
    second.join()
    assert outcome == ["too_many_tokens"]
    assert ApiToken.objects.filter(user=user).count() == 1
