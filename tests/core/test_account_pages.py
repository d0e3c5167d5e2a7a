import pytest

from marketplace.core.models import AuditLog
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():  # type: ignore[no-untyped-def]
    return UserFactory.create(display_name="")


def test_account_page_needs_sign_in(client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"] == "/signin/?next=/account/"
    assert client.get(response["Location"]).status_code == 200


def test_account_page_shows_roles_and_saves_the_profile(client, user):
    client.force_login(user)
    page = client.get("/account/")
    assert page.status_code == 200
    assert page.context["roles"] == ["contributor"]
    response = client.post("/account/", {"display_name": "Ada", "email": "ada@example.org"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.email) == ("Ada", "ada@example.org")
    assert AuditLog.objects.filter(action="user.profile_updated", actor=user).count() == 1


def test_staff_see_the_staff_role(client):
    staff = UserFactory.create(is_staff=True)
    client.force_login(staff)
    assert client.get("/account/").context["roles"] == ["contributor", "staff"]


def test_a_bad_email_is_explained_and_nothing_changes(client, user):
    client.force_login(user)
    response = client.post("/account/", {"display_name": "Ada", "email": "not-an-email"})
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    user.refresh_from_db()
    assert user.display_name == "" and user.email == ""


def test_signin_page_sends_signed_in_people_on_and_ignores_foreign_next(client, user):
    client.force_login(user)
    assert client.get("/signin/?next=/account/")["Location"] == "/account/"
    assert client.get("/signin/?next=https://evil.example/")["Location"] == "/"


def test_signout_form_ends_the_session(client, user):
    client.force_login(user)
    assert client.post("/signout/")["Location"] == "/"
    assert client.get("/account/").status_code == 302
    assert client.get("/signout/").status_code == 405
