"""Every refusal page is one of the site's pages: 403 (permission denied), 403 for a failed
CSRF check, 404 and 500 carry the header, stylesheet and footer, say what happened and offer a
way on; and the API docs (Swagger UI, ReDoc) load only our own static files."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path, reverse

from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


def broken_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


# The site's own URLs plus one view that fails, for the 500 page (pytest.mark.urls below).
urlpatterns = [path("broken/", broken_view), path("", include("marketplace.urls"))]


def assert_site_layout(html: str) -> None:
    assert 'href="/static/css/app.css"' in html
    assert 'class="site-header"' in html and 'class="site-footer"' in html
    assert 'id="main"' in html and "Skip to content" in html


def test_a_403_is_a_site_page_that_says_why(client: Client, settings: Any) -> None:
    settings.DEBUG = False
    dataset = DatasetFactory.create()
    client.force_login(UserFactory.create())
    response = client.post(reverse("license-tiers", kwargs={"slug": dataset.slug}), {})
    assert response.status_code == 403
    html = response.content.decode()
    assert_site_layout(html)
    assert "You can\N{RIGHT SINGLE QUOTATION MARK}t open this page" in html
    assert "Only the dataset&#x27;s owner sets its licenses." in html
    assert 'aria-label="Main"' in html  # the full nav: a page of the site, not a bare error


def test_a_failed_csrf_check_is_a_site_page(settings: Any) -> None:
    settings.DEBUG = False
    dataset = DatasetFactory.create()
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory.create())
    response = client.post(reverse("license-tiers", kwargs={"slug": dataset.slug}), {})
    assert response.status_code == 403
    html = response.content.decode()
    assert_site_layout(html)
    assert "That form had expired" in html and "Nothing was changed." in html
    assert "CSRF verification failed" not in html  # not Django's bare page


def test_a_404_is_a_site_page(client: Client, settings: Any) -> None:
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert_site_layout(html)
    assert "We couldn\N{RIGHT SINGLE QUOTATION MARK}t find that page" in html


@pytest.mark.urls("tests.payments.test_error_pages")
def test_a_500_is_a_site_page(settings: Any) -> None:
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    response = client.get("/broken/")
    assert response.status_code == 500
    html = response.content.decode()
    assert_site_layout(html)
    assert "Something went wrong on our side" in html
    assert "a bug" not in html and "Traceback" not in html


# ---------- API docs from our own static files ----------


@pytest.mark.parametrize("name", ["api-docs", "api-redoc"])
def test_the_api_docs_load_only_our_static_files(client: Client, name: str) -> None:
    response = client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert "@latest" not in html and "cdn.jsdelivr" not in html
    assert not re.search(r"https?://", html), re.findall(r"https?://\S+", html)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a static file"
    assert reverse("schema") in html
