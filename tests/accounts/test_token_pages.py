import pytest
from django.test import Client

from marketplace.accounts.models import ApiToken
from marketplace.accounts.services.api_tokens import api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(client):  # type: ignore[no-untyped-def]
    client.force_login(UserFactory.create())
    return client


def test_token_page_shows_the_secret_once(session):
    posted = session.post(
        "/account/tokens/",
        {"name": "laptop", "scopes": ["read", "download"], "expires_in_days": "30"},
    )
    assert posted.status_code == 302  # a reload cannot create a second token
    response = session.get(posted["Location"])
    secret = response.context["created"].secret
    assert secret.encode() in response.content
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get()
    assert token.scopes == ["download", "read"] and token.expires_at is not None
    again = session.get("/account/tokens/")
    assert secret.encode() not in again.content
    assert b"laptop" in again.content
    assert (
        Client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    )


def test_token_form_errors_are_shown_and_nothing_is_stored(session):
    response = session.post("/account/tokens/", {"name": "", "scopes": []})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name", "scopes"}
    assert not ApiToken.objects.exists()


def test_revoking_from_the_page_stops_the_token(session):
    session.post("/account/tokens/", {"name": "old", "scopes": ["read"]})
    token = ApiToken.objects.get()
    response = session.post(f"/account/tokens/{token.pk}/revoke", follow=True)
    assert b"revoked" in response.content
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_someone_elses_token_cannot_be_revoked_from_the_page(session):
    theirs = api_token_create(user=UserFactory.create(), name="theirs", scopes=["read"]).token
    response = session.post(f"/account/tokens/{theirs.pk}/revoke", follow=True)
    assert b"No such token" in response.content
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
