"""Whole pages kept in the cache for visitors who are not signed in.

A visitor with no session and no pending message, asking for a page with no query string, sees
what every such visitor sees, but for the CSRF token in its forms and headers. Such a page is
rendered once with ``CSRF_PLACEHOLDER`` in place of the token (``visitor_render``) and kept under a
key its view builds from what the page shows (``selectors.dataset_page_stamp``,
``selectors.catalogue_stamp``); each answer puts the visitor's own token in (``visitor_page``).
Everybody else (signed in, or with a session, a message, a filter or a page number) gets the page
rendered for them, so an owner's or license holder's controls never reach a visitor and a
visitor's page never reaches them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template import RequestContext, engines

# Letters only: it comes out of autoescaping as it went in.
CSRF_PLACEHOLDER = "csrfTokenOfThisVisitorGoesHere"
VISITOR_PAGE_SECONDS = 60
MESSAGES_COOKIE = "messages"


def is_plain_visitor(request: HttpRequest) -> bool:
    """Not signed in, no session, no message waiting, no query string: a page like anyone's."""
    return (
        request.method == "GET"
        and not request.GET
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and MESSAGES_COOKIE not in request.COOKIES
        and not request.user.is_authenticated
    )


def visitor_render(request: HttpRequest, template: str, context: dict[str, Any]) -> str:
    """``template`` as ``render`` would make it for ``request``, but with ``CSRF_PLACEHOLDER``
    where the CSRF token goes (above what the context processors give)."""
    bound = RequestContext(request, context)
    bound.update({"csrf_token": CSRF_PLACEHOLDER})
    return engines["django"].get_template(template).template.render(bound)  # type: ignore[attr-defined]


def page_key(name: str, stamp: object) -> str:
    digest = hashlib.md5(repr(stamp).encode(), usedforsecurity=False).hexdigest()
    return f"visitor-page:{name}:{digest}"


def visitor_page(request: HttpRequest, *, key: str, render: Callable[[], str]) -> HttpResponse:
    """The page kept under ``key`` (``render()`` makes and keeps it when it is not there), with
    this visitor's CSRF token."""
    html: str | None = cache.get(key)
    if html is None:
        html = render()
        cache.set(key, html, VISITOR_PAGE_SECONDS)
    return HttpResponse(html.replace(CSRF_PLACEHOLDER, get_token(request)))
