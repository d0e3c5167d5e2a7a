import pytest

pytestmark = pytest.mark.django_db


def test_home_is_the_catalogue_with_an_empty_state(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "datasets_app/catalogue.html" in [t.name for t in response.templates]


def test_admin_login_page_answers(client):
    assert client.get("/admin/", follow=True).status_code == 200


def test_healthz_reaches_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_openapi_schema_is_served(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "DataBounty API"
