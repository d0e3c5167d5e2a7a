"""The client's IP address for rate limits and logs, trusting only the proxies we run.

``X-Forwarded-For`` is whatever the client sent, plus one entry appended by each proxy it went
through. With ``TRUSTED_PROXY_COUNT`` = N reverse proxies in front of the app, the N-th entry
from the right is the address the outermost of them saw, and everything left of it is the
client's own claim. With 0 (the default: the app faces clients directly, or its proxy
overwrites ``REMOTE_ADDR``), no header is read at all: ``REMOTE_ADDR`` is the client.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip


def client_ip(request: HttpRequest) -> str:
    """The client's address as our own proxies saw it; ``"unknown"`` when there is none."""
    proxies = int(settings.TRUSTED_PROXY_COUNT)
    if proxies > 0:
        # ipware counts the proxies after the client *within* the header; the proxy nearest
        # us is REMOTE_ADDR, not in the header, hence N - 1. Not strict: extra entries on the
        # left are the client's and do not move the one we take.
        forwarded, _routable = get_client_ip(
            request,
            proxy_count=proxies - 1,
            request_header_order=["HTTP_X_FORWARDED_FOR"],
            strict=False,
        )
        if forwarded:
            return forwarded
    direct, _routable = get_client_ip(request, request_header_order=["REMOTE_ADDR"])
    return direct or "unknown"
